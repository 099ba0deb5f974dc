"""The units `runnerkey systemd --install` writes, from either distribution
(the pip-installed console script, the binary), run the command the user
installed — never the Python interpreter with subcommand arguments, which
would make gitlab-runner's pre-start check fail and stop it from starting —
and work when run as systemd runs them: split by systemd's command-line
rules (systemd_exec.py), the renewal confined as the unit confines it, and
renewing a certificate that is due. The renew unit's exposure, as
`systemd-analyze security` rates it, stays at most 3.0."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cryptography import x509

from cluster import make_ca
from conftest import binary, fixture, ok
from systemd_exec import exec_command, run_confined, unit_settings

RUNNER = "test-runner"
INSTANCE = "runnerkey-renew@test\\x2drunner.service"


def console_script() -> Path:
    script = Path(sys.executable).parent / "runnerkey"
    assert script.is_file(), f"{script}: the wheel's console script is installed by scripts/test.sh"
    return script


def installed(tmp_path: Path, command: Path, *extra: str) -> tuple[Path, Path, Path]:
    """A runner set up with a CA, and its units installed by `command`
    under ROOT; returns (ROOT, config.toml, cert_file)."""
    ca_crt, _ = make_ca(tmp_path, "pki")
    cfg = tmp_path / "etc" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_bytes(fixture("runner-configs", "gitlabhq_gitlab-runner_register-merged.toml").read_bytes())
    ok("setup", "--ca-dir", ca_crt.parent, "--server", "https://127.0.0.1:1", "--runner", RUNNER,
       "--config", cfg, "--out-dir", tmp_path / "ssl")
    root = tmp_path / "root"
    p = subprocess.run([str(command), "systemd", "--config", str(cfg), "--runner", RUNNER, "--ca-dir",
                        str(ca_crt.parent), "--install", "--root", str(root), *extra],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    # gitlab-runner's own unit (its command stands in).
    (root / "etc/systemd/system/gitlab-runner.service").write_text(
        "[Unit]\nDescription=GitLab Runner\n[Service]\nExecStart=/bin/true\n")
    runner = next(r for r in tomllib.loads(cfg.read_text())["runners"] if r["name"] == RUNNER)
    return root, cfg, Path(runner["kubernetes"]["cert_file"])


def clean_env() -> dict[str, str]:
    """What systemd gives a service (no PYTHON*, no VIRTUAL_ENV), and the
    state directory that stands for /var/lib/runnerkey."""
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "RUNNERKEY_STATE_DIR": os.environ["RUNNERKEY_STATE_DIR"], "LANG": "C.UTF-8"}


@pytest.mark.parametrize("distribution", ["console-script", "binary"])
def test_installed_units_run_the_installed_command_and_renew_confined(tmp_path: Path, distribution: str) -> None:
    command = console_script() if distribution == "console-script" else binary().resolve()
    # Due at once: the units renew within 400 days of the end; the metrics
    # are refreshed after every attempt.
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    root, cfg, cert = installed(tmp_path, command, "--renew-before", "400d", "--prometheus", str(textfiles))
    before = x509.load_pem_x509_certificate(cert.read_bytes()).serial_number
    renew = unit_settings(root, INSTANCE)
    starts = renew.commands("ExecStart")
    assert len(starts) == 1, starts
    pre = unit_settings(root, "gitlab-runner.service")
    checks = pre.commands("ExecStartPre")
    assert checks, "gitlab-runner.service gets a check"
    for c in [*starts, *checks]:
        assert Path(c.path).resolve() == command.resolve(), (c.path, command)
        assert "python" not in Path(c.path).name
        assert not c.privileged, f"{c.prefixes}: would run outside the sandbox"
    assert "--runner=test-runner" in starts[0].argv, starts[0].argv
    posts = renew.commands("ExecStopPost")
    assert len(posts) == 1 and posts[0].failure_ignored, posts
    # The pre-start check, run as systemd runs it (gitlab-runner.service is
    # not confined by runnerkey).
    for c in checks:
        r = subprocess.run(c.argv, capture_output=True, text=True, env=clean_env(), timeout=120)
        assert r.returncode == 0 or c.failure_ignored, (c.argv, r.stdout, r.stderr)
    # The renewal, confined as its unit says.
    r = run_confined(starts[0], renew, state_dir=Path(os.environ["RUNNERKEY_STATE_DIR"]), env=clean_env(),
                     log=tmp_path / "strace.log")
    assert r.returncode == 0, (starts[0].argv, r.stdout, r.stderr)
    assert "renewed" in r.stdout, r.stdout
    after = x509.load_pem_x509_certificate(cert.read_bytes()).serial_number
    assert after != before, "the due certificate was renewed"
    # Then the metrics, confined the same way (ExecStopPost= runs in the unit's sandbox).
    for c in posts:
        assert Path(c.path).resolve() == command.resolve() and not c.privileged, c
        m = run_confined(c, renew, state_dir=Path(os.environ["RUNNERKEY_STATE_DIR"]), env=clean_env(),
                         log=tmp_path / "strace-post.log")
        assert m.returncode in (0, 1), (c.argv, m.stdout, m.stderr)
    prom = (textfiles / "runnerkey.prom").read_text()
    assert 'runnerkey_last_renewal_success{runner="test-runner"' in prom, prom
    status = ok("status", "--config", cfg, "--runner", RUNNER)
    assert "✓" in status.out, status.out
    assert shutil.which("systemd-analyze")
    units = root / "etc" / "systemd" / "system"
    v = subprocess.run(["systemd-analyze", "verify", "--man=no", INSTANCE, "gitlab-runner.service"],
                       capture_output=True, text=True, env={**os.environ, "SYSTEMD_UNIT_PATH": f"{units}:"})
    # This container has no sysinit.target; anything else is a finding.
    problems = [x for x in v.stderr.splitlines() if "sysinit.target" not in x]
    assert not problems, v.stderr


def test_the_renew_unit_is_rated_at_most_3_of_10_exposed(tmp_path: Path) -> None:
    root, _, _ = installed(tmp_path, binary().resolve())
    p = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--root={root}", "--no-pager",
                        INSTANCE], capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", p.stdout)
    assert m, (p.stdout, p.stderr)
    assert float(m.group(1)) <= 3.0, p.stdout


def test_the_splitter_reads_command_lines_as_systemd() -> None:
    e = exec_command(r"""-/usr/bin/runnerkey "a b" 'c"d' x\x41 100%% --runner=%I "$$HOME" \q""",
                     "runnerkey-renew@my\\x2drunner\\x20x.service")
    assert e.prefixes == "-" and e.failure_ignored and not e.privileged
    assert e.argv == ["/usr/bin/runnerkey", "a b", 'c"d', "xA", "100%", "--runner=my-runner x", "$HOME", "\\q"]
    assert exec_command("@/bin/sh sh -c true", "x.service").argv == ["sh", "-c", "true"]
    assert exec_command(":/bin/echo $$", "x.service").argv == ["/bin/echo", "$$"]
    assert exec_command("+/bin/true", "x.service").privileged
    assert exec_command("/bin/echo %i %p %n", "a@b\\x2dc.service").argv == [
        "/bin/echo", "b\\x2dc", "a", "a@b\\x2dc.service"]
    for bad in ["/bin/echo %h", "/bin/echo ${X}", "/bin/echo $X", "runnerkey renew", "/bin/echo 'open",
                "/bin/echo a ; /bin/true", "/bin/\\q"]:
        with pytest.raises(ValueError):
            exec_command(bad, "x.service")


def test_python_decides_the_same_units_as_the_cli(tmp_path: Path) -> None:
    import runnerkey

    program = binary().resolve()
    root, cfg, _ = installed(tmp_path, program, "--renew-at", "0.75", "--renew-before", "30d")
    units = root / "etc" / "systemd" / "system"
    py = runnerkey.systemd_units(cfg, runner=RUNNER, program=program, ca_dir=tmp_path / "pki", renew_at=0.75,
                                 renew_before="30d")
    assert py["service"] == (units / "runnerkey-renew@.service").read_text()
    assert py["timer"] == (units / "runnerkey-renew@.timer").read_text()
    assert py["instance_dropin"] == (units / f"{INSTANCE}.d" / "runnerkey.conf").read_text()
    assert py["runner_dropin"] == (units / "gitlab-runner.service.d" / "runnerkey.conf").read_text()
    assert "--renew-at=0.75 --renew-before=30d" in py["instance_dropin"], py["instance_dropin"]
    with pytest.raises(runnerkey.InvalidArgumentError):
        runnerkey.systemd_units(cfg, runner=RUNNER, program=program)
