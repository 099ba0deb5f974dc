"""`k8s-csr submit` and `k8s-csr approve` against the stand-in API server's
certificates.k8s.io API and signer: the key stays here, the CA key is not
needed, the certificate is checked by openssl."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from cluster import make_ca, serving_cert, start_apiserver
from conftest import binary, ok, openssl, run

CSR_ADMIN = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: csr-admin}
rules:
- apiGroups: [certificates.k8s.io]
  resources: [certificatesigningrequests, certificatesigningrequests/approval]
  verbs: [create, get, delete, update]
- apiGroups: [certificates.k8s.io]
  resources: [signers]
  verbs: [approve]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: csr-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: csr-admin}
subjects: [{kind: User, name: csr-admin}]
"""


def cluster(tmp_path: Path, *, watch: bool = False, extra: list[str] | None = None):
    """The stand-in API server with a signer, and a kubeconfig for csr-admin,
    who may create, approve and delete CertificateSigningRequests (and
    list and watch them with `watch`)."""
    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    srv_crt, srv_key = serving_cert(tmp_path, ca_crt, ca_key)
    rbac = tmp_path / "rbac.yaml"
    rbac.write_text(CSR_ADMIN.replace("verbs: [create, get, delete, update]",
                                      "verbs: [create, get, delete, update, list, watch]" if watch else
                                      "verbs: [create, get, delete, update]"))
    srv = start_apiserver(srv_crt, srv_key, ca_crt, rbac=[rbac],
                          extra=["--signing-ca-cert", str(ca_crt), "--signing-ca-key", str(ca_key),
                                 "--request-log", str(tmp_path / "requests.log"), *(extra or [])])
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "csr-admin", "--out-dir", tmp_path / "admin")
    admin = tmp_path / "admin.kc"
    ok("kubeconfig", "--server", srv.url, "--ca", ca_crt, "--cert", tmp_path / "admin" / "csr-admin.crt",
       "--key", tmp_path / "admin" / "csr-admin.key", "--out", admin)
    return ca_crt, ca_key, srv, admin


def deny(url: str, tmp_path: Path, ca_crt: Path, name: str, reason: str, message: str) -> None:
    """csr-admin denies the request `name` through the approval subresource, as `kubectl certificate deny` does."""
    import ssl
    import urllib.request

    ctx = ssl.create_default_context(cafile=str(ca_crt))
    ctx.load_cert_chain(tmp_path / "admin" / "csr-admin.crt", tmp_path / "admin" / "csr-admin.key")
    body = json.dumps({"status": {"conditions": [{"type": "Denied", "status": "True", "reason": reason,
                                                  "message": message}]}}).encode()
    req = urllib.request.Request(f"{url}/apis/certificates.k8s.io/v1/certificatesigningrequests/{name}/approval",
                                 data=body, method="PUT", headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(req, context=ctx).status == 200


def test_submit_approve_wait_and_check(tmp_path: Path) -> None:
    ca_crt, ca_key, srv, kc = cluster(tmp_path)
    try:
        ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "nobody", "--out-dir", tmp_path / "nobody")
        ok("kubeconfig", "--server", srv.url, "--ca", ca_crt, "--cert", tmp_path / "nobody" / "nobody.crt",
           "--key", tmp_path / "nobody" / "nobody.key", "--out", tmp_path / "nobody.kc")
        # Submit and approve in one go: a fresh key made here, 0600.
        out = tmp_path / "runner" / "r.crt"
        r = ok("k8s-csr", "submit", "--kubeconfig", kc, "--key", tmp_path / "runner" / "r.key",
               "--user", "gitlab-runner:h1", "--group", "ci", "--approve", "--expiration", "1h", "--out", out)
        assert "approved here" in r.out
        assert (tmp_path / "runner" / "r.key").stat().st_mode & 0o777 == 0o600
        openssl("verify", "-purpose", "sslclient", "-CAfile", ca_crt, out)
        import runnerkey
        cert = runnerkey.Certificate.load(out)
        assert (cert.user, cert.groups) == ("gitlab-runner:h1", ["ci"])
        life = (cert.not_after - cert.not_before).total_seconds()
        assert 3600 <= life <= 3600 + 600, life
        assert runnerkey.verify(runnerkey.Certificate.load(ca_crt), cert,
                                runnerkey.PrivateKey.load(tmp_path / "runner" / "r.key")).ok, "the key made here"
        # Waiting for someone else's approval; approval checks the identity.
        waiting = subprocess.Popen([str(binary()), "k8s-csr", "submit", "--kubeconfig", str(kc), "--key",
                                    str(tmp_path / "h2.key"), "--user", "gitlab-runner:h2", "--name", "runner-h2",
                                    "--wait", "20s", "--out", str(tmp_path / "h2.crt")],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        wrong = run("k8s-csr", "approve", "runner-h2", "--kubeconfig", kc, "--expect-user", "gitlab-runner:h2",
                    "--expect-group", "system:masters")
        assert wrong.code == 1 and "not approved" in wrong.err, wrong
        denied = run("k8s-csr", "approve", "runner-h2", "--kubeconfig", tmp_path / "nobody.kc",
                     "--expect-user", "gitlab-runner:h2")
        # The cluster's refusal is an outcome (exit 1), not bad input.
        assert denied.code == 1 and "403" in denied.err, denied
        ok("k8s-csr", "approve", "runner-h2", "--kubeconfig", kc, "--expect-user", "gitlab-runner:h2")
        stdout, stderr = waiting.communicate(timeout=30)
        assert waiting.returncode == 0, stderr
        openssl("verify", "-purpose", "sslclient", "-CAfile", ca_crt, tmp_path / "h2.crt")
        # Nobody approves: the wait ends, nothing is written.
        late = run("k8s-csr", "submit", "--kubeconfig", kc, "--key", tmp_path / "h3.key", "--user", "h3",
                   "--wait", "2s", "--out", tmp_path / "h3.crt")
        assert late.code == 1 and "pending" in late.err and not (tmp_path / "h3.crt").exists(), late
        # Without the right to create CSRs: the API's 403, nothing written.
        no = run("k8s-csr", "submit", "--kubeconfig", tmp_path / "nobody.kc", "--key", tmp_path / "h4.key",
                 "--user", "h4", "--out", tmp_path / "h4.crt")
        assert no.code == 1 and "403" in no.err and not (tmp_path / "h4.crt").exists(), no
    finally:
        srv.stop()


def test_renew_through_the_csr_api_needs_no_ca_key(tmp_path: Path) -> None:
    ca_crt, ca_key, srv, admin = cluster(tmp_path)
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text('[[runners]]\n  name = "r"\n  executor = "kubernetes"\n')
        ok("setup", "--ca-cert", ca_crt, "--ca-key", ca_key, "--config", cfg, "--runner", "r", "--server", srv.url,
           "--out-dir", tmp_path / "ssl", "--user", "gitlab-runner:h1", "--group", "ci", "--days", "30", "-q")
        crt = tmp_path / "ssl" / "gitlab-runner:h1.crt"
        before = crt.read_bytes()
        # The CA key is not given: the cluster signs, the admin's kubeconfig approves.
        r = run("renew", "--config", cfg, "--runner", "r", "--kubeconfig", admin, "--approve", "--force", "--json")
        report = json.loads(r.out)
        assert r.code == 0 and report["renewed"] and report["online"]["result"] == "authenticated", (r, report)
        assert crt.read_bytes() != before
        openssl("verify", "-purpose", "sslclient", "-CAfile", ca_crt, crt)
        import runnerkey
        cert = runnerkey.Certificate.load(crt)
        assert (cert.user, cert.groups) == ("gitlab-runner:h1", ["ci"])
        assert 29 <= (cert.not_after - cert.not_before).days <= 30
        # k8s-csr submit reports as data too.
        sub = run("k8s-csr", "submit", "--kubeconfig", admin, "--key", tmp_path / "d.key", "--user", "d",
                  "--approve", "--out", tmp_path / "d.crt", "-o", "json")
        got = json.loads(sub.out)
        assert sub.code == 0 and got["user"] == "d" and got["submitted"]["approved_here"], sub
        # Without an approver the request stays pending; the old pair stays.
        now = crt.read_bytes()
        pending = run("renew", "--config", cfg, "--runner", "r", "--kubeconfig", admin, "--force", "--wait", "2s")
        assert pending.code == 1 and "pending" in pending.err and crt.read_bytes() == now, pending
    finally:
        srv.stop()


def test_setup_through_the_csr_api(tmp_path: Path) -> None:
    ca_crt, ca_key, srv, admin = cluster(tmp_path)
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text('[[runners]]\n  name = "r"\n  executor = "kubernetes"\n')
        args = ["setup", "--config", cfg, "--runner", "r", "--server", srv.url, "--out-dir", tmp_path / "ssl",
                "--user", "gitlab-runner:h9", "--kubeconfig", admin, "--approve", "-o", "json"]
        first = json.loads(ok(*args).out)
        assert first["changed"] and "signed elsewhere" in first["certificate_note"], first
        crt = tmp_path / "ssl" / "gitlab-runner:h9.crt"
        openssl("verify", "-purpose", "sslclient", "-CAfile", tmp_path / "ssl" / "ca.crt", crt)
        # A second run keeps the good certificate: nothing is sent, nothing changes.
        second = json.loads(ok(*args).out)
        assert not second["changed"], second
        check = json.loads(run("doctor", "--config", cfg, "--online", "--json").out)["runners"][0]
        assert check["authenticated_as"]["username"] == "gitlab-runner:h9"
    finally:
        srv.stop()


def test_what_an_attack_found(tmp_path: Path) -> None:
    """http:// servers, --out on the key, requests asking for more than an
    identity, odd names, the first setup's key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_crt, ca_key, srv, admin = cluster(tmp_path)
    try:
        plain = tmp_path / "plain.kc"
        plain.write_text(admin.read_text().replace("https://", "http://"))
        r = run("k8s-csr", "submit", "--kubeconfig", plain, "--key", tmp_path / "p.key", "--user", "p",
                "--out", tmp_path / "p.crt")
        assert r.code == 2 and "not https://" in r.err, r
        same = run("k8s-csr", "submit", "--kubeconfig", admin, "--key", tmp_path / "s.key", "--user", "s",
                   "--out", tmp_path / "." / "s.key", "--force")
        assert same.code == 2 and "is the key file" in same.err, same
        # A request with a subjectAltName: submitted, but never approved by runnerkey.
        key = ec.generate_private_key(ec.SECP256R1())
        (tmp_path / "san.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName("kubernetes.default")]), critical=False)
               .sign(key, hashes.SHA256()))
        (tmp_path / "san.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        left = run("k8s-csr", "submit", "--kubeconfig", admin, "--key", tmp_path / "san.key", "--csr",
                   tmp_path / "san.csr", "--name", "san", "--wait", "1s", "--out", tmp_path / "san.crt")
        assert left.code == 1 and "pending" in left.err, left
        refused = run("k8s-csr", "approve", "san", "--kubeconfig", admin, "--expect-user", "alice")
        assert refused.code == 1 and "besides the identity" in refused.err, refused
        # Denied by someone else: approve says so, with the reason given.
        deny(srv.url, tmp_path, ca_crt, "san", "NotOurs", "no SANs here")
        denied = run("k8s-csr", "approve", "san", "--kubeconfig", admin, "--expect-user", "alice")
        assert denied.code == 1 and "denied before it could be approved: NotOurs no SANs here" in denied.err, denied
        odd = run("k8s-csr", "approve", "san?dryRun=All", "--kubeconfig", admin, "--expect-user", "alice")
        assert odd.code == 2 and "invalid CertificateSigningRequest name" in odd.err, odd
        # The first setup through the CSR API says it created the key, and
        # the version before it is not a lone key.
        cfg = tmp_path / "config.toml"
        cfg.write_text('[[runners]]\n  name = "r"\n  executor = "kubernetes"\n')
        report = json.loads(ok("setup", "--config", cfg, "--runner", "r", "--server", srv.url, "--out-dir",
                               tmp_path / "ssl", "--kubeconfig", admin, "--approve", "-o", "json").out)
        key_action = next(f["action"] for f in report["files"] if f["path"].endswith(".key"))
        assert key_action == "created", report["files"]
        assert not (tmp_path / "ssl" / ".runnerkey" / "previous").exists()
    finally:
        srv.stop()


def approve_later(kc: Path, name: str, user: str, after: float) -> subprocess.Popen:
    """`k8s-csr approve` run by someone else, `after` seconds from now."""
    return subprocess.Popen(["sh", "-c", f'sleep {after} && exec "$0" "$@"', str(binary()), "k8s-csr", "approve",
                             name, "--kubeconfig", str(kc), "--expect-user", user],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_the_wait_watches_the_object_and_falls_back_to_polling(tmp_path: Path) -> None:
    """The certificate arrives by a watch on metadata.name, not by reading
    the object every second; a server that refuses to watch is polled."""
    for watch in (True, False):
        d = tmp_path / ("watch" if watch else "poll")
        d.mkdir()
        _, _, srv, kc = cluster(d, watch=watch, extra=[] if watch else ["--no-watch"])
        try:
            approver = approve_later(kc, "w1", "w1", 3.5)
            r = run("k8s-csr", "submit", "--kubeconfig", kc, "--key", d / "w1.key", "--user", "w1", "--name", "w1",
                    "--wait", "30s", "--out", d / "w1.crt")
            assert approver.wait(timeout=30) == 0, approver.stderr.read()
            approver.stderr.close()
            assert r.code == 0 and (d / "w1.crt").exists(), r
            log = (d / "requests.log").read_text().splitlines()
            path = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
            watches = [line for line in log if line.startswith(f"GET {path}?watch=true&fieldSelector=metadata.name%3Dw1&resourceVersion=")]
            reads = [line for line in log if line == f"GET {path}/w1"]
            assert watches, log
            if watch:
                # One read, then the watch brought the certificate.
                assert len(reads) <= 2, log
            else:
                # Refused (here 405), then polled about once a second.
                assert len(watches) == 1 and len(reads) >= 3, log
        finally:
            srv.stop()


def test_denied_is_final_and_a_clamped_lifetime_is_said(tmp_path: Path) -> None:
    ca_crt, _, srv, kc = cluster(tmp_path, watch=True, extra=["--cluster-signing-duration", "3600"])
    try:
        # Denied by someone else while we wait: exit 1 with the reason and message, nothing written.
        waiting = subprocess.Popen([str(binary()), "k8s-csr", "submit", "--kubeconfig", str(kc), "--key",
                                    str(tmp_path / "d.key"), "--user", "d", "--name", "d", "--wait", "30s",
                                    "--out", str(tmp_path / "d.crt")],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        deny(srv.url, tmp_path, ca_crt, "d", "NotThisHost", "host d is retired")
        _, stderr = waiting.communicate(timeout=30)
        assert waiting.returncode == 1, stderr
        assert "denied" in stderr and "NotThisHost" in stderr and "host d is retired" in stderr, stderr
        assert not (tmp_path / "d.crt").exists()
        # The signer clamps 48h to its --cluster-signing-duration of 1h: issued, and said.
        r = run("k8s-csr", "submit", "--kubeconfig", kc, "--key", tmp_path / "c.key", "--user", "c", "--approve",
                "--expiration", "48h", "--out", tmp_path / "c.crt")
        assert r.code == 0 and "less than the --expiration asked" in r.err, r
        import runnerkey
        cert = runnerkey.Certificate.load(tmp_path / "c.crt")
        assert (cert.not_after - cert.not_before).total_seconds() <= 3600 + 600
    finally:
        srv.stop()


def test_insecure_skip_tls_verify_is_refused_unless_accepted(tmp_path: Path) -> None:
    import yaml

    _, _, srv, kc = cluster(tmp_path)
    try:
        doc = yaml.safe_load(kc.read_text())
        cluster_entry = doc["clusters"][0]["cluster"]
        cluster_entry.pop("certificate-authority-data", None)
        cluster_entry.pop("certificate-authority", None)
        cluster_entry["insecure-skip-tls-verify"] = True
        insecure = tmp_path / "insecure.kc"
        insecure.write_text(yaml.safe_dump(doc))
        args = ["k8s-csr", "submit", "--kubeconfig", insecure, "--key", tmp_path / "i.key", "--user", "i",
                "--approve", "--out", tmp_path / "i.crt"]
        refused = run(*args)
        assert refused.code == 2 and "insecure-skip-tls-verify" in refused.err, refused
        assert not (tmp_path / "i.crt").exists()
        accepted = run(*args, "--insecure-skip-tls-verify")
        assert accepted.code == 0 and "not checked" in accepted.err, accepted
        # Not a way around a kubeconfig that does check: the flag changes nothing there.
        r = run("k8s-csr", "submit", "--kubeconfig", kc, "--key", tmp_path / "j.key", "--user", "j", "--approve",
                "--insecure-skip-tls-verify", "--out", tmp_path / "j.crt")
        assert r.code == 0 and "not checked" not in r.err, r
    finally:
        srv.stop()


def test_approve_without_expectations_approves_only_a_renewal_of_ones_own(tmp_path: Path) -> None:
    """A runner renews itself with its own kubeconfig; an approver that
    names no identity approves that, and nothing that asks for someone
    else or for a group the submitter does not hold."""
    ca_crt, ca_key, srv, admin = cluster(tmp_path, watch=True)
    try:
        requester = tmp_path / "requester.yaml"
        requester.write_text(CSR_ADMIN.replace("csr-admin", "csr-requester")
                             .replace("certificatesigningrequests/approval]", "certificatesigningrequests]")
                             .replace("- apiGroups: [certificates.k8s.io]\n  resources: [signers]\n  verbs: [approve]\n", "")
                             .replace("name: csr-requester}]", "name: gitlab-runners}]").replace("kind: User, name: gitlab-runners", "kind: Group, name: gitlab-runners"))
        srv.stop()
        srv = start_apiserver(*serving_cert(tmp_path, ca_crt, ca_key), ca_crt,
                              rbac=[tmp_path / "rbac.yaml", requester],
                              extra=["--signing-ca-cert", str(ca_crt), "--signing-ca-key", str(ca_key)])
        ok("kubeconfig", "--server", srv.url, "--ca", ca_crt, "--cert", tmp_path / "admin" / "csr-admin.crt",
           "--key", tmp_path / "admin" / "csr-admin.key", "--out", admin, "--force")
        ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "gitlab-runner:h5", "--group", "gitlab-runners",
           "--out-dir", tmp_path / "h5")
        own = tmp_path / "h5.kc"
        ok("kubeconfig", "--server", srv.url, "--ca", ca_crt, "--cert", tmp_path / "h5" / "gitlab-runner:h5.crt",
           "--key", tmp_path / "h5" / "gitlab-runner:h5.key", "--out", own)
        for name, user, groups in (("self", "gitlab-runner:h5", ["gitlab-runners"]),
                                   ("other", "gitlab-runner:h6", ["gitlab-runners"]),
                                   ("more", "gitlab-runner:h5", ["gitlab-runners", "admins"])):
            left = run("k8s-csr", "submit", "--kubeconfig", own, "--key", tmp_path / f"{name}.key", "--user", user,
                       *[x for g in groups for x in ("--group", g)], "--name", name, "--wait", "1s",
                       "--out", tmp_path / f"{name}.crt")
            assert left.code == 1 and "pending" in left.err, left
        r = run("k8s-csr", "approve", "self", "--kubeconfig", admin)
        assert r.code == 0 and 'gitlab-runner:h5' in r.out, r
        r = run("k8s-csr", "approve", "other", "--kubeconfig", admin)
        assert r.code == 1 and "submitted by" in r.err, r
        r = run("k8s-csr", "approve", "more", "--kubeconfig", admin)
        assert r.code == 1 and '"admins"' in r.err and "does not hold" in r.err, r
    finally:
        srv.stop()
