"""Trust boundaries between root (who runs setup and renew) and the runner's
own user (who owns the credential directory and may write anything in it),
and between config.toml and the systemd units made from it.

The attacker here is the runner's user: it cannot write config.toml, the
pins or the CA, but it owns DIR, so it may replace any name in DIR (the
stable links, `.runnerkey`, `current`, the version directories and their
files) at any instant. Root's renew and setup must then renew only the
pinned identity, never write through its links into a directory of root's,
never copy root's files into DIR, and never chown anything outside DIR.

Also: values from config.toml cannot inject directives into systemd units
(and the units written parse, by systemd's quoting rules, as the intended
argv), and `issue --force` killed at every rename leaves a matching pair.

Needs root (it makes a system user `rkrunner` when missing and acts as it
with setpriv), strace and systemd-analyze.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

import runnerkey
from cluster import make_ca
from systemd_exec import exec_command, split_words
from conftest import binary, ok, run

RUNNER_USER = "rkrunner"
SERVER = "https://127.0.0.1:6443"
SECRET = b"ROOT-ONLY-SECRET-7f3a9c"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: acts as a second user with setpriv")


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def runner_user() -> tuple[int, int]:
    """(uid, gid) of the non-root runner user, made when missing (left in
    place afterwards: a --system user without a home is harmless)."""
    try:
        pw = pwd.getpwnam(RUNNER_USER)
    except KeyError:
        p = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUNNER_USER],
                           capture_output=True, text=True, timeout=30)
        # A concurrent run may have made it meanwhile (exit 9: exists).
        assert p.returncode in (0, 9), p.stderr
        pw = pwd.getpwnam(RUNNER_USER)
    assert pw.pw_uid != 0
    return pw.pw_uid, pw.pw_gid


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory the runner's user can traverse (tmp_path lies under
    /tmp/pytest-of-root, mode 0700, which it cannot), owned by root, so
    that the runner's user cannot replace DIR itself, only what is in it."""
    d = Path(tempfile.mkdtemp(prefix="rk-trust-"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def as_user(ids: tuple[int, int], *cmd: object, input: bytes | None = None, timeout: float = 30,
            check: bool = True) -> subprocess.CompletedProcess:
    """Runs `cmd` as the runner's user, no supplementary groups."""
    uid, gid = ids
    p = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *map(str, cmd)],
                       capture_output=True, input=input, timeout=timeout)
    if check:
        assert p.returncode == 0, f"{cmd} as uid {uid}: {p.returncode}\n{p.stdout!r}\n{p.stderr!r}"
    return p


def user_python(ids: tuple[int, int]) -> str:
    """A Python interpreter the runner's user may execute (the venv's lives
    under /root, which it cannot read)."""
    for candidate in ("/usr/bin/python3", sys.executable):
        if as_user(ids, candidate, "-c", "pass", check=False).returncode == 0:
            return candidate
    pytest.fail(f"no Python interpreter that user {RUNNER_USER} can run (tried /usr/bin/python3, {sys.executable})")


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything under `root` (itself included), never following a link:
    type, mode, owner, link count, and content hash or link target."""
    out: dict[str, tuple] = {}

    def one(p: Path) -> None:
        st = os.lstat(p)
        rel = str(p.relative_to(root))
        if stat.S_ISLNK(st.st_mode):
            what: object = os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            what = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            what = None
        out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                    st.st_nlink if not stat.S_ISDIR(st.st_mode) else None, what)
        if stat.S_ISDIR(st.st_mode):
            for child in sorted(os.listdir(p)):
                one(p / child)

    one(root)
    return out


def files_holding(root: Path, needle: bytes, skip_inodes: set[int] = frozenset()) -> list[str]:
    """Regular files under `root` (no link followed) whose content holds `needle`."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in filenames:
            p = Path(dirpath) / name
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and st.st_ino not in skip_inodes and needle in p.read_bytes():
                found.append(str(p))
    return found


def root_only_dir(path: Path, names: list[str]) -> Path:
    """A directory only root may enter, holding SECRET under `names`, and a
    bait store (`current` → a version holding the same names), so that a
    renewal that went through a link into it would find what it looks for."""
    path.mkdir(mode=0o700)
    path.chmod(0o700)
    for n in names:
        (path / n).write_bytes(SECRET + b" " + n.encode())
    version = path / "v-1-pid1-0000bait"
    version.mkdir(mode=0o700)
    for n in names:
        (version / n).write_bytes(SECRET + b" version " + n.encode())
    (version / "extra.txt").write_bytes(SECRET + b" extra")
    (path / "current").symlink_to(version.name)
    (path / "lock").write_bytes(b"")
    return path


def public_der(pem: bytes, is_key: bool) -> bytes:
    k = serialization.load_pem_private_key(pem, None).public_key() if is_key else \
        x509.load_pem_x509_certificate(pem).public_key()
    return k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def subject_of(pem: bytes) -> tuple[str, list[str]]:
    cert = x509.load_pem_x509_certificate(pem)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    return cn, sorted(a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))


def signed_by(cert_pem: bytes, ca_pem: bytes) -> bool:
    cert = x509.load_pem_x509_certificate(cert_pem)
    ca = x509.load_pem_x509_certificate(ca_pem)
    try:
        cert.verify_directly_issued_by(ca)
    except Exception:  # noqa: BLE001 - any failure (bad signature, wrong issuer) means "not signed by"
        return False
    return True


class Runner:
    """A certificate runner set up by root into DIR owned by the runner's user."""

    def __init__(self, base: Path, ids: tuple[int, int], name: str = "ci", user: str = "runner-ci",
                 groups: tuple[str, ...] = ("ci-runners",)):
        self.base, self.ids, self.name, self.user, self.groups = base, ids, name, user, list(groups)
        self.pki = base / "pki"
        if not (self.pki / "ca.key").exists():
            ok("ca", "init", "--out-dir", self.pki, "--algorithm", "ecdsa-p256", "-q")
        self.config = base / f"{name}.toml"
        self.config.write_text(f'[[runners]]\n  name = "{name}"\n  executor = "kubernetes"\n')
        self.dir = base / f"ssl-{name}"
        self.dir.mkdir(mode=0o755)
        os.chown(self.dir, *ids)
        ok("setup", "--ca-dir", self.pki, "--server", SERVER, "--config", self.config, "--runner", name,
           "--out-dir", self.dir, "--user", user, *[x for g in groups for x in ("--group", g)], "-q")
        kube = tomllib.loads(self.config.read_text())["runners"][0]["kubernetes"]
        self.cert_file, self.key_file = Path(kube["cert_file"]), Path(kube["key_file"])
        assert self.cert_file.parent == self.dir, kube

    @property
    def store(self) -> Path:
        return self.dir / ".runnerkey"

    def renew(self, *extra: object, env: dict | None = None):
        return run("renew", "--config", self.config, "--runner", self.name, "--ca-dir", self.pki, "--no-online",
                   *extra, env=env)

    def setup_force(self):
        return run("setup", "--ca-dir", self.pki, "--server", SERVER, "--config", self.config, "--runner",
                   self.name, "--out-dir", self.dir, "--user", self.user,
                   *[x for g in self.groups for x in ("--group", g)], "--force", "-q")

    def version(self) -> Path:
        return self.store / os.readlink(self.store / "current")


def no_crash(r, what: str) -> None:
    """Refusals are exit 1 or 2; a panic (101) or a signal is a bug."""
    assert r.code in (0, 1, 2), f"{what}: exit {r.code}\n{r.out}\n{r.err}"
    assert "panicked" not in r.err, r.err


# ------------------------------------------- 1. another identity is planted


@pytest.mark.parametrize("how", ["version-files", "plain-files"])
def test_renew_refuses_a_planted_identity_and_changes_nothing(shared: Path, runner_user, how: str) -> None:
    """The runner's user puts deploy-bot's certificate (properly signed by
    the same CA) and key where the runner's are: root's renew, forced or
    not, exits 1 naming both identities, and DIR stays byte-identical."""
    r = Runner(shared, runner_user)
    # Another identity, issued by root from the same CA, as a compromised
    # runner might hold it.
    ok("issue", "--ca-dir", r.pki, "--user", "deploy-bot", "--group", "prod-deployers", "--out-dir",
       shared / "bot", "-q")
    bot_crt = (shared / "bot" / "deploy-bot.crt").read_bytes()
    bot_key = (shared / "bot" / "deploy-bot.key").read_bytes()
    assert signed_by(bot_crt, (r.pki / "ca.crt").read_bytes())
    if how == "version-files":
        # Overwrite the current version's files in place (the runner's user owns them).
        v = r.version()
        as_user(runner_user, "sh", "-c", 'cat > "$1"', "sh", v / r.cert_file.name, input=bot_crt)
        as_user(runner_user, "sh", "-c", 'cat > "$1"', "sh", v / r.key_file.name, input=bot_key)
    else:
        # Replace the stable links by plain files of the runner's user.
        for path, data in ((r.cert_file, bot_crt), (r.key_file, bot_key)):
            as_user(runner_user, "sh", "-c", 'rm -f "$1" && cat > "$1"', "sh", path, input=data)
        assert not r.cert_file.is_symlink() and r.cert_file.stat().st_uid == runner_user[0]
    assert subject_of(r.cert_file.read_bytes()) == ("deploy-bot", ["prod-deployers"])
    before = snapshot(r.dir)
    for extra in (["--force"], [], ["--force", "--json"]):
        res = r.renew(*extra)
        assert res.code == 1, \
            f"renew {extra} exited {res.code}: a planted identity must be refused\n{res.out}\n{res.err}"
        said = res.out + res.err
        assert "deploy-bot" in said and "runner-ci" in said, said
        assert snapshot(r.dir) == before, f"renew {extra} changed DIR"
    # The planted pair is still what the paths show: nothing was renewed as deploy-bot.
    assert r.cert_file.read_bytes() == bot_crt
    # The comparison sees a change of a single byte by the runner's user (the test can fail).
    as_user(runner_user, "sh", "-c", 'printf x >> "$1"', "sh", r.version() / "ca.crt")
    assert snapshot(r.dir) != before


def test_without_a_pin_a_runner_owned_directory_needs_expect_user(shared: Path, runner_user) -> None:
    """With no pin (state directory empty, as after an older setup), root
    refuses to renew into a directory another user owns until
    --expect-user pins it; --expect-user does not accept a planted identity."""
    r = Runner(shared, runner_user)
    empty_state = shared / "state-without-pins"
    empty_state.mkdir(mode=0o700)
    env = {**os.environ, "RUNNERKEY_STATE_DIR": str(empty_state)}
    before = snapshot(r.dir)
    res = r.renew("--force", env=env)
    assert res.code == 1, (res.code, res.out, res.err)
    assert "--expect-user" in res.err, res.err
    assert snapshot(r.dir) == before
    # The wrong expectation is refused too.
    res = r.renew("--force", "--expect-user", "deploy-bot", env=env)
    assert res.code == 1, (res.code, res.out, res.err)
    assert snapshot(r.dir) == before
    # A planted identity while --expect-user names the real one: refused.
    ok("issue", "--ca-dir", r.pki, "--user", "deploy-bot", "--group", "prod-deployers", "--out-dir",
       shared / "bot", "-q")
    v = r.version()
    good_crt, good_key = (v / r.cert_file.name).read_bytes(), (v / r.key_file.name).read_bytes()
    as_user(runner_user, "sh", "-c", 'cat > "$1"', "sh", v / r.cert_file.name,
            input=(shared / "bot" / "deploy-bot.crt").read_bytes())
    as_user(runner_user, "sh", "-c", 'cat > "$1"', "sh", v / r.key_file.name,
            input=(shared / "bot" / "deploy-bot.key").read_bytes())
    planted = snapshot(r.dir)
    res = r.renew("--force", "--expect-user", "runner-ci", "--expect-group", "ci-runners", env=env)
    assert res.code == 1 and "deploy-bot" in res.err, (res.code, res.out, res.err)
    assert snapshot(r.dir) == planted
    # Put the real pair back: --expect-user with the right identity renews (and pins).
    as_user(runner_user, "sh", "-c", 'cat > "$1"', "sh", v / r.cert_file.name, input=good_crt)
    as_user(runner_user, "sh", "-c", 'cat > "$1"', "sh", v / r.key_file.name, input=good_key)
    res = r.renew("--force", "--expect-user", "runner-ci", "--expect-group", "ci-runners", env=env)
    assert res.code == 0, (res.code, res.out, res.err)
    assert subject_of(r.cert_file.read_bytes()) == ("runner-ci", ["ci-runners"])
    assert r.cert_file.read_bytes() != good_crt
    # The new files belong to the directory's owner.
    assert os.stat(r.cert_file).st_uid == runner_user[0] and os.stat(r.key_file).st_uid == runner_user[0]


# ------------------------------ 2. links into a directory only root may read


def plant(how: str, r: Runner, secret_dir: Path, ids: tuple[int, int]) -> set[int]:
    """The runner's user points part of DIR at `secret_dir`; returns the
    inodes of root's files it linked in (their content is SECRET already)."""
    store = r.store
    sh = lambda script: as_user(ids, "sh", "-c", script, "sh", r.dir, secret_dir)  # noqa: E731
    if how == "current-absolute":
        sh('ln -sfn "$2" "$1/.runnerkey/c.tmp" && mv -T "$1/.runnerkey/c.tmp" "$1/.runnerkey/current"')
    elif how == "current-relative":
        sh('ln -sfn "../../$(basename "$2")/v-1-pid1-0000bait" "$1/.runnerkey/c.tmp"'
           ' && mv -T "$1/.runnerkey/c.tmp" "$1/.runnerkey/current"')
    elif how == "version-is-a-link":
        # A version-like name that is a link: `current` looks like runnerkey's own.
        sh('ln -s "$2/v-1-pid1-0000bait" "$1/.runnerkey/v-2-pid2-0000evil"'
           ' && ln -sfn v-2-pid2-0000evil "$1/.runnerkey/c.tmp" && mv -T "$1/.runnerkey/c.tmp" "$1/.runnerkey/current"')
    elif how == "version-swapped":
        # The current version directory itself replaced by a link, same name.
        sh('v=$(readlink "$1/.runnerkey/current") && mv "$1/.runnerkey/$v" "$1/old-version"'
           ' && ln -s "$2/v-1-pid1-0000bait" "$1/.runnerkey/$v"')
    elif how == "store-is-a-link":
        sh('mv "$1/.runnerkey" "$1/old-store" && ln -s "$2" "$1/.runnerkey"')
    elif how == "extra-file-symlink":
        # A file the new version would carry over, as a link to root's.
        sh('v=$(readlink "$1/.runnerkey/current") && ln -s "$2/extra.txt" "$1/.runnerkey/$v/extra.txt"')
    elif how == "extra-file-hardlink":
        # As if fs.protected_hardlinks were 0: root's file hard-linked into
        # the version (made by root here: the kernel forbids the runner's user).
        v = r.version()
        os.link(secret_dir / "extra.txt", v / "extra.txt")
        return {os.stat(secret_dir / "extra.txt").st_ino}
    elif how == "stable-links":
        # The stable paths and setup's other outputs as links into root's directory.
        for name in (r.cert_file.name, r.key_file.name, "ca.crt", "kubeconfig", "rbac.yaml"):
            sh(f'ln -sfn "$2/{name}" "$1/{name}.tmp" && mv -T "$1/{name}.tmp" "$1/{name}"')
    else:
        raise AssertionError(how)
    return set()


PLANTS = ["current-absolute", "current-relative", "version-is-a-link", "version-swapped", "store-is-a-link",
          "extra-file-symlink", "extra-file-hardlink", "stable-links"]


@pytest.mark.parametrize("how", PLANTS)
def test_root_follows_no_link_into_a_root_only_directory(shared: Path, runner_user, how: str) -> None:
    """Whatever the runner's user points into root's directory, root's
    `renew --force` and `setup --force` create nothing there, change and
    chown nothing there, and copy none of its content into DIR."""
    r = Runner(shared, runner_user)
    secret_dir = root_only_dir(shared / "root-only", [r.cert_file.name, r.key_file.name, "ca.crt", "kubeconfig",
                                                      "rbac.yaml", "extra.txt"])
    linked = plant(how, r, secret_dir, runner_user)
    secret_before = snapshot(secret_dir)
    for what, go in (("renew --force", lambda: r.renew("--force")), ("setup --force", r.setup_force)):
        res = go()
        no_crash(res, what)
        assert snapshot(secret_dir) == secret_before, f"{what} changed the root-only directory ({how})\n{res.err}"
        leaked = files_holding(r.dir, SECRET, skip_inodes=linked)
        assert not leaked, f"{what} copied root's secret into DIR ({how}): {leaked}\n{res.out}\n{res.err}"
    # The secret reached no other file of the test either (e.g. a new pin).
    assert not files_holding(Path(os.environ["RUNNERKEY_STATE_DIR"]), SECRET)
    # A chown alone is seen (the test can fail).
    os.chown(secret_dir / "extra.txt", *runner_user)
    assert snapshot(secret_dir) != secret_before


# -------------------------------------------- 3. racing swaps of the store

SWAPPER = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
SYS_renameat2, AT_FDCWD, RENAME_EXCHANGE = 316, -100, 2
def exchange(a, b):
    return libc.syscall(SYS_renameat2, AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE) == 0
d, secret, seconds, limit = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
store, evil = d + "/.runnerkey", d + "/evil-store"
evil_version = d + "/evil-version"
os.symlink(secret, evil)
os.symlink(secret + "/v-1-pid1-0000bait", evil_version)
print("ready", flush=True)
end = time.monotonic() + seconds
swaps = 0
for i in range(limit):
    if time.monotonic() > end:
        break
    if i % 2 == 0:
        # .runnerkey <-> a link to root's directory, and back.
        if exchange(store, evil):
            swaps += 1
            os.sched_yield()
            assert exchange(store, evil), "could not swap back"
    else:
        # the current version directory <-> a link into root's directory, and back.
        try:
            v = store + "/" + os.readlink(store + "/current")
        except OSError:
            continue
        if exchange(v, evil_version):
            swaps += 1
            os.sched_yield()
            exchange(v, evil_version)
print("swaps", swaps, flush=True)
"""


def test_racing_store_swaps_never_reach_root_only_files(shared: Path, runner_user) -> None:
    """The runner's user keeps exchanging DIR/.runnerkey (and the current
    version directory) with links to root's directory (renameat2
    RENAME_EXCHANGE) while root runs `renew --force` again and again:
    root's directory gets nothing new and nothing chowned, and none of its
    content lands in DIR."""
    if os.uname().machine != "x86_64":
        pytest.skip("renameat2 syscall number 316 is x86_64's")
    r = Runner(shared, runner_user)
    secret_dir = root_only_dir(shared / "root-only", [r.cert_file.name, r.key_file.name, "ca.crt", "extra.txt"])
    secret_before = snapshot(secret_dir)
    seconds = 8.0
    script = shared / "swapper.py"
    script.write_text(SWAPPER)
    script.chmod(0o644)
    uid, gid = runner_user
    swapper = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                                user_python(runner_user), str(script), str(r.dir), str(secret_dir), str(seconds),
                                "2000000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    codes: dict[int, int] = {}
    try:
        assert swapper.stdout.readline().strip() == "ready", swapper.stderr.read()
        end = time.monotonic() + seconds
        for _ in range(2000):
            if time.monotonic() > end or swapper.poll() is not None:
                break
            res = r.renew("--force")
            no_crash(res, "renew --force during swaps")
            codes[res.code] = codes.get(res.code, 0) + 1
        out, err = swapper.communicate(timeout=seconds + 10)
    finally:
        if swapper.poll() is None:
            swapper.kill()
            swapper.communicate(timeout=10)
    assert swapper.returncode == 0, err
    swaps = int(out.split()[-1])
    assert swaps > 100, f"the swapper barely ran ({swaps} swaps): the race was not exercised"
    assert sum(codes.values()) > 20, codes
    assert snapshot(secret_dir) == secret_before, "root's directory was changed during the race"
    leaked = files_holding(r.dir, SECRET)
    assert not leaked, leaked
    # Afterwards (the swapper put everything back), the runner renews again.
    assert r.store.is_dir() and not r.store.is_symlink()
    res = r.renew("--force")
    assert res.code == 0, (codes, res.out, res.err)
    assert public_der(r.key_file.read_bytes(), True) == public_der(r.cert_file.read_bytes(), False)
    print(f"renew exit codes during {swaps} swaps: {codes}")


# ------------------------------------------------------- 4. systemd units


def systemd_words(line: str, *, env: bool) -> list[str]:
    """Splits a unit setting's value as systemd does (systemd_exec.py):
    with `env`, a command line (ExecStart=: `$$` → `$` in the arguments,
    any other `$` an error here; the executable's path is not expanded),
    else a list of words; `%%` → `%`, any other specifier an error here."""
    try:
        return exec_command(line, None).argv if env else split_words(line)
    except ValueError as e:
        raise AssertionError(str(e)) from e


def unit_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_no_injection(texts: list[str]) -> None:
    allowed = {"[Unit]", "[Service]", "[Timer]", "[Install]", ""}
    keys = {"Description", "After", "Wants", "Type", "ExecStart", "UMask", "NoNewPrivileges", "ProtectSystem",
            "ProtectHome", "PrivateTmp", "ReadWritePaths", "OnBootSec", "OnUnitActiveSec", "RandomizedDelaySec",
            "WantedBy", "ExecStartPre",
            # The renewal's confinement (crates/runnerkey/src/systemd/mod.rs).
            "CapabilityBoundingSet", "StateDirectory", "StateDirectoryMode", "PrivateDevices", "PrivateIPC",
            "PrivateMounts", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
            "ProtectControlGroups", "ProtectHostname", "ProtectClock", "ProtectProc", "KeyringMode",
            "RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID",
            "LockPersonality", "MemoryDenyWriteExecute", "RemoveIPC", "SystemCallArchitectures",
            "SystemCallFilter"}
    for text in texts:
        for line in text.splitlines():
            if line in allowed or line.startswith("#"):
                continue
            key = line.split("=", 1)[0]
            assert key in keys and "=" in line, f"unexpected line {line!r} in\n{text}"
            assert "injected" not in line and "User=nobody" not in line, f"injected: {line!r}"


def write_cfg(path: Path, runners: list[dict[str, str]]) -> Path:
    """config.toml by hand; values are TOML basic strings (escapes kept as written)."""
    text = ""
    for rn in runners:
        text += f'[[runners]]\n  name = "{rn["name"]}"\n  executor = "kubernetes"\n  [runners.kubernetes]\n' \
                f'    host = "{SERVER}"\n'
        for field in ("cert_file", "key_file", "ca_file"):
            text += f'    {field} = "{rn[field]}"\n'
    path.write_text(text)
    tomllib.loads(text)  # the hand-written TOML is valid
    return path


INJECTIONS = {
    "cert_file": "/etc/ssl/x.crt\\nExecStartPre=/injected",
    "key_file": "/etc/ssl/x.key\\nExecStartPre=/injected",
    "ca_file": "/etc/ssl/ca.crt\\nExecStartPre=/injected",
    "key_file-dir": "/etc/ssl\\nExecStartPre=/injected/x.key",
}


def injected_runner(field: str) -> dict[str, str]:
    rn = {"name": "inj", "cert_file": "/etc/ssl/x.crt", "key_file": "/etc/ssl/x.key", "ca_file": "/etc/ssl/ca.crt"}
    rn[field.split("-")[0]] = INJECTIONS[field]
    return rn


@pytest.mark.parametrize("field", list(INJECTIONS))
def test_a_newline_in_a_path_never_reaches_a_unit(tmp_path: Path, field: str) -> None:
    """Whatever systemd does with such a config (refuse, or leave the value
    out), no written or printed unit holds a directive of the config's."""
    with pytest.raises(AssertionError):  # the check can fail
        assert_no_injection(["[Service]\nExecStart=/x\nExecStartPre=/injected\n"])
    cfg = write_cfg(tmp_path / "config.toml", [injected_runner(field)])
    ca_crt, ca_key = make_ca(tmp_path)
    root = tmp_path / "root"
    r = run("systemd", "--config", cfg, "--runner", "inj", "--ca-cert", ca_crt, "--ca-key", ca_key,
            "--install", "--root", root)
    no_crash(r, "systemd --install")
    assert_no_injection([p.read_text() for p in unit_files(root)])
    printed = run("systemd", "--config", cfg, "--runner", "inj", "--ca-cert", ca_crt, "--ca-key", ca_key)
    no_crash(printed, "systemd")
    assert_no_injection([printed.out])


@pytest.mark.parametrize("field", list(INJECTIONS))
def test_a_newline_in_a_path_is_refused_with_the_field_named(tmp_path: Path, field: str) -> None:
    """The specified behaviour: exit 2, the message naming the field and
    the runner, no unit file written."""
    cfg = write_cfg(tmp_path / "config.toml", [injected_runner(field)])
    ca_crt, ca_key = make_ca(tmp_path)
    root = tmp_path / "root"
    r = run("systemd", "--config", cfg, "--runner", "inj", "--ca-cert", ca_crt, "--ca-key", ca_key,
            "--install", "--root", root)
    written = [str(p.relative_to(root)) for p in unit_files(root)]
    assert r.code == 2, f"exit {r.code} for {field} holding a newline; wrote {written}\n{r.out}\n{r.err}"
    assert not written, written
    assert '"inj"' in r.err, r.err
    name = field.split("-")[0]
    # The CLI names the unit setting the path would have gone into
    # (key_file → ReadWritePaths=); either spelling names the field.
    assert name in r.err or "ReadWritePaths" in r.err, r.err
    printed = run("systemd", "--config", cfg, "--runner", "inj", "--ca-cert", ca_crt, "--ca-key", ca_key)
    assert printed.code == 2 and "ExecStart" not in printed.out, (printed.code, printed.out)


@pytest.mark.parametrize("kw", [
    {"writable": ["/tmp\nUser=nobody"]},
    {"exec": ["/usr/bin/runnerkey", "renew", "--runner=x\nUser=nobody"]},
    {"check": ["/usr/bin/runnerkey", "status\nExecStartPre=/injected"]},
    {"runner": "r\nUser=nobody"},
    {"runner": ""},
    {"exec": ["relative/runnerkey", "renew"]},
    {"writable": ["relative/dir"]},
])
def test_python_renew_units_refuses_values_that_are_not_data(tmp_path: Path, kw: dict) -> None:
    args = {"runner": "r", "exec": ["/usr/bin/runnerkey", "renew", "--runner=r"], "writable": ["/tmp"],
            "check": ["/usr/bin/runnerkey", "status"], **kw}
    root = tmp_path / "root"
    with pytest.raises(runnerkey.InvalidArgumentError):
        runnerkey.renew_units(**args, install_root=root)
    assert issubclass(runnerkey.InvalidArgumentError, ValueError)
    assert not unit_files(root), unit_files(root)
    # Without install_root the same refusal (nothing returned to write by hand).
    with pytest.raises(ValueError):
        runnerkey.renew_units(**args)


def test_duplicate_runner_names_need_distinct_instances(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path)
    base = {"name": "same", "cert_file": "/etc/ssl/a/x.crt", "key_file": "/etc/ssl/a/x.key",
            "ca_file": "/etc/ssl/a/ca.crt"}
    cfg = write_cfg(tmp_path / "config.toml", [base, {**base, "cert_file": "/etc/ssl/b/x.crt",
                                                      "key_file": "/etc/ssl/b/x.key", "ca_file": "/etc/ssl/b/ca.crt"}])
    root = tmp_path / "root"
    common = ["systemd", "--config", cfg, "--ca-cert", ca_crt, "--ca-key", ca_key, "--install", "--root", root]
    for sel in (["--runner", "same"], ["--runner-index", "0"], ["--runner-index", "1"]):
        r = run(*common, *sel)
        assert r.code == 2, (sel, r.code, r.out, r.err)
        assert not unit_files(root), (sel, unit_files(root))
    r = run(*common, "--runner-index", "1", "--instance", "")
    assert r.code == 2 and "empty" in r.err, (r.code, r.err)
    assert not unit_files(root)
    ok(*common, "--runner-index", "0", "--instance", "same-a")
    ok(*common, "--runner-index", "1", "--instance", "same-b")
    units = root / "etc/systemd/system"
    a = (units / "runnerkey-renew@same\\x2da.service.d/runnerkey.conf").read_text()
    b = (units / "runnerkey-renew@same\\x2db.service.d/runnerkey.conf").read_text()
    assert "--runner-index=0" in a and "/etc/ssl/a" in a and "/etc/ssl/b" not in a, a
    assert "--runner-index=1" in b and "/etc/ssl/b" in b and "/etc/ssl/a" not in b, b
    checks = sorted(p.name for p in (units / "gitlab-runner.service.d").iterdir())
    # One check for every runner of config.toml, whichever was installed last.
    assert checks == ["runnerkey.conf"], checks
    assert_no_injection([p.read_text() for p in unit_files(root)])


def systemd_analyze_verify(units: Path, names: list[str]) -> subprocess.CompletedProcess:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is not installed: the units cannot be checked by systemd's own parser "
                    "(apt-get install systemd)")
    (units / "gitlab-runner.service").write_text("[Unit]\nDescription=GitLab Runner\n[Service]\nExecStart=/bin/true\n")
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{units}:"}
    return subprocess.run(["systemd-analyze", "verify", "--man=no", *names], capture_output=True, text=True,
                          env=env, timeout=60)


def verify_problems(v: subprocess.CompletedProcess) -> list[str]:
    # This container has no sysinit.target; anything else is a finding.
    return [x for x in v.stderr.splitlines() if "sysinit.target" not in x]


ODD = 'o\'dd "run ner" 100%n $HOME \\x'


def odd_runner(tmp_path: Path) -> tuple[Path, Path, Path, str]:
    """A runner whose name and every path hold spaces, `%`, `$`, quotes and backslashes."""
    base = tmp_path / ODD
    base.mkdir()
    pki = base / "pki dir"
    ok("ca", "init", "--out-dir", pki, "--algorithm", "ecdsa-p256", "-q")
    cfg = base / "conf %i $USER" / "config.toml"
    cfg.parent.mkdir()
    name = 'my "odd" runner 50% $x \\y \'z\''
    cfg.write_text('[[runners]]\n  name = ' + json.dumps(name) + '\n  executor = "kubernetes"\n')
    ok("setup", "--ca-dir", pki, "--server", SERVER, "--config", cfg, "--runner", name, "--out-dir",
       base / "ssl \"x\" $y %z \\w", "-q")
    return cfg, pki, base / "ssl \"x\" $y %z \\w", name


def test_odd_names_and_paths_round_trip_through_systemd_quoting(tmp_path: Path) -> None:
    cfg, pki, key_dir, name = odd_runner(tmp_path)
    root = tmp_path / "root"
    ok("systemd", "--config", cfg, "--runner", name, "--ca-dir", pki, "--install", "--root", root)
    units = root / "etc/systemd/system"
    dropins = [p for p in units.iterdir() if p.name.startswith("runnerkey-renew@") and p.name.endswith(".service.d")]
    assert len(dropins) == 1, dropins
    instance = dropins[0].name.removesuffix(".service.d")
    # The unit name is systemd-escape's, as systemd-escape itself makes it.
    esc = subprocess.run(["systemd-escape", "--template=runnerkey-renew@.service", name], capture_output=True,
                         text=True, timeout=30)
    assert esc.returncode == 0 and esc.stdout.strip() == f"{instance}.service", (esc.stdout, instance)
    v = systemd_analyze_verify(units, [f"{instance}.service", f"{instance}.timer", "gitlab-runner.service"])
    assert not verify_problems(v), v.stderr
    texts = [p.read_text() for p in unit_files(root) if p.name != "gitlab-runner.service"]
    assert_no_injection(texts)
    dropin = (dropins[0] / "runnerkey.conf").read_text()
    exec_line = [x for x in dropin.splitlines() if x.startswith("ExecStart=")][-1].removeprefix("ExecStart=")
    program = os.path.realpath(binary())
    want = [program, "renew", f"--config={cfg}", f"--runner={name}", f"--ca-dir={pki}"]
    assert systemd_words(exec_line, env=True) == want, exec_line
    rw = [x for x in dropin.splitlines() if x.startswith("ReadWritePaths=")][-1].removeprefix("ReadWritePaths=")
    assert systemd_words(rw, env=False) == [str(cfg.parent), str(key_dir)], rw
    check = units / "gitlab-runner.service.d" / "runnerkey.conf"
    pre = [x for x in check.read_text().splitlines() if x.startswith("ExecStartPre=")][0].removeprefix("ExecStartPre=")
    assert systemd_words(pre, env=True) == [program, "status", f"--config={cfg}", "--pre-start"], pre
    # The argv as parsed runs and renews this runner.
    done = subprocess.run([*systemd_words(exec_line, env=True), "--force", "--no-online", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and json.loads(done.stdout)["renewed"], done.stderr
    # The splitter and verify can fail: a broken quote is caught.
    with pytest.raises(AssertionError):
        systemd_words(exec_line.replace('"', "", 1), env=True)
    with pytest.raises(AssertionError):
        systemd_words("/bin/x $HOME", env=True)
    assert systemd_words('"/a $$b" "c $$d"', env=True) == ["/a $$b", "c $d"]


# Characters systemd refuses in an executable's name ("Executable name
# contains special characters"): no quoting can express them.
UNSAFE_IN_EXECUTABLE = ('"', "'", "\\")


@pytest.mark.parametrize("dirname", ["bin dir %h", "bin $x", 'bin "q" \\b'],
                         ids=["space-percent", "dollar", "quote-backslash"])
def test_a_program_path_with_odd_characters_is_what_systemd_executes(tmp_path: Path, dirname: str) -> None:
    """The renewal program itself in a directory with an odd name: the
    units written must make systemd run exactly that program
    (systemd-analyze verify checks that the executable it parses from
    ExecStart= exists); a path systemd cannot express is refused (exit 2)
    with nothing written."""
    cfg, pki, _, name = odd_runner(tmp_path)
    bindir = tmp_path / dirname
    bindir.mkdir()
    prog = bindir / "runnerkey"
    try:
        os.link(os.path.realpath(binary()), prog)
    except OSError:
        shutil.copy2(os.path.realpath(binary()), prog)
    root = tmp_path / "root"
    p = subprocess.run([str(prog), "systemd", "--config", str(cfg), "--runner", name, "--ca-dir", str(pki),
                        "--install", "--root", str(root)], capture_output=True, text=True, timeout=60)
    units = root / "etc/systemd/system"
    if p.returncode == 2 and any(c in dirname for c in UNSAFE_IN_EXECUTABLE):
        assert not unit_files(root), unit_files(root)
        return
    assert p.returncode == 0, p.stderr
    instance = next(p.name for p in units.iterdir() if p.name.endswith(".service.d")
                    and p.name.startswith("runnerkey-renew@")).removesuffix(".service.d")
    v = systemd_analyze_verify(units, [f"{instance}.service", "gitlab-runner.service"])
    assert not verify_problems(v), f"units that systemd will not run (program {str(prog)!r}):\n{v.stderr}"
    dropin = (units / f"{instance}.service.d" / "runnerkey.conf").read_text()
    exec_line = [x for x in dropin.splitlines() if x.startswith("ExecStart=")][-1].removeprefix("ExecStart=")
    assert systemd_words(exec_line, env=True)[0] == str(prog), exec_line


# ----------------------------------------- 5. SIGKILL at every rename of issue


def pair(out: Path, user: str) -> tuple[bytes, bytes, bytes]:
    return ((out / f"{user}.key").read_bytes(), (out / f"{user}.crt").read_bytes(), (out / "ca.crt").read_bytes())


@pytest.mark.parametrize("start", ["plain-files", "versioned"])
def test_issue_force_killed_at_every_rename_leaves_a_matching_pair(tmp_path: Path, start: str) -> None:
    """strace kills `issue --force` at its Nth rename for N = 1, 2, …
    until a run completes: the stable paths always show the old pair or a
    new matching one (with the CA), never a mix."""
    if shutil.which("strace") is None:
        pytest.fail("strace is not installed (apt-get install strace)")
    ca_crt, ca_key = make_ca(tmp_path)
    ca_pem = ca_crt.read_bytes()
    template = tmp_path / "template"
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u1", "--group", "g1", "--out-dir", template, "-q")
    if start == "versioned":
        ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u1", "--group", "g1", "--out-dir", template,
           "--force", "-q")
        assert (template / "u1.key").is_symlink()
    else:
        assert not (template / "u1.key").is_symlink()
    old = pair(template, "u1")
    kills = kept = replaced = 0
    for n in range(1, 41):
        out = tmp_path / f"run-{n}"
        shutil.copytree(template, out, symlinks=True)
        p = subprocess.run(["strace", "-f", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2",
                            "-e", f"inject=rename,renameat,renameat2:signal=KILL:when={n}",
                            str(binary()), "issue", "--ca-cert", str(ca_crt), "--ca-key", str(ca_key), "--user", "u1",
                            "--group", "g1", "--out-dir", str(out), "--force", "-q"],
                           capture_output=True, text=True, timeout=60)
        killed = p.returncode in (-9, 128 + 9)
        assert killed or p.returncode == 0, (n, p.returncode, p.stderr)
        key, crt, ca = pair(out, "u1")
        assert ca == ca_pem, n
        assert public_der(key, True) == public_der(crt, False), f"kill at rename {n}: key and certificate differ"
        if (key, crt) == old[:2]:
            kept += 1
        else:
            assert signed_by(crt, ca_pem) and subject_of(crt) == ("u1", ["g1"]), n
            replaced += 1
        if not killed:
            break
        kills += 1
        # The next run after a kill completes and cleans up.
        if n % 4 == 1:
            ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u1", "--group", "g1", "--out-dir", out,
               "--force", "-q")
            k2, c2, _ = pair(out, "u1")
            assert public_der(k2, True) == public_der(c2, False)
            assert not [x for x in out.iterdir() if x.name.endswith(".tmp-link")]
        shutil.rmtree(out)
    else:
        pytest.fail("issue --force still renamed after 40 renames")
    assert kills >= 2, f"only {kills} renames: the kill points were not exercised"
    assert kept >= 1 and replaced >= 1, (kept, replaced)


def test_a_kubeconfig_the_runner_controls_names_no_file_of_roots(shared: Path, runner_user) -> None:
    """Root renewing with the runner's own kubeconfig (self-renewal) reads only
    what the runner could read: files the kubeconfig names must belong to the
    runner, and the kubeconfig itself must be the runner's file, not a link to
    one of root's."""
    uid, gid = runner_user
    ca_crt, ca_key = make_ca(shared, "ca")
    secret = shared / "root-only"
    secret.mkdir(mode=0o700)
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "admin", "--out-dir", secret)
    (secret / "token").write_text("root-secret-token\n")
    mine = shared / "runner-dir"
    mine.mkdir()
    os.chown(mine, uid, gid)
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "runner", "--out-dir", mine)
    for p in mine.rglob("*"):
        os.lchown(p, uid, gid)
    kc = mine / "kubeconfig"

    def write(user: str) -> None:
        kc.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:1", certificate-authority: "{ca_crt}"}}}}]
users: [{{name: u, user: {user}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
""")
        os.chown(kc, uid, gid)

    # ca_crt is root's file too: even the CA must be the runner's own. Refused as a
    # trust outcome (exit 1, UntrustedError), before anything is sent.
    write(f'{{client-certificate: "{secret}/admin.crt", client-key: "{secret}/admin.key"}}')
    r = run("k8s-csr", "approve", "x", "--kubeconfig", kc, "--expect-user", "runner")
    assert r.code == 1 and "reads only when that user owns it" in r.err, r
    own_ca = mine / "ca.crt"
    kc.write_text(kc.read_text().replace(str(ca_crt), str(own_ca)))
    for user in (f'{{client-certificate: "{secret}/admin.crt", client-key: "{secret}/admin.key"}}',
                 f'{{tokenFile: "{secret}/token"}}'):
        write(user)
        kc.write_text(kc.read_text().replace(str(ca_crt), str(own_ca)))
        os.chown(kc, uid, gid)
        r = run("k8s-csr", "approve", "x", "--kubeconfig", kc, "--expect-user", "runner")
        assert r.code == 1 and "reads only when that user owns it" in r.err, (user, r)
    # The runner's own files are fine: the request then fails on the network, not on trust.
    write(f'{{client-certificate: "{mine}/runner.crt", client-key: "{mine}/runner.key"}}')
    kc.write_text(kc.read_text().replace(str(ca_crt), str(own_ca)))
    os.chown(kc, uid, gid)
    r = run("k8s-csr", "approve", "x", "--kubeconfig", kc, "--expect-user", "runner")
    assert "owns it" not in r.err and r.code == 1, r
    # A link to root's kubeconfig is not the runner's file.
    roots = secret / "admin.conf"
    roots.write_text(kc.read_text())
    kc.unlink()
    os.symlink(roots, kc)
    os.lchown(kc, uid, gid)
    r = run("k8s-csr", "approve", "x", "--kubeconfig", kc, "--expect-user", "runner")
    assert r.code != 0 and "belongs to uid 0" in r.err, r
