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


def check_runner_identity(cp: ControlPlane, cfg: Path, ssl: Path, namespace: str) -> None:
    """rbac.yaml exactly as setup wrote it applies on the cluster; the runner's
    own kubeconfig then may do everything the executor profile promises and
    nothing it does not; doctor --online agrees."""
    cp.kubectl("apply", "-f", ssl / "rbac.yaml")
    kc = ssl / "kubeconfig"
    denied = [p for p in promised(namespace) if not can_i(cp, kc, *p, namespace)]
    assert not denied, denied
    assert not can_i(cp, kc, "delete", "nodes", "", "", namespace)
    assert not can_i(cp, kc, "get", "secrets", "", "", "kube-system")
    who = cp.kubectl("auth", "whoami", "-o", "json", kubeconfig=kc)
    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == "gitlab-admin"
    doctor = run("doctor", "--config", cfg, "--runner", "test-runner", "--online")
    assert doctor.code == 0, doctor


def test_seed_scenario_with_the_ca_at_hand(control_plane: ControlPlane, tmp_path: Path) -> None:
    cfg = runner_host(tmp_path)
    ssl = tmp_path / "ssl"
    ok("setup", "--ca-dir", control_plane.pki, "--server", control_plane.server, "--runner", "test-runner",
       "--config", cfg, "--out-dir", ssl, "--namespace", "ci-ca", "--service-account", "deployer")
    openssl("verify", "-purpose", "sslclient", "-CAfile", control_plane.ca, ssl / "gitlab-admin.crt")
    check_runner_identity(control_plane, cfg, ssl, "ci-ca")


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
    assert cp.kubectl("get", "namespace", "gitlab-runner", check=False).returncode != 0, "fresh"
    cfg = tmp_path / "config.toml"
    cfg.write_text(TOKEN_CONFIG)
    ssl = tmp_path / "ssl"
    r = ok("setup", "--config", cfg, "--runner", "deploy", "--server", cp.server, "--out-dir", ssl,
           "--auth", "token", "--kubeconfig", cp.admin, "--service-account", "runner", "--token-duration", "1h")
    assert "created the service account gitlab-runner/runner" in r.err, r
    cp.kubectl("apply", "-f", ssl / "rbac.yaml")
    k = tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]
    doctor = json.loads(run("doctor", "--config", cfg, "--online", "--json").out)["runners"][0]
    assert doctor["authenticated_as"]["username"] == "system:serviceaccount:gitlab-runner:runner", doctor
    renewed = ok("renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", cp.admin, "--force")
    assert "system:serviceaccount:gitlab-runner:runner" in renewed.out, renewed
    assert tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]["bearer_token"] != k["bearer_token"]
    status = json.loads(ok("status", "--config", cfg, "--json").out)["runners"][0]
    assert status["credential"] == "bearer-token" and not status["expired"] and status["problem"] is None, status
