"""Token auth end to end against the stand-in API server's ServiceAccount
and TokenRequest API: `setup --auth token` writes a TokenRequest token to
bearer_token, `doctor --online` authenticates with it, `renew` rotates it
(format-preserving, backed up) when due and only then, `status` reads its
expiry, and every renewal attempt is recorded for the Prometheus file."""

from __future__ import annotations

import json
import os
import subprocess
import time
import tomllib
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

import runnerkey
from cluster import make_ca, serving_cert, start_apiserver
from conftest import ok, run

TOKEN_ADMIN = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: token-admin}
rules:
- apiGroups: [""]
  resources: [serviceaccounts, serviceaccounts/token]
  verbs: [get, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: token-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: token-admin}
subjects: [{kind: User, name: token-admin}]
"""

CONFIG = """# the runners of this host
concurrent = 4

[[runners]]
  name = "deploy"   # keep this comment
  url = "https://gitlab.example.com"
  token = "glrt-secret"
  executor = "kubernetes"
  [runners.kubernetes]
    image = "alpine:3.20"
    cert_file = "/old/cert.pem"
    key_file = "/old/key.pem"
"""


def cluster(tmp_path: Path, extra: list[str] | None = None):
    """The stand-in with the executor's RBAC for the runner's service
    account already applied, and kubeconfigs for token-admin and for someone
    who may do nothing."""
    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    srv_crt, srv_key = serving_cert(tmp_path, ca_crt, ca_key)
    admin_rbac = tmp_path / "admin-rbac.yaml"
    admin_rbac.write_text(TOKEN_ADMIN)
    runner_rbac = tmp_path / "runner-rbac.yaml"
    # As setup's rbac.yaml grants it: the executor profile, and the auditor's rights doctor needs.
    runner_rbac.write_text(ok("rbac", "--service-account", "gitlab-runner/runner", "--profile", "executor").out
                           + ok("rbac", "--service-account", "gitlab-runner/runner", "--profile", "auditor",
                                "--no-namespaces").out)
    srv = start_apiserver(srv_crt, srv_key, ca_crt, rbac=[admin_rbac, runner_rbac], extra=extra)
    kcs = {}
    for user in ("token-admin", "nobody"):
        ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", user, "--out-dir", tmp_path / user)
        kcs[user] = tmp_path / f"{user}.kc"
        ok("kubeconfig", "--server", srv.url, "--ca", ca_crt, "--cert", tmp_path / user / f"{user}.crt",
           "--key", tmp_path / user / f"{user}.key", "--out", kcs[user])
    return srv, kcs


def samples(text: str) -> dict[tuple[str, str], float]:
    return {(s.name, s.labels.get("runner", "")): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_setup_doctor_status_renew_with_a_token(tmp_path: Path) -> None:
    srv, kcs = cluster(tmp_path)
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text(CONFIG)
        args = ["setup", "--config", cfg, "--runner", "deploy", "--server", srv.url, "--out-dir", tmp_path / "ssl",
                "--auth", "token", "--kubeconfig", kcs["token-admin"], "--service-account", "runner",
                "--token-duration", "1h"]
        first = ok(*args)
        runner = tomllib.loads(cfg.read_text())["runners"][0]
        k = runner["kubernetes"]
        token = k["bearer_token"]
        assert token.count(".") == 2 and "cert_file" not in k and "key_file" not in k, k
        assert (k["host"], k["ca_file"], k["service_account"]) == (
            srv.url, str(tmp_path / "ssl" / "ca.crt"), "gitlab-deployer")
        assert k["image"] == "alpine:3.20" and "# keep this comment" in cfg.read_text()
        assert token not in first.out + first.err, "the token is never printed"
        assert "created the service account gitlab-runner/runner" in first.err, first
        assert "system:serviceaccount:gitlab-runner:runner" in (tmp_path / "ssl" / "rbac.yaml").read_text()
        # The API server takes the token for the service account.
        check = json.loads(run("doctor", "--config", cfg, "--online", "--json").out)["runners"][0]
        assert check["authenticated_as"]["username"] == "system:serviceaccount:gitlab-runner:runner", check
        # Again: the token is kept, nothing changes.
        mtime = cfg.stat().st_mtime_ns
        second = json.loads(ok(*args, "-o", "json").out)
        assert not second["changed"] and second["credential"] == "bearer-token", second
        assert cfg.stat().st_mtime_ns == mtime
        # Status reads the token's expiry.
        status = json.loads(ok("status", "--config", cfg, "--json").out)["runners"][0]
        assert (status["credential"], status["user"]) == ("bearer-token", "system:serviceaccount:gitlab-runner:runner")
        assert 3500 <= status["seconds_left"] <= 3600 and not status["renewal_due"], status
        # Not due: renew changes nothing at all.
        before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
        quiet = ok("renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", kcs["token-admin"])
        assert "nothing to do" in quiet.out, quiet
        assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == before
        # Due (forced here): a new token, authenticated, written in place of the old one only.
        text = cfg.read_text()
        r = run("renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", kcs["token-admin"], "--force",
                "--json")
        report = json.loads(r.out)
        assert r.code == 0 and report["renewed"] and report["credential"] == "bearer-token", (r, report)
        assert report["online"] == {"result": "authenticated", "user": "system:serviceaccount:gitlab-runner:runner"}
        new = tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]["bearer_token"]
        assert new != token and new not in r.out + r.err
        assert cfg.read_text() == text.replace(token, new)
        backups = list(tmp_path.glob("config.toml.*.bak"))
        assert any(b.read_text() == text for b in backups), backups
        # The old token's successor works; status says the renewal happened.
        check = json.loads(run("doctor", "--config", cfg, "--online", "--json").out)["runners"][0]
        assert check["authenticated_as"]["username"] == "system:serviceaccount:gitlab-runner:runner"
        status = runnerkey.status(cfg)["runners"][0]
        assert status["last_renewal"]["ok"] and status["last_renewal"]["failures_total"] == 0, status
        # A renewal that fails (no right to create tokens) keeps the token and is counted.
        denied = run("renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", kcs["nobody"], "--force")
        assert denied.code == 1 and "403" in denied.err, denied
        assert tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]["bearer_token"] == new
        prom = tmp_path / "runnerkey.prom"
        shown = run("status", "--config", cfg, "--prometheus", prom)
        assert "last renewal failed" in shown.out and "1 failed attempt" in shown.out, shown
        got = samples(prom.read_text())
        assert got[("runnerkey_renewal_failures_total", "deploy")] == 1
        assert got[("runnerkey_last_renewal_success", "deploy")] == 0
        assert abs(got[("runnerkey_bearer_token_expiry_timestamp_seconds", "deploy")] - (time.time() + 3600)) < 120
        assert new not in prom.read_text()
    finally:
        srv.stop()


def test_the_server_shortens_the_token_and_python_asks_for_one(tmp_path: Path) -> None:
    srv, kcs = cluster(tmp_path, extra=["--service-account-max-token-expiration", "1800",
                                        "--service-account", "gitlab-runner/runner"])
    try:
        got = runnerkey.request_token(namespace="gitlab-runner", service_account="runner",
                                      kubeconfig=kcs["token-admin"], duration="2h")
        assert got["clamped"] and 1700 <= got["lifetime_seconds"] <= 1800, {k: v for k, v in got.items() if k != "token"}
        assert got["user"] == "system:serviceaccount:gitlab-runner:runner" and not got["created_service_account"]
        cfg = tmp_path / "config.toml"
        cfg.write_text(CONFIG)
        report = runnerkey.setup(config=cfg, runner="deploy", server=srv.url, kubeconfig=kcs["token-admin"],
                                 out_dir=tmp_path / "ssl", auth="token", token_service_account="runner",
                                 token_duration="2h")
        assert report["credential"] == "bearer-token" and report["changed"]
        assert any("less than the 7200 s asked" in w for w in report["warnings"]), report["warnings"]
        # Too short a token is refused before anything is sent.
        r = run("setup", "--config", cfg, "--runner", "deploy", "--server", srv.url, "--out-dir", tmp_path / "ssl",
                "--auth", "token", "--kubeconfig", kcs["token-admin"], "--service-account", "runner",
                "--token-duration", "5m", "--force")
        assert r.code == 2 and "at least 10 minutes" in r.err, r
        # --auth token without the runner's service account, or without a kubeconfig.
        r = run("setup", "--config", cfg, "--runner", "deploy", "--server", srv.url, "--auth", "token",
                "--kubeconfig", kcs["token-admin"])
        assert r.code == 2 and "--service-account" in r.err, r
        # A CA cannot renew a token runner.
        ca_crt, ca_key = make_ca(tmp_path, "other")
        r = run("renew", "--config", cfg, "--runner", "deploy", "--ca-cert", ca_crt, "--ca-key", ca_key, "--force")
        assert r.code == 2 and "bearer token" in r.err, r
    finally:
        srv.stop()


def test_the_systemd_units_renew_a_token_runner(tmp_path: Path) -> None:
    """The installed template, timer and drop-ins pass systemd-analyze, and
    the instance's ExecStart, run as it stands, renews the token; the
    gitlab-runner ExecStartPre check passes on a good token and fails, saying
    why, on a config whose token has expired."""
    import shlex
    import shutil

    assert shutil.which("systemd-analyze"), "scripts/test.sh installs systemd"
    srv, kcs = cluster(tmp_path)
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text(CONFIG)
        ok("setup", "--config", cfg, "--runner", "deploy", "--server", srv.url, "--out-dir", tmp_path / "ssl",
           "--auth", "token", "--kubeconfig", kcs["token-admin"], "--service-account", "runner", "-q")
        root = tmp_path / "root"
        r = ok("systemd", "--config", cfg, "--runner", "deploy", "--kubeconfig", kcs["token-admin"],
               "--install", "--root", root)
        units = root / "etc" / "systemd" / "system"
        assert "systemctl enable --now 'runnerkey-renew@deploy.timer'" in r.out, r.out
        (units / "gitlab-runner.service").write_text(
            "[Unit]\nDescription=GitLab Runner\n[Service]\nExecStart=/bin/true\n")
        env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{units}:"}
        v = subprocess.run(["systemd-analyze", "verify", "runnerkey-renew@deploy.service",
                            "runnerkey-renew@deploy.timer", "gitlab-runner.service"],
                           capture_output=True, text=True, env=env)
        assert v.returncode == 0 or "sysinit.target" in v.stderr and "bad unit" not in v.stderr, v.stderr
        timer = (units / "runnerkey-renew@.timer").read_text()
        assert "OnUnitActiveSec=5min" in timer and "RandomizedDelaySec=10min" in timer
        dropin = (units / "runnerkey-renew@deploy.service.d" / "runnerkey.conf").read_text()
        exec_line = [line for line in dropin.splitlines() if line.startswith("ExecStart=")][-1]
        argv = shlex.split(exec_line.removeprefix("ExecStart="))
        assert f"--kubeconfig={kcs['token-admin']}" in argv and "--runner=deploy" in argv, argv
        assert "--expect-service-account=gitlab-runner/runner" in argv, argv
        assert f"ReadWritePaths={tmp_path}" in dropin
        token = tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]["bearer_token"]
        done = subprocess.run([*argv, "--force", "--json"], capture_output=True, text=True)
        assert done.returncode == 0 and json.loads(done.stdout)["renewed"], done.stderr
        assert tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]["bearer_token"] != token
        pre = (units / "gitlab-runner.service.d" / "runnerkey.conf").read_text()
        check = shlex.split(next(x for x in pre.splitlines() if x.startswith("ExecStartPre=")).removeprefix(
            "ExecStartPre="))
        assert subprocess.run(check, capture_output=True).returncode == 0
        import base64
        expired = base64.urlsafe_b64encode(json.dumps(
            {"sub": "system:serviceaccount:gitlab-runner:runner", "iat": 1000, "exp": 2000}).encode()).decode().rstrip("=")
        cfg.write_text(cfg.read_text().replace(
            tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]["bearer_token"], f"e30.{expired}.c2ln"))
        bad = subprocess.run(check, capture_output=True, text=True)
        assert bad.returncode == 1 and "cannot authenticate" in bad.stderr and "expired" in bad.stderr, bad
    finally:
        srv.stop()


def forged(claims: dict) -> str:
    """An unsigned JWT-shaped token with these claims."""
    import base64
    part = lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part({'alg': 'none'})}.{part(claims)}.c2ln"


def test_what_an_attack_found(tmp_path: Path) -> None:
    """A forged token naming another account, a world-readable config, odd
    claims, a CA for a token runner's timer, and the way back to a
    certificate."""
    srv, kcs = cluster(tmp_path, extra=["--service-account", "kube-system/powerful"])
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text(CONFIG)
        cfg.chmod(0o644)
        r = ok("setup", "--config", cfg, "--runner", "deploy", "--server", srv.url, "--out-dir", tmp_path / "ssl",
               "--auth", "token", "--kubeconfig", kcs["token-admin"], "--service-account", "runner")
        # The token is a secret: config.toml and its backup are the owner's alone now, and it says so.
        assert cfg.stat().st_mode & 0o777 == 0o600 and "was mode 644" in r.err, r
        assert all(b.stat().st_mode & 0o077 == 0 for b in tmp_path.glob("config.toml.*.bak"))
        good = cfg.read_text()
        token = tomllib.loads(good)["runners"][0]["kubernetes"]["bearer_token"]
        # Someone who may edit config.toml writes a token naming another account, due for renewal:
        # renew does not mint a token for it — the API server does not vouch for the forged one.
        now = int(time.time())
        fake = forged({"sub": "system:serviceaccount:kube-system:powerful", "iat": now - 3000, "exp": now + 600})
        cfg.write_text(good.replace(token, fake))
        r = run("renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", kcs["token-admin"])
        # Setup pinned the account: refused before the cluster is even asked.
        assert r.code == 1 and "not the service account gitlab-runner/runner as setup pinned it" in r.err, r
        assert tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]["bearer_token"] == fake
        # Without the pin (an older setup), the cluster does not vouch for the forged token.
        pins = list(Path(os.environ["RUNNERKEY_STATE_DIR"], "pins").glob("*.json"))
        pin = next(p for p in pins if str(cfg) in p.read_text() and '"deploy"' in p.read_text())
        saved_pin = pin.read_bytes()
        pin.unlink()
        r = run("renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", kcs["token-admin"])
        assert r.code == 1 and "not vouched for" in r.err, r
        pin.write_bytes(saved_pin)
        pin.chmod(0o600)
        # Nor when config.toml's host points at a server of the attacker's that vouches for it:
        # the token is shown to the cluster the kubeconfig names, not to config.toml's host.
        ca_crt, ca_key = tmp_path / "cluster" / "ca.crt", tmp_path / "cluster" / "ca.key"
        (tmp_path / "liar").mkdir()
        liar = start_apiserver(*serving_cert(tmp_path / "liar", ca_crt, ca_key), ca_crt,
                               tokens={fake: "system:serviceaccount:kube-system:powerful"},
                               extra=["--request-log", str(tmp_path / "liar.log")])
        try:
            cfg.write_text(good.replace(token, fake).replace(srv.url, liar.url))
            pin.unlink()
            r = run("renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", kcs["token-admin"])
            assert r.code == 1 and "not vouched for" in r.err, r
            pin.write_bytes(saved_pin)
            pin.chmod(0o600)
            # A genuine renewal never shows the new token to config.toml's host either:
            # the cluster that issued it vouches for it.
            cfg.write_text(good.replace(srv.url, liar.url))
            r = run("renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", kcs["token-admin"], "--force")
            assert r.code == 0, r
            assert not (tmp_path / "liar.log").exists() or not (tmp_path / "liar.log").read_text(), "liar was asked"
        finally:
            liar.stop()
        # A real token for another account of the cluster is not renewed when the account is pinned.
        cfg.write_text(good)
        r = run("renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", kcs["token-admin"], "--force",
                "--expect-service-account", "gitlab-runner/someone-else")
        assert r.code == 1 and "must be for the service account gitlab-runner/someone-else" in r.err, r
        # Claims that cannot be judged: a problem for status (the gitlab-runner check fails), an error for renew.
        for exp in ("soon", 1e300, -99999999999999):
            cfg.write_text(good.replace(token, forged({"sub": "system:serviceaccount:gitlab-runner:runner",
                                                        "iat": now, "exp": exp})))
            s = run("status", "--config", cfg, "--require-usable")
            assert s.code == 1 and "cannot be judged" in s.err + s.out, (exp, s)
            r = run("renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", kcs["token-admin"], "--force")
            assert r.code == 2 and "cannot be judged" in r.err, (exp, r)
        # No iat, but an exp in the past: expired all the same.
        cfg.write_text(good.replace(token, forged({"sub": "system:serviceaccount:gitlab-runner:runner", "exp": 1})))
        s = run("status", "--config", cfg, "--require-usable")
        assert s.code == 1 and "expired" in s.err, s
        # A token written by runner-config set makes the file the owner's alone too.
        cfg.write_text(CONFIG)
        cfg.chmod(0o644)
        (tmp_path / "tok").write_text(token)
        r = ok("runner-config", "set", "--config", cfg, "--runner", "deploy", "--bearer-token-file", tmp_path / "tok")
        assert cfg.stat().st_mode & 0o777 == 0o600 and "holds a bearer token" in r.err, r
        # A token runner's timer needs a kubeconfig, not a CA.
        cfg.write_text(good)
        ca_crt, ca_key = make_ca(tmp_path, "other")
        r = run("systemd", "--config", cfg, "--runner", "deploy", "--ca-cert", ca_crt, "--ca-key", ca_key)
        assert r.code == 2 and "needs a kubeconfig" in r.err, r
        # Back to a certificate: the token goes, as cert_file and key_file went the other way.
        ok("setup", "--config", cfg, "--runner", "deploy", "--server", srv.url, "--out-dir", tmp_path / "ssl2",
           "--ca-cert", ca_crt, "--ca-key", ca_key, "-q")
        k = tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]
        assert "bearer_token" not in k and "cert_file" in k, k
    finally:
        srv.stop()


def test_setup_refuses_a_token_it_cannot_trust(tmp_path: Path) -> None:
    """A TokenRequest answer that is opaque, for another account, already
    ended by its own exp, or that the server will not vouch for: setup
    writes nothing."""
    import http.server
    import ssl
    import threading

    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    srv_crt, srv_key = serving_cert(tmp_path, ca_crt, ca_key)
    now = int(time.time())
    runner = "system:serviceaccount:gitlab-runner:runner"
    cases = {
        "opaque": ("opaque-token-value", 201, "not a JWT"),
        "other account": (forged({"sub": "system:serviceaccount:kube-system:admin", "iat": now, "exp": now + 3600}),
                          201, "it is for"),
        "ended": (forged({"sub": runner, "iat": now - 3700, "exp": now - 100}), 201, "it ends at"),
        "not vouched": (forged({"sub": runner, "iat": now, "exp": now + 3600}), 500, "did not vouch"),
    }
    state: dict = {}

    class Fake(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.answer(200, {"kind": "ServiceAccount", "metadata": {"name": "runner"}})

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.endswith("/token"):
                expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))
                self.answer(201, {"kind": "TokenRequest", "status": {"token": state["token"],
                                                                     "expirationTimestamp": expires}})
            elif self.path.endswith("/selfsubjectreviews"):
                self.answer(state["review"], {"kind": "SelfSubjectReview",
                                              "status": {"userInfo": {"username": runner}}})
            else:
                self.answer(404, {})

        def answer(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(srv_crt, srv_key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}"
    try:
        ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "token-admin", "--out-dir", tmp_path / "a")
        kc = tmp_path / "admin.kc"
        ok("kubeconfig", "--server", url, "--ca", ca_crt, "--cert", tmp_path / "a" / "token-admin.crt",
           "--key", tmp_path / "a" / "token-admin.key", "--out", kc)
        cfg = tmp_path / "config.toml"
        cfg.write_text(CONFIG)
        for name, (token, review, needle) in cases.items():
            state.update(token=token, review=review)
            r = run("setup", "--config", cfg, "--runner", "deploy", "--server", url, "--out-dir", tmp_path / "ssl",
                    "--auth", "token", "--kubeconfig", kc, "--service-account", "runner")
            assert r.code == 1 and needle in r.err and token not in r.err, (name, r)
            assert cfg.read_text() == CONFIG, name
        state.update(token=cases["not vouched"][0], review=201)
        ok("setup", "--config", cfg, "--runner", "deploy", "--server", url, "--out-dir", tmp_path / "ssl",
           "--auth", "token", "--kubeconfig", kc, "--service-account", "runner", "-q")
    finally:
        httpd.shutdown()
        httpd.server_close()
