"""Hostile and broken inputs end with a clear error (exit 2), never a
panic, a hang or a lost CA key."""

from __future__ import annotations

import os
import time
from pathlib import Path

from conftest import ok, run


def test_user_ca_cannot_overwrite_the_ca_key(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    ok("ca", "init", "--out-dir", d)
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    for extra in ([], ["--force"]):
        r = run("issue", "--ca-dir", d, "--user", "ca", "--out-dir", d, *extra)
        assert r.code == 2 and "reserved" in r.err, r
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_lifetimes_past_year_9999_are_refused_not_a_panic(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    ok("ca", "init", "--out-dir", d)
    for args in (["issue", "--ca-dir", d, "--user", "u", "--out-dir", tmp_path / "o", "--days", "3000000"],
                 ["ca", "init", "--out-dir", tmp_path / "ca2", "--days", "3000000"]):
        r = run(*args)
        assert r.code == 2 and "9999" in r.err and "panicked" not in r.err, r
    assert not (tmp_path / "o").exists() and not (tmp_path / "ca2").exists()


def test_fifo_and_device_inputs_end_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.pem"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero"), tmp_path):
        start = time.monotonic()
        r = run("inspect", path)
        assert r.code == 2 and "not a regular file" in r.err, r
        assert time.monotonic() - start < 5


def test_no_output_may_resolve_to_the_ca_files(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    ok("ca", "init", "--out-dir", d)
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    out = tmp_path / "out"
    out.mkdir()
    # The CA directory itself, a symlink to the key, a hard link to it.
    r = run("issue", "--ca-dir", d, "--user", "u", "--out-dir", d, "--force")
    assert r.code == 2 and "CA's own file" in r.err, r
    (out / "u.key").symlink_to(d / "ca.key")
    r = run("issue", "--ca-dir", d, "--user", "u", "--out-dir", out, "--force")
    assert r.code == 2 and "CA's own file" in r.err, r
    (out / "u.key").unlink()
    os.link(d / "ca.key", out / "u.crt")
    r = run("issue", "--ca-dir", d, "--user", "u", "--out-dir", out, "--force")
    assert r.code == 2 and "CA's own file" in r.err, r
    r = run("csr", "sign", "x.csr", "--ca-dir", d, "--out", d / "ca.crt", "--force", cwd=tmp_path)
    assert r.code == 2
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_python_numbers_are_validated_never_a_panic(tmp_path: Path) -> None:
    import runnerkey

    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "k"\n  executor = "kubernetes"\n')
    ca = runnerkey.CertificateAuthority.generate(algorithm="ecdsa-p256")
    bad_calls = [
        lambda: runnerkey.doctor(cfg, timeout=float("inf")),
        lambda: runnerkey.doctor(cfg, timeout=float("nan")),
        lambda: runnerkey.doctor(cfg, timeout=1e300),
        lambda: runnerkey.doctor(cfg, timeout=-1.0),
        lambda: runnerkey.RunnerConfig.load(cfg).save(lock_timeout=float("inf")),
        lambda: ca.issue(user="u", days=3_000_000),
        lambda: ca.issue(user="u", duration="99999999999h"),
        lambda: runnerkey.CertificateAuthority.generate(days=3_000_000),
    ]
    for call in bad_calls:
        try:
            call()
        except BaseException as e:  # noqa: BLE001 - PanicException derives from BaseException
            assert isinstance(e, (runnerkey.RunnerkeyError, ValueError, OverflowError, TypeError)), repr(e)
        else:
            raise AssertionError("accepted")


def test_a_symlink_at_the_lock_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "k"\n  executor = "kubernetes"\n')
    target = tmp_path / "planted"
    (tmp_path / "config.toml.lock").symlink_to(target)
    before = cfg.read_bytes()
    r = run("runner-config", "set", "--config", cfg, "--runner", "k", "--namespace", "ci")
    assert r.code == 2 and "config.toml.lock" in r.err, r
    assert not target.exists() and cfg.read_bytes() == before


def test_directories_get_explicit_modes_under_umask_000(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        ok("ca", "init", "--out-dir", tmp_path / "a" / "pki")
        ok("issue", "--ca-dir", tmp_path / "a" / "pki", "--user", "u", "--out-dir", tmp_path / "b" / "ssl")
    finally:
        os.umask(old)
    for d in (tmp_path / "a", tmp_path / "b"):
        assert d.stat().st_mode & 0o777 == 0o755, d
    for d in (tmp_path / "a" / "pki", tmp_path / "b" / "ssl"):
        assert d.stat().st_mode & 0o777 == 0o700, d
    assert (tmp_path / "b" / "ssl" / "u.key").stat().st_mode & 0o777 == 0o600


SPELLINGS = """\
[[runners]]
  name = "a"
  url = "https://deploy:url-pa55@gitlab.example.com/"
  "token" = 'glrt-literal-s3cret'
  executor = "kubernetes"
  kubernetes = { host = "https://k:6443", bearer_token = "inline-s3cret" }
  [runners.cache]
    Type = "s3"
    [runners.cache.s3]
      AccessKey = "AKIA-s3cret"
      SecretKey = \"\"\"
multi-line-s3cret\"\"\"
      SessionToken = "session-s3cret"
    [runners.cache.gcs]
      PrivateKey = "gcs-s3cret"
    [runners.cache.azure]
      AccountKey = "azure-s3cret"
[[runners]]
  name = "b"
  executor = "kubernetes"
  kubernetes.bearer_token = "dotted-s3cret"
"""


def test_every_secret_spelling_is_redacted_in_diffs_and_show(tmp_path: Path) -> None:
    import runnerkey

    cfg = tmp_path / "config.toml"
    cfg.write_text(SPELLINGS)
    token = tmp_path / "token"
    token.write_text("new-s3cret\n")
    # (Runner b's dotted kubernetes.* keys are not edited by runnerkey; its
    # secret's redaction in a diff is covered by the core's unit test.)
    r = ok("runner-config", "set", "--config", cfg, "--runner", "a", "--host", "https://x:6443",
           "--bearer-token-file", token, "--dry-run")
    assert "s3cret" not in r.out and "pa55" not in r.out, r.out
    assert "<redacted> (changed)" in r.out
    for args in (["--json"], []):
        shown = ok("runner-config", "show", "--config", cfg, *args).out
        assert "s3cret" not in shown and "pa55" not in shown, shown
    c = runnerkey.RunnerConfig.load(cfg)
    c.set_kubernetes("a", host="https://y:6443", bearer_token="py-s3cret")
    diff = c.diff()
    assert "s3cret" not in diff and "pa55" not in diff and "<redacted> (changed)" in diff, diff
    assert "py-s3cret" in c.diff(show_secrets=True)
    assert cfg.read_text() == SPELLINGS


def test_concurrent_identical_issues_succeed_or_say_exists(tmp_path: Path) -> None:
    import subprocess

    from conftest import binary

    d = tmp_path / "pki"
    ok("ca", "init", "--out-dir", d, "--algorithm", "ecdsa-p256")
    out = tmp_path / "out"
    for round_ in range(3):
        procs = [subprocess.Popen([str(binary()), "issue", "--ca-dir", str(d), "--user", f"u{round_}",
                                   "--out-dir", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(20)]
        results = [(p.wait(), p.stdout.read(), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        winners = [r for r in results if r[0] == 0]
        assert len(winners) == 1, results
        for code, _, err in results:
            if code != 0:
                assert code == 2 and f"u{round_}." in err and "already exists" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["ca.crt", "u0.crt", "u0.key", "u1.crt", "u1.key", "u2.crt", "u2.key"]
