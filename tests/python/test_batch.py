"""`runnerkey issue --batch` and `CertificateAuthority.issue_many`: a fleet's
certificates, checked by openssl; bad entries refused by line before
anything is written; a progress bar only on a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
from pathlib import Path

from cryptography import x509

import runnerkey
from cluster import make_ca
from conftest import binary, ok, openssl, run


def jsonl(entries: list[dict]) -> str:
    return "".join(json.dumps(e) + "\n" for e in entries)


def test_a_thousand_entries_all_pass_openssl(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki", algorithm="rsa-2048")
    out = tmp_path / "fleet"
    batch = tmp_path / "fleet.jsonl"
    batch.write_text(jsonl([{"host": f"runner-{i}", "out_dir": str(out / f"rack-{i % 10}")} for i in range(1000)]))
    r = ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--batch", batch, "--user", "gitlab-runner:{host}",
           "--group", "gitlab-runners", "--json")
    report = json.loads(r.out)
    assert (report["issued"], report["failed"]) == (1000, 0) and r.err == ""
    assert [e["line"] for e in report["results"]] == list(range(1, 1001))
    certs = sorted(out.glob("rack-*/gitlab-runner-runner-*.crt"))
    assert len(certs) == 1000
    # openssl verify takes many certificates at once; every one must be OK.
    v = openssl("verify", "-purpose", "sslclient", "-CAfile", ca_crt, *certs)
    assert v.stdout.decode().count(": OK\n") == 1000
    for i in (0, 517, 999):
        cert = x509.load_pem_x509_certificate((out / f"rack-{i % 10}" / f"gitlab-runner-runner-{i}.crt").read_bytes())
        attrs = {a.oid.dotted_string: a.value for a in cert.subject}
        assert attrs["2.5.4.3"] == f"gitlab-runner:runner-{i}" and attrs["2.5.4.10"] == "gitlab-runners"
    keys = list(out.glob("rack-*/*.key"))
    assert len(keys) == 1000 and all(k.stat().st_mode & 0o777 == 0o600 for k in keys)
    assert all(d.stat().st_mode & 0o777 == 0o700 for d in out.iterdir())


def test_bad_entries_are_refused_by_line_and_nothing_is_written(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    out = tmp_path / "out"
    good = {"user": "a", "out_dir": str(out)}
    for entries, needle in [
        ([good, {"user": "b", "out_dir": str(out), "days": 0}], "line 2: a certificate lifetime must be at least one day"),
        ([good, {"user": "b"}], "line 2: not a batch entry"),
        ([good, good], "line 2: "),
        ([good, {"user": "c", "groups": ["system:masters"], "out_dir": str(out)}], "line 2: "),
        ([{"user": "ca", "out_dir": str(tmp_path / "pki")}], "line 1: "),
        ([good, {"user": "d", "out_dir": str(out), "algorithm": "dsa"}], "line 2: "),
    ]:
        batch = tmp_path / "b.jsonl"
        batch.write_text(jsonl(entries))
        r = run("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--batch", batch)
        assert r.code == 2 and f"{batch}: {needle}" in r.err, (entries, r.err)
        assert not out.exists(), entries
    r = run("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--batch", "-", input="not json\n")
    assert r.code == 2 and "<stdin>: line 1: not a batch entry" in r.err
    r = run("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--batch", "-", "--out-dir", out, input="")
    assert r.code == 2 and "cannot be used with" in r.err


def test_stdin_and_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    text = jsonl([{"user": f"u{i}", "out_dir": str(tmp_path / "out")} for i in range(3)])
    r = ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--batch", "-", "--jobs", "2", input=text)
    assert "issued 3 of 3 certificates" in r.out
    before = (tmp_path / "out" / "u1.key").read_bytes()
    r = run("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--batch", "-", input=text)
    assert r.code == 2 and "line 1" in r.err and "already exists" in r.err
    assert (tmp_path / "out" / "u1.key").read_bytes() == before
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--batch", "-", "--force", input=text)
    assert (tmp_path / "out" / "u1.key").read_bytes() != before


def run_on_a_tty(args: list[object]) -> tuple[int, str]:
    """Runs runnerkey with stderr (and stdout) on a pseudo-terminal."""
    master, slave = pty.openpty()
    p = subprocess.Popen([str(binary()), *map(str, args)], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def test_the_progress_bar_is_shown_only_on_a_terminal(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    batch = tmp_path / "b.jsonl"
    args = lambda d: ["issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--batch", batch, "--force",  # noqa: E731
                      "--jobs", "1"]
    batch.write_text(jsonl([{"user": f"u{i}", "out_dir": str(tmp_path / "out")} for i in range(300)]))
    code, tty = run_on_a_tty(args(tmp_path))
    assert code == 0 and "certificates" in tty and "/300" in tty, tty
    piped = ok(*args(tmp_path))
    assert "/300" not in piped.out + piped.err and piped.err == ""
    code, quiet = run_on_a_tty([*args(tmp_path), "--quiet"])
    assert code == 0 and "/300" not in quiet, quiet


def test_python_issue_many(tmp_path: Path) -> None:
    ca = runnerkey.CertificateAuthority.generate(algorithm="rsa-2048")
    entries = [{"host": f"h{i}", "out_dir": tmp_path / "out", "days": 30} for i in range(50)]
    report = ca.issue_many(entries, user_template="gitlab-runner:{host}", groups=["fleet"], threads=2)
    assert (report["issued"], report["failed"]) == (50, 0)
    first = report["results"][0]
    assert first["user"] == "gitlab-runner:h0" and first["groups"] == ["fleet"] and first["error"] is None
    cert = runnerkey.Certificate.load(first["cert_file"])
    assert runnerkey.verify(ca.certificate, cert).ok
    try:
        ca.issue_many([{"user": "x", "out_dir": str(tmp_path / "new")}, {"user": "y"}])
    except ValueError as e:
        assert "line 2" in str(e)
    else:
        raise AssertionError("a bad entry must raise")
    assert not (tmp_path / "new").exists()
    again = ca.issue_many(jsonl([{"user": "z", "out_dir": str(tmp_path / "out")}]))
    assert again["issued"] == 1
    for bad in ({"user": "b", "out_dir": b"bytes"}, {"user": "o", "out_dir": object()},
                {"user": "s", "out_dir": str(tmp_path), "groups": {"a"}}):
        try:
            ca.issue_many([bad])
        except TypeError:
            pass
        else:
            raise AssertionError(f"{bad} must be a TypeError, not its repr as a path")
    assert not list(tmp_path.glob("b'*")) and not list(tmp_path.glob("<object*"))


def test_groups_with_cluster_wide_power_need_the_explicit_allowance(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    for group in ("kubeadm:cluster-admins", "system:nodes"):
        r = run("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u", "--group", group,
                "--out-dir", tmp_path / "out")
        assert r.code == 2 and f"refusing group {group}" in r.err and "--allow-system-masters" in r.err, r.err
        assert not (tmp_path / "out").exists()
        batch = jsonl([{"user": "u", "groups": [group], "out_dir": str(tmp_path / "out")}])
        r = run("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--batch", "-", input=batch)
        assert r.code == 2 and "line 1" in r.err and f"refusing group {group}" in r.err, r.err
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u", "--group", "system:nodes",
       "--allow-system-masters", "--out-dir", tmp_path / "out")


def test_keep_valid_resumes_a_batch_from_the_cli_and_python(tmp_path: Path) -> None:
    make_ca(tmp_path)
    batch = tmp_path / "fleet.jsonl"
    batch.write_text(jsonl([{"host": f"h{i}", "out_dir": str(tmp_path / f"h{i}")} for i in range(3)]))
    args = ["issue", "--ca-dir", tmp_path / "ca", "--batch", batch, "--user", "gitlab-runner:{host}", "--keep-valid"]
    first = json.loads(ok(*args, "--json").out)
    assert (first["issued"], first["kept"]) == (3, 0)
    keys = {p: p.read_bytes() for p in tmp_path.glob("h*/*.key")}
    # Run again with one more host: only that one is issued.
    batch.write_text(batch.read_text() + jsonl([{"host": "h3", "out_dir": str(tmp_path / "h3")}]))
    again = ok(*args)
    assert "issued 1, kept 3 still valid, of 4 certificates" in again.out, again.out
    assert all(p.read_bytes() == k for p, k in keys.items())
    # Without --keep-valid the existing files stop the batch before anything is written.
    refused = run("issue", "--ca-dir", tmp_path / "ca", "--batch", batch, "--user", "gitlab-runner:{host}")
    assert refused.code == 2 and "already exists" in refused.err
    ca = runnerkey.CertificateAuthority.load_dir(tmp_path / "ca")
    report = ca.issue_many(batch.read_text(), user_template="gitlab-runner:{host}", keep_valid=True, renew_before="400d")
    assert (report["issued"], report["kept"]) == (4, 0), "inside the renewal window: all renewed"
    assert all(not r["kept"] and r["error"] is None for r in report["results"])
    openssl("verify", "-purpose", "sslclient", "-CAfile", tmp_path / "ca" / "ca.crt", tmp_path / "h3" / "gitlab-runner-h3.crt")


def test_keep_valid_from_a_timer_issues_nothing_the_second_time(tmp_path: Path) -> None:
    """`issue --batch --days 30 --keep-valid`, as docs/fleet.md runs it from
    a timer: the second run issues none of the 40 pairs and leaves every
    file byte- and mtime-identical, without a warning; a mismatched pair and
    one for another identity are the only ones the third run re-issues. The
    file names hold no ':' (scp and rsync would read a host)."""
    make_ca(tmp_path)
    batch = tmp_path / "fleet.jsonl"
    batch.write_text(jsonl([{"host": f"runner-{i:02}", "out_dir": str(tmp_path / "fleet" / f"runner-{i:02}")}
                            for i in range(40)]))
    args = ["issue", "--ca-dir", tmp_path / "ca", "--batch", batch, "--user", "gitlab-runner:{host}",
            "--group", "gitlab-runners", "--days", "30", "--keep-valid"]
    first = ok(*args)
    assert "issued 40 of 40" in first.out, first.out
    assert not [p for p in (tmp_path / "fleet").rglob("*") if ":" in p.name]

    def snapshot() -> dict[str, tuple[bytes, int]]:
        return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted((tmp_path / "fleet").rglob("*"))
                if p.is_file()}

    before = snapshot()
    second = ok(*args)
    assert "issued 0, kept 40 still valid, of 40 certificates" in second.out, second.out
    assert second.err == ""
    assert snapshot() == before
    r1, r2 = (tmp_path / "fleet" / f"runner-0{i}" / f"gitlab-runner-runner-0{i}.crt" for i in (1, 2))
    r1.write_bytes(r2.read_bytes())
    ok("issue", "--ca-dir", tmp_path / "ca", "--user", "gitlab-runner:runner-03", "--group", "elsewhere",
       "--out-dir", tmp_path / "fleet" / "runner-03", "--name", "gitlab-runner-runner-03", "--force")
    third = json.loads(ok(*args, "--json").out)
    assert (third["issued"], third["kept"]) == (2, 38)
    assert [r["user"] for r in third["results"] if not r["kept"]] == ["gitlab-runner:runner-01", "gitlab-runner:runner-03"]
