"""Requests that Kubernetes reads differently from a careless reader, and
hostile API answers, against the stand-in API server (whose signer reads
`spec.request` as kube-controller-manager does: the first block Go's
encoding/pem finds).

- A CertificateSigningRequest whose `spec.request` is
  `"x" + PEM(the runner's own CSR) + PEM(CSR for system:masters)` looks like a
  renewal to a reader that takes the first `-----BEGIN` anywhere, while Go
  (and so the signer) reads the second block. runnerkey's approver must
  refuse it — self-renewal mode and `--expect-user` alike, CLI and Python —
  and `csr sign` must refuse such a file.
- A signer that issues for 100 years whatever was asked, and a watch that
  streams "still pending" forever: refused and bounded.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import runnerkey
from cluster import make_ca, serving_cert, start_apiserver
from conftest import binary, ok, run

PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"

RBAC = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: csr-admin}
rules:
- apiGroups: [certificates.k8s.io]
  resources: [certificatesigningrequests, certificatesigningrequests/approval]
  verbs: [create, get, delete, update, list, watch]
- apiGroups: [certificates.k8s.io]
  resources: [signers]
  verbs: [approve]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: csr-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: csr-admin}
subjects: [{kind: User, name: csr-admin}, {kind: Group, name: gitlab-runners}]
"""


def csr_pem(cn: str, groups: list[str]) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    names += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names)).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


VARIANTS: dict[str, tuple[bytes, bytes]] = {}


def variants() -> dict[str, bytes]:
    """The two shapes from the report (Go reads the second block), and
    shapes where Go reads the runner's own block but another reader could
    take the other one: all refused."""
    own = csr_pem("gitlab-runner:h1", ["gitlab-runners"])
    masters = csr_pem("gitlab-runner:h1", ["system:masters"])
    admin = csr_pem("kubernetes-admin", ["kubeadm:cluster-admins"])
    VARIANTS.update({
        "masters": (b"x" + own + masters, masters),
        "kubeadm-admin": (b"x" + own + admin, admin),
        "trailing-block": (own + admin, own),
        # A first block Go cannot read (CR-only line ends, or a bad END):
        # Go and the signer take the second; Python's cryptography the first.
        "unreadable-first-cr": (masters.replace(b"\n", b"\r") + b"\n" + own, own),
        "unreadable-first-end": (masters.replace(b"-----END", b"!-----END") + own, own),
    })
    return {k: v[0] for k, v in VARIANTS.items()}


class Cluster:
    def __init__(self, tmp_path: Path, extra: list[str] | None = None) -> None:
        self.tmp = tmp_path
        self.ca_crt, self.ca_key = make_ca(tmp_path, "cluster")
        srv_crt, srv_key = serving_cert(tmp_path, self.ca_crt, self.ca_key)
        rbac = tmp_path / "rbac.yaml"
        rbac.write_text(RBAC)
        self.srv = start_apiserver(srv_crt, srv_key, self.ca_crt, rbac=[rbac],
                                   extra=["--signing-ca-cert", str(self.ca_crt), "--signing-ca-key",
                                          str(self.ca_key), *(extra or [])])
        self.admin = self.identity("csr-admin", [])
        self.runner = self.identity("gitlab-runner:h1", ["gitlab-runners"])

    def identity(self, user: str, groups: list[str]) -> Path:
        d = self.tmp / user.replace(":", "_")
        args = ["issue", "--ca-cert", self.ca_crt, "--ca-key", self.ca_key, "--user", user, "--out-dir", d]
        for g in groups:
            args += ["--group", g]
        ok(*args)
        crt, key = d / f"{user}.crt", d / f"{user}.key"
        kc = self.tmp / f"{d.name}.kc"
        ok("kubeconfig", "--server", self.srv.url, "--ca", self.ca_crt, "--cert", crt, "--key", key, "--out", kc)
        self.files = getattr(self, "files", {})
        self.files[user] = (crt, key)
        return kc

    def call(self, user: str, method: str, path: str, body: dict | None = None) -> dict:
        crt, key = self.files[user]
        ctx = ssl.create_default_context(cafile=str(self.ca_crt))
        ctx.load_cert_chain(crt, key)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.srv.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.loads(r.read())

    def create(self, name: str, request: bytes) -> None:
        """The runner itself creates the object (spec.username = its user)."""
        self.call("gitlab-runner:h1", "POST", PATH, {
            "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name},
            "spec": {"request": base64.b64encode(request).decode(),
                     "signerName": "kubernetes.io/kube-apiserver-client",
                     "usages": ["client auth", "digital signature"], "expirationSeconds": 3600}})

    def conditions(self, name: str) -> list[str]:
        obj = self.call("csr-admin", "GET", f"{PATH}/{name}")
        return [c["type"] for c in obj.get("status", {}).get("conditions", [])]

    def stop(self) -> None:
        self.srv.stop()


@pytest.fixture
def cluster(tmp_path: Path):
    c = Cluster(tmp_path)
    yield c
    c.stop()


def test_the_differential_request_is_never_approved(cluster: Cluster) -> None:
    for i, (shape, request) in enumerate(variants().items()):
        name = f"h1-{i}"
        cluster.create(name, request)
        # Self-renewal mode: the runner's own identity, as the first block
        # a careless reader finds says.
        r = run("k8s-csr", "approve", name, "--kubeconfig", cluster.admin)
        assert r.code == 1 and "not approved" in r.err and "not alone" in r.err, (shape, r)
        # Expecting exactly the runner's identity.
        r = run("k8s-csr", "approve", name, "--kubeconfig", cluster.admin,
                "--expect-user", "gitlab-runner:h1", "--expect-group", "gitlab-runners")
        assert r.code == 1 and "not approved" in r.err, (shape, r)
        with pytest.raises(runnerkey.RunnerkeyError, match="not alone"):
            runnerkey.k8s_csr_approve(name, kubeconfig=cluster.admin)
        with pytest.raises(runnerkey.RunnerkeyError, match="not approved"):
            runnerkey.k8s_csr_approve(name, expect_user="gitlab-runner:h1", expect_groups=["gitlab-runners"],
                                      kubeconfig=cluster.admin)
        assert cluster.conditions(name) == [], (shape, "left pending for a person")
        # --deny records why, so the signer never looks at it.
        r = run("k8s-csr", "approve", name, "--kubeconfig", cluster.admin, "--deny")
        assert r.code == 1, r
        assert cluster.conditions(name) == ["Denied"], shape
        obj = cluster.call("csr-admin", "GET", f"{PATH}/{name}")
        assert "not alone" in obj["status"]["conditions"][0]["message"]
        assert not obj["status"].get("certificate"), "never signed"
    # The plain request is approved and signed: the rule is not "refuse all".
    cluster.create("h1-ok", csr_pem("gitlab-runner:h1", ["gitlab-runners"]))
    r = ok("k8s-csr", "approve", "h1-ok", "--kubeconfig", cluster.admin)
    assert "gitlab-runner:h1" in r.out
    assert cluster.conditions("h1-ok") == ["Approved"]


def test_csr_sign_and_the_library_refuse_the_differential_file(tmp_path: Path) -> None:
    ca_dir = make_ca(tmp_path, "pki")[0].parent
    for shape, request in variants().items():
        f = tmp_path / f"{shape}.csr"
        f.write_bytes(request)
        out = tmp_path / f"{shape}.crt"
        r = run("csr", "sign", f, "--ca-dir", ca_dir, "--out", out)
        assert r.code == 2 and not out.exists(), (shape, r)
        assert str(f) in r.err, "names the file"
        with pytest.raises(runnerkey.PemError):
            runnerkey.CertificateRequest.from_pem(request)
    # What Go finds first is what runnerkey reads, for every shape.
    for shape, (request, go_reads) in VARIANTS.items():
        block, _ = runnerkey.pem_decode(request)
        expected = x509.load_pem_x509_csr(go_reads)
        assert block is not None and block.bytes == expected.public_bytes(serialization.Encoding.DER), shape


def test_a_signer_that_overreaches_is_refused(tmp_path: Path) -> None:
    """A signer that issues for 100 years (the CA permitting it) whatever was
    asked: the certificate is not written, so no later renewal inherits a
    lifetime the CSR API cannot ask for again."""
    c = Cluster(tmp_path, extra=["--signer-duration", str(100 * 365 * 86400)])
    try:
        out = tmp_path / "r.crt"
        r = run("k8s-csr", "submit", "--kubeconfig", c.admin, "--key", tmp_path / "r.key", "--user", "r",
                "--approve", "--expiration", "1h", "--out", out)
        assert r.code == 1 and "beyond" in r.err and not out.exists(), r
    finally:
        c.stop()


def test_a_watch_that_never_ends_does_not_stretch_the_wait(tmp_path: Path) -> None:
    c = Cluster(tmp_path, extra=["--endless-watch"])
    try:
        start = time.monotonic()
        p = subprocess.run([str(binary()), "k8s-csr", "submit", "--kubeconfig", str(c.admin), "--key",
                            str(tmp_path / "w.key"), "--user", "w", "--wait", "3s", "--out", str(tmp_path / "w.crt")],
                           capture_output=True, text=True, timeout=120)
        took = time.monotonic() - start
        assert p.returncode == 1 and "still pending" in p.stderr and "after 3s" in p.stderr, p.stderr
        # Before the fix it ran for minutes; the bound is the wait plus a
        # read's timeout, far below this.
        assert took < 60, took
    finally:
        c.stop()
