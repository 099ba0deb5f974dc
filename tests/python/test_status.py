"""`runnerkey status` and Python `status()`: the identity of each runner,
until when, and whether renewal is due; the Prometheus text file checked
with prometheus_client's own parser."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

import runnerkey
from cluster import make_ca
from conftest import ok, run

CONFIG = """[[runners]]
  name = "cert"
  url = "https://gitlab.example.com"
  token = "glrt-x"
  executor = "kubernetes"
[[runners]]
  name = "token"
  executor = "kubernetes"
  [runners.kubernetes]
    host = "https://10.0.0.1:6443"
    bearer_token = "s3cret-token"
"""


def unix(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def samples(text: str) -> dict[tuple[str, str], float]:
    return {(s.name, s.labels.get("runner", "")): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_status_cli_python_and_prometheus_agree(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path)
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    ok("setup", "--ca-cert", ca_crt, "--ca-key", ca_key, "--config", cfg, "--runner", "cert",
       "--server", "https://10.0.0.1:6443", "--out-dir", tmp_path / "ssl", "--days", "30", "-q")
    # A textfile directory that does not exist is refused, not made.
    missing = run("status", "--config", cfg, "--prometheus", tmp_path / "prom" / "runnerkey.prom")
    assert missing.code == 2 and str(tmp_path / "prom") in missing.err, missing
    assert not (tmp_path / "prom").exists()
    (tmp_path / "prom").mkdir()
    # The directory itself: DIR/runnerkey.prom.
    r = run("status", "--config", cfg, "-o", "json", "--prometheus", tmp_path / "prom")
    assert r.code == 0, r
    report = json.loads(r.out)
    cert = report["runners"][0]
    assert (cert["credential"], cert["user"], cert["renewal_due"], cert["expired"]) == (
        "client-certificate", "gitlab-admin", False, False)
    assert report["runners"][1]["credential"] == "bearer-token"
    life = unix(cert["not_after"]) - unix(cert["not_before"])
    due = unix(cert["renew_at"]) - unix(cert["not_before"])
    assert life * (2 / 3 - 0.05) - 1 <= due <= life * 2 / 3 + 1, (due, life)
    prom = (tmp_path / "prom" / "runnerkey.prom").read_text()
    assert "s3cret" not in prom and "s3cret" not in r.out
    got = samples(prom)
    assert got[("runnerkey_client_certificate_expiry_timestamp_seconds", "cert")] == unix(cert["not_after"])
    # One name per value: notAfter only as the _timestamp_seconds metric.
    assert ("runnerkey_certificate_not_after_seconds", "cert") not in got
    assert got[("runnerkey_certificate_renew_at_seconds", "cert")] == unix(cert["renew_at"])
    assert got[("runnerkey_certificate_renewal_due", "cert")] == 0
    assert got[("runnerkey_credential_ok", "token")] == 1
    # Python: the same facts.
    py = runnerkey.status(cfg)
    assert [x["runner"] for x in py["runners"]] == ["cert", "token"]
    assert py["runners"][0]["renew_at"] == cert["renew_at"]
    assert samples(runnerkey.status_prometheus(cfg, runner="cert"))[("runnerkey_client_certificate_expiry_timestamp_seconds",
                                                                                "cert")] \
        == unix(cert["not_after"])
    # Within --renew-before of the end: due, exit 1.
    due_now = run("status", "--config", cfg, "--renew-before", "31d")
    assert due_now.code == 1 and "renewal was due" in due_now.out, due_now
    assert runnerkey.status(cfg, renew_before="31d")["runners"][0]["renewal_due"] is True


def test_status_reports_a_key_that_does_not_match_and_bad_input(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path)
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    ok("setup", "--ca-cert", ca_crt, "--ca-key", ca_key, "--config", cfg, "--runner", "cert",
       "--server", "https://10.0.0.1:6443", "--out-dir", tmp_path / "ssl", "-q")
    ok("key", "generate", "--out", tmp_path / "other.key")
    ok("runner-config", "set", "--config", cfg, "--runner", "cert", "--key-file", tmp_path / "other.key")
    r = run("status", "--config", cfg, "--runner", "cert", "--prometheus", "-")
    assert r.code == 1
    assert samples(r.out)[("runnerkey_credential_ok", "cert")] == 0
    assert "does not belong" in json.loads(run("status", "--config", cfg, "--json").out)["runners"][0]["problem"]
    for bad in (["--renew-at", "1.5"], ["--renew-before", "soon"], ["--runner", "nope"]):
        b = run("status", "--config", cfg, *bad)
        assert b.code == 2 and b.err.startswith("runnerkey: "), (bad, b)


def test_renew_checks_the_new_pair_with_the_api_server_before_switching(tmp_path: Path) -> None:
    from cluster import serving_cert, start_apiserver

    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    other_crt, _ = make_ca(tmp_path, "other")
    srv_crt, srv_key = serving_cert(tmp_path, ca_crt, ca_key)
    good = start_apiserver(srv_crt, srv_key, ca_crt)
    wrong = start_apiserver(srv_crt, srv_key, other_crt)  # trusts another client CA
    try:
        for name, srv in (("good", good), ("wrong", wrong)):
            d = tmp_path / name
            d.mkdir()
            cfg = d / "config.toml"
            cfg.write_text('[[runners]]\n  name = "r"\n  executor = "kubernetes"\n')
            ok("setup", "--ca-cert", ca_crt, "--ca-key", ca_key, "--config", cfg, "--runner", "r", "--server", srv.url,
               "--out-dir", d / "ssl", "--user", "gitlab-runner:h1", "--group", "ci", "--days", "30", "-q")
            crt, key = d / "ssl" / "gitlab-runner:h1.crt", d / "ssl" / "gitlab-runner:h1.key"
            before = (crt.read_bytes(), key.read_bytes(), cfg.read_bytes())
            mtimes = {p: p.lstat().st_mtime_ns for p in d.rglob("*")}
            assert "nothing to do" in ok("renew", "--config", cfg, "--runner", "r", "--ca-cert", ca_crt,
                                         "--ca-key", ca_key).out
            assert {p: p.lstat().st_mtime_ns for p in d.rglob("*")} == mtimes, "not due: nothing touched"
            r = run("renew", "--config", cfg, "--runner", "r", "--ca-cert", ca_crt, "--ca-key", ca_key,
                    "--force", "--json")
            report = json.loads(r.out)
            if name == "good":
                assert r.code == 0 and report["renewed"], report
                assert report["online"] == {"result": "authenticated", "user": "gitlab-runner:h1"}
                assert crt.read_bytes() != before[0] and key.read_bytes() != before[1]
                cert = runnerkey.Certificate.load(crt)
                assert (cert.user, cert.groups) == ("gitlab-runner:h1", ["ci"])
                assert runnerkey.verify(runnerkey.Certificate.load(ca_crt), cert, runnerkey.PrivateKey.load(key)).ok
                assert key.stat().st_mode & 0o777 == 0o600
                assert cfg.read_bytes() == before[2], "config.toml untouched"
                # The previous pair is kept for rollback, whole.
                previous = d / "ssl" / ".runnerkey" / "previous"
                assert (previous / crt.name).read_bytes() == before[0]
                assert (previous / key.name).read_bytes() == before[1]
                # The runner still authenticates with what is now in place.
                check = json.loads(run("doctor", "--config", cfg, "--online", "--json").out)["runners"][0]
                assert check["authenticated_as"]["username"] == "gitlab-runner:h1"
            else:
                assert r.code == 1 and not report["renewed"] and report["online"]["result"] == "refused", report
                assert (crt.read_bytes(), key.read_bytes(), cfg.read_bytes()) == before, "the old pair is kept"
    finally:
        good.stop()
        wrong.stop()


def test_systemd_units_pass_systemd_analyze_and_run_renew(tmp_path: Path) -> None:
    """The units `runnerkey systemd` writes are checked by systemd's own
    parser (systemd-analyze verify), and the instance's ExecStart, run as
    it stands, is the renewal."""
    import os
    import shlex
    import shutil
    import subprocess

    assert shutil.which("systemd-analyze"), "scripts/test.sh installs systemd"
    ca_crt, ca_key = make_ca(tmp_path)
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG.replace('name = "cert"', 'name = "my runner"'))
    ok("setup", "--ca-cert", ca_crt, "--ca-key", ca_key, "--config", cfg, "--runner", "my runner",
       "--server", "https://127.0.0.1:1", "--out-dir", tmp_path / "ssl", "-q")
    r = ok("systemd", "--config", cfg, "--runner", "my runner", "--ca-cert", ca_crt, "--ca-key", ca_key,
           "--install", "--root", tmp_path / "root")
    units = tmp_path / "root" / "etc" / "systemd" / "system"
    files = sorted(str(p.relative_to(units)) for p in units.rglob("*") if p.is_file())
    assert files == ["gitlab-runner.service.d/runnerkey.conf", "runnerkey-renew@.service",
                     "runnerkey-renew@.timer", "runnerkey-renew@my\\x20runner.service.d/runnerkey.conf"], files
    assert all((units / f).stat().st_mode & 0o777 == 0o644 for f in files)
    assert "systemctl enable --now 'runnerkey-renew@my\\x20runner.timer'" in r.out
    (units / "gitlab-runner.service").write_text("[Unit]\nDescription=GitLab Runner\n[Service]\nExecStart=/bin/true\n")
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{units}:"}
    names = ["runnerkey-renew@my\\x20runner.service", "runnerkey-renew@my\\x20runner.timer", "gitlab-runner.service"]
    v = subprocess.run(["systemd-analyze", "verify", *names], capture_output=True, text=True, env=env)
    # This container has no sysinit.target; anything else is a finding.
    problems = [x for x in v.stderr.splitlines() if "sysinit.target" not in x]
    assert not problems, v.stderr
    service = (units / "runnerkey-renew@.service").read_text()
    assert "ProtectSystem=strict" in service and f"ReadWritePaths={tmp_path}\n" in service
    dropin = (units / "runnerkey-renew@my\\x20runner.service.d" / "runnerkey.conf").read_text()
    assert f"ReadWritePaths={tmp_path} {tmp_path / 'ssl'}" in dropin
    exec_line = [line for line in dropin.splitlines() if line.startswith("ExecStart=")][-1]
    argv = shlex.split(exec_line.removeprefix("ExecStart="))
    assert argv[1:4] == ["renew", f"--config={cfg}", "--runner=my runner"], argv
    done = subprocess.run([*argv, "--force", "--json"], capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout)["renewed"], done.stderr
    # A broken unit is caught by the same check (the test can fail).
    broken = (units / "runnerkey-renew@.timer").read_text().replace("OnUnitActiveSec=5min", "OnUnitActiveSec=5minn")
    (units / "runnerkey-renew@.timer").write_text(broken)
    v = subprocess.run(["systemd-analyze", "verify", names[1]], capture_output=True, text=True, env=env)
    assert "5minn" in v.stderr or v.returncode != 0, v.stderr
    py = runnerkey.renew_units(runner="my runner", exec=argv, writable=[tmp_path, tmp_path / "ssl"],
                               check=["/bin/true"])
    assert py["instance_dropin"] == dropin and py["name"] == "runnerkey-renew@my\\x20runner"
    assert py["runner_dropin"] and "ExecStartPre=/bin/true" in py["runner_dropin"]
