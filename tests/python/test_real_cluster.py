"""runnerkey against a real control plane: kube-apiserver, kube-controller-
manager (its CSR signer, approver and cleaner) and etcd, built from the
official modules at the pinned release and started on loopback
(tests/python/control_plane.py). kubectl, the API server's RBAC and
admission, and kube-controller-manager's signer are the judges."""

from __future__ import annotations

import base64
import json
import tomllib
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from control_plane import ControlPlane
from conftest import fixture, ok, openssl, run

CONFIG = fixture("runner-configs", "gitlabhq_gitlab-runner_register-merged.toml")


def runner_host(tmp_path: Path) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(CONFIG.read_bytes())
    return cfg


def promised(namespace: str) -> list[tuple[str, str, str, str]]:
    """Every (verb, resource, subresource, group) the executor profile grants,
    from the manifests runnerkey writes."""
    out = []
    for doc in yaml.safe_load_all(ok("rbac", "--user", "u", "--profile", "executor", "--namespace", namespace).out):
        if not doc or doc["kind"] not in ("Role", "ClusterRole"):
            continue
        for rule in doc["rules"]:
            for group in rule.get("apiGroups", [""]):
                for res in rule["resources"]:
                    resource, _, sub = res.partition("/")
                    for verb in rule["verbs"]:
                        out.append((verb, resource, sub, group))
    assert len(out) >= 10, out
    return out


def can_i(cp: ControlPlane, kubeconfig: Path, verb: str, resource: str, sub: str, group: str,
          namespace: str) -> bool:
    what = f"{resource}.{group}" if group else resource
    args = ["auth", "can-i", verb, what, "-n", namespace]
    if sub:
        args += ["--subresource", sub]
    p = cp.kubectl(*args, kubeconfig=kubeconfig, check=False)
    assert p.stdout.strip() in ("yes", "no"), (args, p.stdout, p.stderr)
    return p.stdout.strip() == "yes"


def doctor_passes_but_the_ca_key(cfg: Path, ca_key: Path | None) -> None:
    """doctor --online passes — but for the CA key setup signed with on this
    host (`ca_key`), which it reports (an error) as long as it is here."""
    r = run("doctor", "--config", cfg, "--runner", "test-runner", "--online", "--json")
    errors = [f for f in json.loads(r.out)["runners"][0]["findings"] if f["severity"] == "error"]
    if ca_key is None:
        assert r.code == 0, errors
    else:
        assert r.code == 1 and [f["code"] for f in errors] == ["ca-key-on-runner-host"], errors
        assert str(ca_key) in errors[0]["message"], errors


def check_runner_identity(cp: ControlPlane, cfg: Path, ssl: Path, namespace: str,
                          ca_key: Path | None = None) -> None:
    """rbac.yaml exactly as setup wrote it applies on the cluster; the runner's
    own kubeconfig then may do everything the executor profile promises and
    nothing it does not; doctor --online agrees (`ca_key`: the CA key setup
    signed with here, which it reports)."""
    cp.kubectl("apply", "-f", ssl / "rbac.yaml")
    kc = ssl / "kubeconfig"
    denied = [p for p in promised(namespace) if not can_i(cp, kc, *p, namespace)]
    assert not denied, denied
    assert not can_i(cp, kc, "delete", "nodes", "", "", namespace)
    assert not can_i(cp, kc, "get", "secrets", "", "", "kube-system")
    who = cp.kubectl("auth", "whoami", "-o", "json", kubeconfig=kc)
    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == "gitlab-admin"
    doctor_passes_but_the_ca_key(cfg, ca_key)


def test_seed_scenario_with_the_ca_at_hand(control_plane: ControlPlane, tmp_path: Path) -> None:
    cfg = runner_host(tmp_path)
    ssl = tmp_path / "ssl"
    ok("setup", "--ca-dir", control_plane.pki, "--server", control_plane.server, "--runner", "test-runner",
       "--config", cfg, "--out-dir", ssl, "--namespace", "ci-ca", "--service-account", "deployer")
    openssl("verify", "-purpose", "sslclient", "-CAfile", control_plane.ca, ssl / "gitlab-admin.crt")
    check_runner_identity(control_plane, cfg, ssl, "ci-ca", control_plane.pki / "ca.key")


def test_seed_scenario_through_the_csr_api(control_plane: ControlPlane, tmp_path: Path) -> None:
    """No CA key: kube-controller-manager's signer issues the certificate."""
    cfg = runner_host(tmp_path)
    ssl = tmp_path / "ssl"
    r = ok("setup", "--kubeconfig", control_plane.admin, "--approve", "--server", control_plane.server,
           "--runner", "test-runner", "--config", cfg, "--out-dir", ssl, "--namespace", "ci-api",
           "--service-account", "deployer")
    kube = tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]
    assert kube["host"] == control_plane.server, r
    openssl("verify", "-purpose", "sslclient", "-CAfile", control_plane.ca, ssl / "gitlab-admin.crt")
    check_runner_identity(control_plane, cfg, ssl, "ci-api")


def csr_pem(cn: str, groups: list[str]) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    names += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    return (x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names)).sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM))


def test_the_pem_differential_is_real_and_runnerkey_refuses_it(control_plane: ControlPlane,
                                                               tmp_path: Path) -> None:
    """kube-apiserver accepts `"x" + PEM(runner) + PEM(kubernetes-admin,
    kubeadm:cluster-admins)` and kube-controller-manager signs the second
    block: the attack is real. runnerkey's approver refuses it; approved by
    hand, the signer issues the admin identity — which is what runnerkey's
    verdict was about. (With O=system:masters the API server's own
    validation, which reads the second block too, refuses the object.)"""
    cp = control_plane
    masters = b"x" + csr_pem("gitlab-runner:h1", ["gitlab-runners"]) + csr_pem("gitlab-runner:h1",
                                                                              ["system:masters"])
    refused = cp.kubectl("create", "-f", "-", check=False, input=json.dumps({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": "masters"},
        "spec": {"request": base64.b64encode(masters).decode(), "signerName": "kubernetes.io/kube-apiserver-client",
                 "usages": ["client auth"]}}))
    assert refused.returncode != 0 and "system:masters" in refused.stderr, refused
    request = b"x" + csr_pem("gitlab-runner:h1", ["gitlab-runners"]) + csr_pem("kubernetes-admin",
                                                                              ["kubeadm:cluster-admins"])
    obj = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
           "metadata": {"name": "differential"},
           "spec": {"request": base64.b64encode(request).decode(),
                    "signerName": "kubernetes.io/kube-apiserver-client",
                    "usages": ["client auth", "digital signature"], "expirationSeconds": 3600}}
    cp.kubectl("create", "-f", "-", input=json.dumps(obj))
    r = run("k8s-csr", "approve", "differential", "--kubeconfig", cp.admin, "--expect-user", "gitlab-runner:h1",
            "--expect-group", "gitlab-runners")
    assert r.code == 1 and "not alone" in r.err, r
    got = json.loads(cp.kubectl("get", "csr", "differential", "-o", "json").stdout)
    assert not got.get("status", {}).get("conditions"), got
    # What the signer would have issued, had it been approved.
    cp.kubectl("certificate", "approve", "differential")
    for _ in range(60):
        got = json.loads(cp.kubectl("get", "csr", "differential", "-o", "json").stdout)
        if got.get("status", {}).get("certificate"):
            break
        __import__("time").sleep(0.5)
    cert = x509.load_pem_x509_certificate(base64.b64decode(got["status"]["certificate"]))
    groups = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert groups == ["kubeadm:cluster-admins"], groups
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes-admin"
    cp.kubectl("delete", "csr", "differential")


TOKEN_CONFIG = """[[runners]]
  name = "deploy"
  url = "https://gitlab.example.com"
  token = "glrt-secret"
  executor = "kubernetes"
  [runners.kubernetes]
    image = "alpine:3.20"
"""


def test_token_setup_on_a_fresh_cluster_creates_the_namespace(control_plane: ControlPlane,
                                                              tmp_path: Path) -> None:
    """The documented token quick start on a cluster where the runner's
    namespace does not exist yet: the namespace, the service account and a
    TokenRequest token; rbac.yaml applies; the token authenticates; renew
    and status work."""
    cp = control_plane
    assert cp.kubectl("get", "namespace", "token-quickstart", check=False).returncode != 0, "fresh"
    cfg = tmp_path / "config.toml"
    cfg.write_text(TOKEN_CONFIG)
    ssl = tmp_path / "ssl"
    r = ok("setup", "--config", cfg, "--runner", "deploy", "--server", cp.server, "--out-dir", ssl,
           "--auth", "token", "--kubeconfig", cp.admin, "--service-account", "runner", "--token-duration", "1h", "--namespace", "token-quickstart")
    assert "created the service account token-quickstart/runner" in r.err, r
    cp.kubectl("apply", "-f", ssl / "rbac.yaml")
    k = tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]
    doctor = json.loads(run("doctor", "--config", cfg, "--online", "--json").out)["runners"][0]
    assert doctor["authenticated_as"]["username"] == "system:serviceaccount:token-quickstart:runner", doctor
    renewed = ok("renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", cp.admin, "--force")
    assert "system:serviceaccount:token-quickstart:runner" in renewed.out, renewed
    assert tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]["bearer_token"] != k["bearer_token"]
    status = json.loads(ok("status", "--config", cfg, "--json").out)["runners"][0]
    assert status["credential"] == "bearer-token" and not status["expired"] and status["problem"] is None, status


def blog_identity(cp: ControlPlane, d: Path, user: str = "gitlab-admin") -> tuple[Path, Path]:
    """The blog recipe, with openssl: a key, a CSR with CN=gitlab-admin, an
    X.509 v1 certificate for 1000 days from the cluster CA."""
    d.mkdir(parents=True, exist_ok=True)
    key, csr, crt = d / f"{user}.key", d / f"{user}.csr", d / f"{user}.crt"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={user}")
    openssl("x509", "-req", "-in", csr, "-CA", cp.ca, "-CAkey", cp.ca_key, "-CAcreateserial",
            "-out", crt, "-days", "1000")
    return crt, key


def runner_config(tmp_path: Path, server: str, crt: Path, key: Path, ca: Path, namespace: str = "blog") -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\nname = "test-runner"\nurl = "https://gitlab.example.com"\ntoken = "glrt-x"\n'
                   'executor = "kubernetes"\n[runners.kubernetes]\n'
                   f'host = "{server}"\nnamespace = "{namespace}"\ncert_file = "{crt}"\nkey_file = "{key}"\n'
                   f'ca_file = "{ca}"\n')
    return cfg


def doctor(cfg: Path) -> tuple[int, dict, str]:
    r = run("doctor", "--config", cfg, "--online", "--json")
    text = run("doctor", "--config", cfg, "--online")
    return r.code, json.loads(r.out)["runners"][0], text.out


def test_doctor_on_the_blog_identity_and_its_cluster_admin_bindings(control_plane: ControlPlane,
                                                                     tmp_path: Path) -> None:
    """The blog identity with its two cluster-admin bindings: doctor names
    both; the `kubectl delete …` it prints, run as printed, remove them; with
    least-privilege RBAC applied instead, doctor passes."""
    cp = control_plane
    crt, key = blog_identity(cp, tmp_path / "blog")
    cp.kubectl("create", "namespace", "blog")
    cp.kubectl("create", "clusterrolebinding", "gitlab-admin", "--clusterrole=cluster-admin", "--user=gitlab-admin")
    cp.kubectl("create", "clusterrolebinding", "blog-default-admin", "--clusterrole=cluster-admin",
               "--serviceaccount=blog:default")
    cfg = runner_config(tmp_path, cp.server, crt, key, cp.ca)
    code, report, text = doctor(cfg)
    codes = {f["code"] for f in report["findings"]}
    assert code == 1 and {"runner-cluster-admin", "job-cluster-admin"} <= codes, codes
    deletes = [line.strip().removeprefix("$ ") for line in text.splitlines()
               if line.strip().removeprefix("$ ").startswith("kubectl delete")]
    assert deletes and any("gitlab-admin" in c and "blog-default-admin" in c for c in deletes), text
    import os
    import subprocess
    for command in dict.fromkeys(deletes):
        # As printed (each distinct line once), by a shell, as the admin.
        p = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "KUBECONFIG": str(cp.admin)})
        assert p.returncode == 0, (command, p.stderr)
    assert cp.kubectl("get", "clusterrolebinding", "gitlab-admin", check=False).returncode != 0
    rbac = tmp_path / "rbac.yaml"
    rbac.write_text(ok("rbac", "--user", "gitlab-admin", "--profile", "executor", "--namespace", "blog").out)
    cp.kubectl("apply", "-f", rbac)
    code, report, text = doctor(cfg)
    codes = {f["code"] for f in report["findings"] if f["severity"] == "error"}
    assert not codes & {"runner-cluster-admin", "job-cluster-admin"}, codes
    assert report["authenticated_as"]["username"] == "gitlab-admin"


def test_doctor_classifies_what_the_real_api_server_answers(control_plane: ControlPlane, tmp_path: Path) -> None:
    cp = control_plane
    # Unknown CA: a client certificate from a CA the API server does not trust: 401.
    other_crt, other_key = tmp_path / "other" / "ca.crt", tmp_path / "other" / "ca.key"
    ok("ca", "init", "--out-dir", tmp_path / "other")
    ok("issue", "--ca-cert", other_crt, "--ca-key", other_key, "--user", "stranger", "--out-dir", tmp_path / "s")
    cfg = runner_config(tmp_path, cp.server, tmp_path / "s" / "stranger.crt", tmp_path / "s" / "stranger.key",
                        cp.ca)
    code, report, _ = doctor(cfg)
    assert code == 1 and "client-cert-rejected" in {f["code"] for f in report["findings"]}, report["findings"]
    # No RBAC: authenticated, every permission denied (403), named as such.
    ok("issue", "--ca-dir", cp.pki, "--user", "nobody", "--out-dir", tmp_path / "n")
    cfg = runner_config(tmp_path, cp.server, tmp_path / "n" / "nobody.crt", tmp_path / "n" / "nobody.key", cp.ca)
    code, report, _ = doctor(cfg)
    assert code == 1 and report["authenticated_as"]["username"] == "nobody", report
    assert report["permissions"] and not any(p["allowed"] for p in report["permissions"]), report["permissions"]
    # An expired client certificate (made with openssl, backdated through a short -days on a CSR signed as of now
    # is not possible; cryptography builds one the cluster CA signs).
    import datetime as dt

    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    ca = x509.load_pem_x509_certificate(cp.ca.read_bytes())
    ca_key = load_pem_private_key(cp.ca_key.read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    old = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old")]))
           .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(now - dt.timedelta(days=30)).not_valid_after(now - dt.timedelta(days=1))
           .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), False)
           .sign(ca_key, hashes.SHA256()))
    (tmp_path / "old.crt").write_bytes(old.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "old.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    cfg = runner_config(tmp_path, cp.server, tmp_path / "old.crt", tmp_path / "old.key", cp.ca)
    code, report, _ = doctor(cfg)
    codes = {f["code"] for f in report["findings"]}
    assert code == 1 and "cert-expired" in codes and report["authenticated_as"] is None, codes


def test_k8s_csr_submit_with_the_real_signer(control_plane: ControlPlane, tmp_path: Path) -> None:
    """Approved (here), denied by an admin, never approved: as
    kube-controller-manager's signer and the API server decide."""
    import subprocess
    import time

    from conftest import binary

    cp = control_plane
    out = tmp_path / "a.crt"
    r = ok("k8s-csr", "submit", "--kubeconfig", cp.admin, "--key", tmp_path / "a.key", "--user", "csr-a",
           "--group", "ci", "--approve", "--expiration", "1h", "--out", out)
    openssl("verify", "-purpose", "sslclient", "-CAfile", cp.ca, out)
    cert = x509.load_pem_x509_certificate(out.read_bytes())
    life = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds()
    assert 3600 <= life <= 3600 + 600, life
    # Denied while it waits.
    waiting = subprocess.Popen([str(binary()), "k8s-csr", "submit", "--kubeconfig", str(cp.admin), "--key",
                                str(tmp_path / "b.key"), "--user", "csr-b", "--name", "csr-b", "--wait", "30s",
                                "--out", str(tmp_path / "b.crt")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    for _ in range(50):
        if cp.kubectl("get", "csr", "csr-b", check=False).returncode == 0:
            break
        time.sleep(0.2)
    cp.kubectl("certificate", "deny", "csr-b")
    _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 1 and "denied" in err.lower() and not (tmp_path / "b.crt").exists(), err
    # Never approved: the wait ends, nothing written.
    r = run("k8s-csr", "submit", "--kubeconfig", cp.admin, "--key", tmp_path / "c.key", "--user", "csr-c",
            "--wait", "2s", "--out", tmp_path / "c.crt")
    assert r.code == 1 and "pending" in r.err and not (tmp_path / "c.crt").exists(), r


def test_renew_both_ways_and_kubectl_takes_the_new_pair(control_plane: ControlPlane, tmp_path: Path) -> None:
    cp = control_plane
    cfg = runner_host(tmp_path)
    ssl = tmp_path / "ssl"
    ok("setup", "--ca-dir", cp.pki, "--server", cp.server, "--runner", "test-runner", "--config", cfg,
       "--out-dir", ssl, "--namespace", "ci-renew", "--service-account", "deployer")
    cp.kubectl("apply", "-f", ssl / "rbac.yaml")
    kc = ssl / "kubeconfig"
    serial = lambda: x509.load_pem_x509_certificate((ssl / "gitlab-admin.crt").read_bytes()).serial_number  # noqa: E731
    first = serial()
    r = ok("renew", "--config", cfg, "--runner", "test-runner", "--ca-dir", cp.pki, "--force")
    assert "authenticated it as" in r.out and "gitlab-admin" in r.out, r
    second = serial()
    assert second != first
    assert json.loads(cp.kubectl("auth", "whoami", "-o", "json", kubeconfig=kc).stdout)[
        "status"]["userInfo"]["username"] == "gitlab-admin"
    # Through the CSR API, with the admin kubeconfig approving.
    r = ok("renew", "--config", cfg, "--runner", "test-runner", "--kubeconfig", cp.admin, "--approve", "--force")
    assert serial() not in (first, second), r
    assert can_i(cp, kc, "create", "pods", "", "", "ci-renew")


def test_a_signer_that_shortens_the_lifetime_is_said(tmp_path: Path) -> None:
    """kube-controller-manager with --cluster-signing-duration=20m, a request
    for 1h: the certificate lasts 20 minutes and submit says so."""
    from control_plane import start, stop

    cp = start(tmp_path / "cp-short", signing_duration="20m")
    try:
        out = tmp_path / "s.crt"
        r = ok("k8s-csr", "submit", "--kubeconfig", cp.admin, "--key", tmp_path / "s.key", "--user", "short",
               "--approve", "--expiration", "1h", "--out", out)
        assert "less than the --expiration asked" in r.err, r
        cert = x509.load_pem_x509_certificate(out.read_bytes())
        life = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds()
        assert life <= 20 * 60 + 600, life
    finally:
        stop(cp)


def test_an_intermediate_ca_writes_the_chain_and_the_root(control_plane: ControlPlane, tmp_path: Path) -> None:
    """Signing with an intermediate CA: cert_file gets the leaf and the
    intermediate (the client sends them, Go's kube-apiserver verifies with
    them), ca_file the root the API server trusts; kubectl then
    authenticates. Without the root in the bundle: refused, with the fix."""
    cp = control_plane
    d = tmp_path / "inter"
    d.mkdir()
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", d / "inter.key", "-out", d / "inter.csr",
            "-subj", "/CN=runners-intermediate")
    (d / "ext").write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n")
    openssl("x509", "-req", "-in", d / "inter.csr", "-CA", cp.ca, "-CAkey", cp.ca_key, "-CAcreateserial",
            "-days", "30", "-extfile", d / "ext", "-out", d / "inter.crt")
    alone = d / "inter.crt"
    bundle = d / "bundle.crt"
    bundle.write_text(alone.read_text() + cp.ca.read_text())
    cfg = runner_host(tmp_path)
    ssl = tmp_path / "ssl"
    refused = run("setup", "--ca-cert", alone, "--ca-key", d / "inter.key", "--server", cp.server, "--runner",
                  "test-runner", "--config", cfg, "--out-dir", ssl, "--namespace", "ci-inter")
    assert refused.code == 2 and "intermediate" in refused.err and "root" in refused.err, refused
    assert not ssl.exists() or not any(ssl.iterdir()), "nothing written"
    ok("setup", "--ca-cert", bundle, "--ca-key", d / "inter.key", "--server", cp.server, "--runner",
       "test-runner", "--config", cfg, "--out-dir", ssl, "--namespace", "ci-inter")
    sent = x509.load_pem_x509_certificates((ssl / "gitlab-admin.crt").read_bytes())
    assert [c.subject.rfc4514_string() for c in sent] == ["CN=gitlab-admin", "CN=runners-intermediate"]
    assert (ssl / "ca.crt").read_bytes().strip() == cp.ca.read_bytes().strip()
    cp.kubectl("apply", "-f", ssl / "rbac.yaml")
    who = cp.kubectl("auth", "whoami", "-o", "json", kubeconfig=ssl / "kubeconfig")
    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == "gitlab-admin"
    doctor_passes_but_the_ca_key(cfg, d / "inter.key")
    # renew keeps the chain
    ok("renew", "--config", cfg, "--runner", "test-runner", "--ca-cert", bundle, "--ca-key", d / "inter.key",
       "--force")
    assert len(x509.load_pem_x509_certificates((ssl / "gitlab-admin.crt").read_bytes())) == 2
    who = cp.kubectl("auth", "whoami", "-o", "json", kubeconfig=ssl / "kubeconfig")
    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == "gitlab-admin"


RENEWER = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: csr-renewer}
rules:
- apiGroups: [certificates.k8s.io]
  resources: [certificatesigningrequests]
  verbs: [create, get, list, watch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: csr-renewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: csr-renewer}
subjects: [{kind: User, name: gitlab-admin}]
"""


def test_renew_through_the_csr_api_with_the_runners_own_kubeconfig(control_plane: ControlPlane,
                                                                   tmp_path: Path) -> None:
    """The runner renews itself: its own kubeconfig submits the request (no
    admin credential on the runner host); the admin's approver approves it
    as a renewal of the submitter's own identity; the signer issues it and
    kubectl authenticates with the new pair."""
    import subprocess
    import time

    from conftest import binary

    cp = control_plane
    cfg = runner_host(tmp_path)
    ssl = tmp_path / "ssl"
    ok("setup", "--ca-dir", cp.pki, "--server", cp.server, "--runner", "test-runner", "--config", cfg,
       "--out-dir", ssl, "--namespace", "ci-self", "--service-account", "deployer")
    cp.kubectl("apply", "-f", ssl / "rbac.yaml")
    cp.kubectl("apply", "-f", "-", input=RENEWER)
    before = x509.load_pem_x509_certificate((ssl / "gitlab-admin.crt").read_bytes()).serial_number
    renewing = subprocess.Popen([str(binary()), "renew", "--config", str(cfg), "--runner", "test-runner",
                                 "--kubeconfig", str(ssl / "kubeconfig"), "--wait", "60s", "--force"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    name = None
    for _ in range(100):
        listed = json.loads(cp.kubectl("get", "csr", "-o", "json").stdout)["items"]
        pending = [c["metadata"]["name"] for c in listed
                   if c["spec"]["username"] == "gitlab-admin" and not c.get("status", {}).get("conditions")]
        if pending:
            name = pending[0]
            break
        time.sleep(0.2)
    assert name, "the runner's request never appeared"
    r = ok("k8s-csr", "approve", name, "--kubeconfig", cp.admin)
    assert "gitlab-admin" in r.out
    out, err = renewing.communicate(timeout=90)
    assert renewing.returncode == 0, (out, err)
    after = x509.load_pem_x509_certificate((ssl / "gitlab-admin.crt").read_bytes()).serial_number
    assert after != before
    who = cp.kubectl("auth", "whoami", "-o", "json", kubeconfig=ssl / "kubeconfig")
    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == "gitlab-admin"
