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
        # Rounds to nothing: bad input, not a timeout against the network.
        lambda: runnerkey.doctor(cfg, timeout=1e-10),
        lambda: runnerkey.doctor(cfg, timeout="1e-10"),
        # Python's bool is an int: True is not "1 second".
        lambda: runnerkey.doctor(cfg, timeout=True),
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


def hostile_server(kind: str, cert: Path, key: Path):
    """A loopback server that trickles its TLS handshake a byte a second, or
    after a real handshake trickles its answer, or answers with endless
    headers or an endless body."""
    import socket
    import ssl
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        sock = conn
        try:
            if kind == "handshake-trickle":
                # A TLS record header announcing 16 KiB, then a byte a second.
                conn.send(b"\x16\x03\x03\x40\x00")
                while not stop.is_set():
                    conn.send(b"\x02")
                    time.sleep(1)
                return
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            tls = sock = ctx.wrap_socket(conn, server_side=True)
            tls.recv(65536)
            if kind == "body-trickle":
                for b in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000:
                    if stop.is_set():
                        break
                    tls.sendall(bytes([b]))
                    time.sleep(0.5)
            elif kind == "html":
                # Any TLS web server: 200 and a page to every request.
                page = b"<html><body>hello</body></html>"
                while not stop.is_set():
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                                + str(len(page)).encode() + b"\r\n\r\n" + page)
                    if not tls.recv(65536):
                        break
            elif kind == "not-http":
                tls.sendall(b"SSH-2.0-OpenSSH_9.6 and nothing like HTTP\r\n\r\n")
            elif kind == "headers":
                tls.sendall(b"HTTP/1.1 200 OK\r\n")
                while not stop.is_set():
                    tls.sendall(b"X-Filler: " + b"a" * 1000 + b"\r\n")
            else:
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
                while not stop.is_set():
                    tls.sendall(b"[" * 65536)
        except OSError:
            pass
        finally:
            sock.close()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1], stop, listener


def test_doctor_online_is_bounded_against_hostile_servers(tmp_path: Path) -> None:
    from cluster import make_ca, serving_cert
    from conftest import binary

    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    srv_crt, srv_key = serving_cert(tmp_path, ca_crt, ca_key)
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u", "--out-dir", tmp_path / "id")
    trust = tmp_path / "trust.crt"
    trust.write_bytes(ca_crt.read_bytes())
    for kind in ("handshake-trickle", "body-trickle", "headers", "body"):
        port, stop, listener = hostile_server(kind, srv_crt, srv_key)
        try:
            cfg = tmp_path / f"{kind}.toml"
            cfg.write_text(f'[[runners]]\n  name = "k"\n  executor = "kubernetes"\n  [runners.kubernetes]\n'
                           f'    host = "https://127.0.0.1:{port}"\n    cert_file = "{tmp_path}/id/u.crt"\n'
                           f'    key_file = "{tmp_path}/id/u.key"\n    ca_file = "{trust}"\n'
                           '    namespace = "ci"\n    service_account = "deployer"\n')
            start = time.monotonic()
            pid = os.fork()
            if pid == 0:
                fd = os.open(os.devnull, os.O_WRONLY)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.execv(str(binary()), [str(binary()), "doctor", "--config", str(cfg), "--online",
                                         "--timeout", "3"])
            _, status, usage = os.wait4(pid, 0)
            took = time.monotonic() - start
            assert os.waitstatus_to_exitcode(status) == 1, kind
            assert 2.5 < took < 5 if "trickle" in kind else took < 5, (kind, took)
            assert usage.ru_maxrss < 100 * 1024, (kind, usage.ru_maxrss)
        finally:
            stop.set()
            listener.close()


def test_a_tls_server_that_is_not_the_api_server_is_an_error(tmp_path: Path) -> None:
    """A web page, or something that is not HTTP, behind TLS the CA trusts:
    never "authenticated", always an error (exit 1)."""
    import json

    from cluster import make_ca, serving_cert
    from conftest import run

    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    srv_crt, srv_key = serving_cert(tmp_path, ca_crt, ca_key)
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u", "--out-dir", tmp_path / "id")
    for kind in ("html", "not-http"):
        port, stop, listener = hostile_server(kind, srv_crt, srv_key)
        try:
            cfg = tmp_path / f"{kind}.toml"
            cfg.write_text(f'[[runners]]\n  name = "k"\n  executor = "kubernetes"\n  [runners.kubernetes]\n'
                           f'    host = "https://127.0.0.1:{port}"\n    cert_file = "{tmp_path}/id/u.crt"\n'
                           f'    key_file = "{tmp_path}/id/u.key"\n    ca_file = "{ca_crt}"\n')
            r = run("doctor", "--config", cfg, "--online", "--json", "--timeout", "5")
            rep = json.loads(r.out)["runners"][0]
            codes = [f["code"] for f in rep["findings"]]
            assert r.code == 1 and "api-error" in codes, (kind, codes)
            assert rep["authenticated_as"] is None and "not-tls" not in codes, (kind, rep)
        finally:
            stop.set()
            listener.close()


def test_a_full_stdout_is_an_error_not_a_panic(tmp_path: Path) -> None:
    import subprocess

    from conftest import binary

    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "k"\n  executor = "kubernetes"\n')
    with open("/dev/full", "w") as full:
        for args in (["inspect", "--help"], ["runner-config", "show", "--config", str(cfg)],
                     ["runner-config", "set", "--config", str(cfg), "--runner", "k", "--namespace", "ci"]):
            p = subprocess.run([str(binary()), *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=30)
            if args[0] == "inspect":
                continue  # clap's own --help printing
            assert p.returncode == 2 and "panicked" not in p.stderr, p.stderr
            assert "cannot write the output" in p.stderr
    assert 'namespace = "ci"' in cfg.read_text()


def test_second_round_of_hostile_inputs(tmp_path: Path) -> None:
    import subprocess

    import runnerkey
    from conftest import binary

    ok("key", "generate", "--out", tmp_path / "q.key")
    # Standard input is bounded like a file.
    with open("/dev/zero", "rb") as zero:
        start = time.monotonic()
        p = subprocess.run([str(binary()), "k8s-csr", "import", "--from", "-", "--key", str(tmp_path / "q.key"),
                            "--out", str(tmp_path / "z.crt")], stdin=zero, capture_output=True, timeout=30)
        assert p.returncode == 2 and time.monotonic() - start < 5, p.stderr
    # Deep nesting through inspect's kubeconfig path.
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 100_000)
    start = time.monotonic()
    assert run("inspect", deep).code == 2 and time.monotonic() - start < 5
    # Credentials in the kubernetes host are hidden too, and refused for --server.
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "r"\n  executor = "kubernetes"\n  [runners.kubernetes]\n'
                   '    host = "https://kuser:KPW@k8s.example:6443"\n')
    for args in (["runner-config", "show", "--config", cfg], ["runner-config", "show", "--config", cfg, "--json"],
                 ["doctor", "--config", cfg, "--json"], ["runner-config", "lint", "--config", cfg]):
        r = run(*args)
        assert "KPW" not in r.out + r.err, args
    assert "KPW" not in str(runnerkey.RunnerConfig.load(cfg).list_runners())
    ok("ca", "init", "--out-dir", tmp_path / "ca")
    r = run("setup", "--config", cfg, "--runner", "r", "--server", "https://zz:SRVPW@k8s.example:6443",
            "--ca-dir", tmp_path / "ca", "--out-dir", tmp_path / "o", "--dry-run")
    assert r.code == 2 and "SRVPW" not in r.out + r.err, r
    # A newline in a file name cannot forge a line of a message.
    odd = tmp_path / "evil\nrunnerkey: all good.toml"
    odd.write_text("x = [\n")
    r = run("runner-config", "show", "--config", odd)
    assert r.code == 2 and r.err.count("\n") == 1 and "\\n" in r.err, r.err
    # A zero lifetime and an expiration beyond the API's int32 are refused.
    ca = runnerkey.CertificateAuthority.generate(algorithm="ecdsa-p256")
    try:
        ca.issue(user="x", days=0)
    except runnerkey.RunnerkeyError:
        pass
    else:
        raise AssertionError("a zero lifetime was accepted")
    r = run("k8s-csr", "create", "--key", tmp_path / "q.key", "--user", "x", "--name", "n",
            "--expiration", "9223372036854775807s")
    assert r.code == 2, r


def test_leftovers_of_a_killed_setup_are_cleaned_by_the_next_run(tmp_path: Path) -> None:
    ok("ca", "init", "--out-dir", tmp_path / "ca", "--algorithm", "ecdsa-p256")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "k"\n  executor = "kubernetes"\n')
    args = ["setup", "--ca-dir", tmp_path / "ca", "--server", "https://10.0.0.1:6443", "--runner", "k",
            "--config", cfg, "--out-dir", tmp_path / "ssl"]
    ok(*args)
    dead = "999999999"  # no such pid
    leftovers = [tmp_path / "ssl" / f".kubeconfig.runnerkey-{dead}-1.tmp",
                 tmp_path / f".config.toml.runnerkey-{dead}-3.tmp",
                 tmp_path / "ssl" / ".runnerkey" / f".current-pid{dead}-abcd.tmp-link",
                 tmp_path / "ssl" / ".runnerkey" / f"v-1-pid{dead}-abcdef"]
    for p in leftovers[:2]:
        p.write_text("secret")
    leftovers[2].symlink_to("nowhere")
    leftovers[3].mkdir()
    r = ok(*args)
    assert "nothing to do" in r.out
    assert not [p for p in leftovers if os.path.lexists(p)]


def test_writable_directories_above_a_key_are_warned_about(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    r = ok("key", "generate", "--out", shared / "k.pem")
    assert "writable by group or others" in r.err and str(shared) in r.err
    r = ok("key", "generate", "--out", tmp_path / "k.pem")
    assert "writable" not in r.err


def test_a_closed_pipe_is_quiet_and_keeps_the_outcome(tmp_path: Path) -> None:
    import subprocess

    from conftest import binary

    cfg = tmp_path / "config.toml"
    cfg.write_text("".join(f'[[runners]]\n  name = "r{i}"\n  executor = "kubernetes"\n' for i in range(2000)))
    p = subprocess.Popen([str(binary()), "runner-config", "show", "--config", str(cfg)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(10)
    p.stdout.close()
    err = p.stderr.read().decode()
    p.stderr.close()
    assert p.wait(timeout=30) == 0 and "panicked" not in err and err == "", err
