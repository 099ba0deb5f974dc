"""A unit's commands as systemd runs them, for the tests that run what
`runnerkey systemd` writes.

`unit_settings` reads a unit as systemd loads it (the unit file — for an
instance, its template's — then `UNIT.d/*.conf` in name order, an empty
assignment resetting a list). `exec_command` splits an `ExecStart=` /
`ExecStartPre=` value by systemd's rules (systemd.service(5) "Command
lines", src/core/load-fragment.c config_parse_exec, systemd 252): the
executable's prefixes `-`, `@`, `:`, `+`, `!`, `!!`; each word unquoted
(double or single quotes) and C-unescaped (the executable strictly, the
arguments leaving an unknown escape as written); specifiers expanded per
word after that (`%%`, `%i`, `%I`, `%n`, `%N`, `%p`, `%P`, `%j`, `%J`, `%f`;
any other is refused here); then, at execution and unless `:` is given, `$$`
becomes `$` in the arguments (the executable's path is never expanded) —
a `${VAR}` or `$VAR` would expand an environment variable, which these units
never set, so it is refused here. A lone unquoted `;` is refused too.

`run_confined` runs a command under the unit's confinement, as far as a
test can reproduce it without systemd as the service manager: its own
mount namespace with every file system read-only but `ReadWritePaths=` and
the state directory (ProtectSystem=strict), the capability bounding set
(CapabilityBoundingSet=), no new privileges (NoNewPrivileges=), and strace
recording every system call, checked afterwards against the unit's
SystemCallFilter= (as `systemd-analyze syscall-filter` resolves it), its
RestrictAddressFamilies= and MemoryDenyWriteExecute= (no mapping both
writable and executable).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\",
            '"': '"', "'": "'", "s": " "}


def _words(text: str) -> list[tuple[str, bool]]:
    """Words of `text` as extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE)
    makes them: (word, whether the first word was strict). The first word's
    unknown escapes are errors; later words keep them (EXTRACT_CUNESCAPE_RELAX)."""
    out: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\n":
            i += 1
        if i >= n:
            return out
        first = not out
        if not first and text[i] == ";" and (i + 1 == n or text[i + 1] in " \t"):
            raise ValueError(f"a lone ';' (a second command) in {text!r}")
        word: list[str] = []
        quote = None
        while i < n:
            c = text[i]
            if c == "\\":
                e = text[i + 1:i + 2]
                if e in _ESCAPES:
                    word.append(_ESCAPES[e])
                    i += 2
                elif e == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2:i + 4]):
                    word.append(chr(int(text[i + 2:i + 4], 16)))
                    i += 4
                elif re.fullmatch(r"[0-7]{3}", text[i + 1:i + 4]):
                    word.append(chr(int(text[i + 1:i + 4], 8)))
                    i += 4
                elif first or not e:
                    raise ValueError(f"invalid escape \\{e} in {text!r}")
                else:
                    word.append("\\" + e)
                    i += 2
            elif quote:
                if c == quote:
                    quote = None
                else:
                    word.append(c)
                i += 1
            elif c in "\"'":
                quote = c
                i += 1
            elif c in " \t\n":
                break
            else:
                word.append(c)
                i += 1
        if quote:
            raise ValueError(f"unterminated quote in {text!r}")
        out.append(("".join(word), first))


def unit_unescape(s: str) -> str:
    """unit_name_unescape: `\\xNN` is the byte, `-` is `/`."""
    raw = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: "\0" + m.group(1), s).replace("-", "/")
    return re.sub(r"\0([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), raw)


def specifiers(word: str, unit: str | None) -> str:
    """unit_full_printf for the specifiers of a service unit named `unit`
    (without one, `%%` only)."""
    stem = (unit or "").rsplit(".", 1)[0]
    prefix, at, instance = stem.partition("@")
    values = {
        "%": "%",
        "n": unit,
        "N": stem,
        "p": prefix,
        "P": unit_unescape(prefix),
        "i": instance,
        "I": unit_unescape(instance),
        "j": prefix.rsplit("-", 1)[-1],
        "J": unit_unescape(prefix.rsplit("-", 1)[-1]),
        "f": "/" + unit_unescape(instance if at else prefix),
    } if unit else {"%": "%"}

    def one(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise ValueError(f"specifier %{key} in {word!r} is not one this test knows")
        return values[key]

    out = re.sub(r"%(.)", one, word, flags=re.S)
    if re.search(r"(?<!%)(%%)*%$", word):
        raise ValueError(f"a lone % ends {word!r}")
    return out


def _expand_env(arg: str) -> str:
    out, j = [], 0
    while j < len(arg):
        if arg[j] == "$":
            if arg[j + 1:j + 2] == "$":
                out.append("$")
                j += 2
                continue
            # `${VAR}`, a word `$VAR`, and (refused here as well, to be
            # safe) a `$` inside a word: never data.
            raise ValueError(f"{arg!r} would be expanded by systemd ($ at {j})")
        out.append(arg[j])
        j += 1
    return "".join(out)


@dataclass
class Exec:
    """One command line of a unit: its prefixes, the executable's path and
    the argument vector it is started with (argv[0] first)."""

    prefixes: str
    path: str
    argv: list[str]

    @property
    def privileged(self) -> bool:
        """`+`, `!` or `!!`: run outside (part of) the unit's sandbox."""
        return "+" in self.prefixes or "!" in self.prefixes

    @property
    def failure_ignored(self) -> bool:
        """`-`: a failing command does not fail the unit."""
        return "-" in self.prefixes


def split_words(value: str) -> list[str]:
    """A space-separated list setting (ReadWritePaths=, …): unquoted,
    unescaped, `%%` as `%`."""
    return [specifiers(w, None) for w, _ in _words(value)]


def exec_command(value: str, unit: str | None) -> Exec:
    """An ExecStart=/ExecStartPre= value of the unit named `unit` as systemd
    executes it (without a unit name, `%%` is the only specifier taken)."""
    words = _words(value)
    if not words:
        raise ValueError("an empty command")
    first = words[0][0]
    m = re.match(r"[-@:+!]*", first)
    prefixes = m.group(0) if m else ""
    for c in "-@:+":
        if prefixes.count(c) > 1:
            raise ValueError(f"prefix {c} twice in {value!r}")
    if "+" in prefixes and "!" in prefixes or prefixes.count("!") > 2:
        raise ValueError(f"prefixes {prefixes!r} conflict in {value!r}")
    path = specifiers(first[len(prefixes):], unit)
    if not path.startswith("/"):
        raise ValueError(f"the executable {path!r} is not an absolute path (this test wants one)")
    args = [specifiers(w, unit) for w, _ in words[1:]]
    if ":" not in prefixes:
        args = [_expand_env(a) for a in args]
    if "@" in prefixes:
        if not args:
            raise ValueError(f"@ without argv[0] in {value!r}")
        argv = args
    else:
        argv = [path, *args]
    return Exec(prefixes, path, argv)


@dataclass
class Unit:
    """A service's settings after its drop-ins: each key's values in order
    (an empty assignment resets the list)."""

    name: str
    settings: dict[str, list[str]] = field(default_factory=dict)

    def get(self, key: str) -> list[str]:
        """The values of `key`."""
        return self.settings.get(key, [])

    def commands(self, key: str) -> list[Exec]:
        """The commands of `ExecStart=`, `ExecStartPre=`, … as executed."""
        return [exec_command(v, self.name) for v in self.get(key)]


def unit_settings(root: Path, name: str) -> Unit:
    """The unit `name` under ROOT/etc/systemd/system, as systemd loads it."""
    base = root / "etc" / "systemd" / "system"
    stem, suffix = name.rsplit(".", 1)
    files = []
    main = base / name
    template = base / (stem.split("@", 1)[0] + "@." + suffix) if "@" in stem else None
    if main.is_file():
        files.append(main)
    elif template and template.is_file():
        files.append(template)
    else:
        raise FileNotFoundError(main)
    dirs = [base / f"{name}.d"]
    if template:
        dirs.insert(0, base / f"{template.name}.d")
    dropins: dict[str, Path] = {}
    for d in dirs:
        for f in sorted(d.glob("*.conf")) if d.is_dir() else []:
            dropins[f.name] = f
    files += [dropins[k] for k in sorted(dropins)]
    unit = Unit(name)
    for f in files:
        lines = f.read_text().splitlines()
        section = ""
        for line in lines:
            if not line.strip() or line.lstrip()[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip()
                continue
            if section not in ("[Service]", "[Unit]"):
                continue
            key, _, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if value == "":
                unit.settings[key] = []
            else:
                unit.settings.setdefault(key, []).append(value)
    return unit


def _syscall_group(group: str, seen: set[str] | None = None) -> set[str]:
    """The system calls of a `systemd-analyze syscall-filter` group, nested
    groups resolved."""
    seen = set() if seen is None else seen
    if group in seen:
        return set()
    seen.add(group)
    out = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True, text=True,
                         check=True).stdout
    names: set[str] = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        names |= _syscall_group(word, seen) if word.startswith("@") else {word}
    return names


def _allowed_syscalls(unit: Unit) -> set[str] | None:
    allowed: set[str] | None = None
    for value in unit.get("SystemCallFilter"):
        deny = value.startswith("~")
        names: set[str] = set()
        for w in value.lstrip("~").split():
            names |= _syscall_group(w) if w.startswith("@") else {w}
        if deny:
            allowed = (allowed if allowed is not None else set()) - names
        else:
            allowed = names if allowed is None else allowed | names
    return allowed


def _paths(unit: Unit, key: str) -> list[str]:
    out: list[str] = []
    for v in unit.get(key):
        out += [specifiers(w.lstrip("-+"), unit.name) for w, _ in _words(v)]
    return out


def run_confined(command: Exec, unit: Unit, *, state_dir: Path, env: dict[str, str],
                 log: Path) -> subprocess.CompletedProcess[str]:
    """Runs `command` under `unit`'s confinement (see the module's text);
    `state_dir` stands for its StateDirectory= (this test's
    RUNNERKEY_STATE_DIR). Returns the process; raises AssertionError when it
    made a system call, opened a socket family or a writable and executable
    mapping the unit forbids."""
    assert unit.get("ProtectSystem") == ["strict"], unit.get("ProtectSystem")
    writable = _paths(unit, "ReadWritePaths") + [str(state_dir)]
    caps = [c.lower() for v in unit.get("CapabilityBoundingSet") for c in v.split()]
    assert caps and all(c.startswith("cap_") for c in caps), caps
    # strace writes its log where the command may not.
    log.touch()
    writable.append(str(log))
    binds = "\n".join(f"mount --bind {shlex.quote(w)} {shlex.quote(w)} && "
                      f"mount -o remount,bind,rw {shlex.quote(w)}" for w in writable)
    script = f"""set -e
awk '{{print $5}}' /proc/self/mountinfo | grep -vE '^/(proc|sys|dev)(/|$)' | while read -r mp; do
    mount -o remount,bind,ro "$(printf '%b' "$mp")" 2>/dev/null || true
done
{binds}
exec setpriv --no-new-privs --bounding-set -all,{','.join('+' + c[4:] for c in caps)} -- \\
    strace -f -qq -s 0 -o {shlex.quote(str(log))} -- "$@"
"""
    assert "@" not in command.prefixes, "strace cannot start a program under another argv[0]"
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "confined",
                        command.path, *command.argv[1:]], capture_output=True, text=True, env=env, timeout=120)
    allowed = _allowed_syscalls(unit)
    families = set()
    for v in unit.get("RestrictAddressFamilies"):
        families |= set(v.split())
    families |= {"AF_LOCAL"} if "AF_UNIX" in families else set()
    bad: list[str] = []
    traced = log.read_text()
    assert re.search(r"^\d+\s+execve\(", traced, re.M), f"strace recorded nothing: {p.stderr}"
    for line in traced.splitlines():
        m = re.match(r"\d+\s+([a-z0-9_]+)\((.*)", line)
        if not m:
            continue
        name, rest = m.groups()
        if allowed is not None and name not in allowed:
            bad.append(f"system call {name} (not in SystemCallFilter=): {line}")
        if name == "socket" and families:
            family = rest.split(",", 1)[0]
            if family not in families:
                bad.append(f"socket family {family} (not in RestrictAddressFamilies=): {line}")
        if (unit.get("MemoryDenyWriteExecute") == ["yes"] and name in ("mmap", "mprotect", "pkey_mprotect")
                and "PROT_WRITE" in rest and "PROT_EXEC" in rest):
            bad.append(f"a writable and executable mapping (MemoryDenyWriteExecute=): {line}")
    assert not bad, "\n".join(bad[:20])
    return p
