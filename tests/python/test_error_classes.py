"""The exception classes: each has, at runtime, every attribute its stub
declares (python/runnerkey/_native.pyi), derives from what the stub says,
and is what a real failure raises — a refused connection is a
ConnectionError (exit 1 from the CLI), never a ValueError; a privileged
group other than system:masters is not a SystemMastersError."""

from __future__ import annotations

import ast
import base64
import socket
from pathlib import Path

import pytest
import runnerkey
from runnerkey import _native

from conftest import ROOT, run

STUB = ROOT / "python" / "runnerkey" / "_native.pyi"


def stub_classes() -> dict[str, tuple[list[str], list[str]]]:
    """Every exception class of the stub: its bases and its own attributes."""
    tree = ast.parse(STUB.read_text())
    classes = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
            attrs = [s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
            classes[node.name] = (bases, attrs)
    errors = {}

    def is_error(name: str) -> bool:
        return name == "RunnerkeyError" or any(is_error(b) for b in classes.get(name, ([], []))[0])

    for name, (bases, attrs) in classes.items():
        if is_error(name):
            errors[name] = (bases, attrs)
    return errors


def declared(name: str, classes: dict) -> set[str]:
    bases, attrs = classes[name]
    return set(attrs).union(*(declared(b, classes) for b in bases if b in classes))


def test_every_error_class_of_the_module_is_in_the_stub_and_the_other_way_round():
    runtime = {n for n, v in vars(runnerkey).items() if isinstance(v, type) and issubclass(v, runnerkey.RunnerkeyError)}
    assert runtime == set(stub_classes())


@pytest.mark.parametrize("name", sorted(stub_classes()))
def test_the_runtime_bases_are_the_stubs(name):
    bases, _ = stub_classes()[name]
    assert [b.__name__ for b in getattr(runnerkey, name).__bases__] == bases


def test_every_instance_has_every_attribute_its_stub_declares():
    classes = stub_classes()
    samples = _native._error_samples()
    # One of each class, as the core's errors convert (the root class is abstract).
    assert {type(e).__name__ for e in samples} == set(classes) - {"RunnerkeyError"}
    for e in samples:
        name = type(e).__name__
        missing = [a for a in sorted(declared(name, classes)) if not hasattr(e, a)]
        assert not missing, f"{name} lacks {missing}"


def test_the_attributes_hold_the_errors_context():
    by_class = {type(e).__name__: e for e in _native._error_samples()}
    assert by_class["SystemMastersError"].group == "system:masters"
    assert (by_class["SystemMastersError"].field, by_class["SystemMastersError"].value) == ("group", "system:masters")
    assert by_class["PrivilegedGroupError"].group == "kubeadm:cluster-admins"
    refused = by_class["ClusterRefusedError"]
    assert (refused.status, refused.reason) == (403, "Forbidden")
    assert by_class["CsrDeniedError"].state == "denied"
    assert isinstance(by_class["CsrDeniedError"], runnerkey.ClusterRefusedError)
    assert by_class["CsrNotIssuedError"].state == "pending"
    timeout = by_class["RunnerkeyTimeoutError"]
    assert isinstance(timeout, TimeoutError) and isinstance(timeout, ConnectionError)
    assert timeout.failure == "timeout"
    for name, e in by_class.items():
        outcome = name in {"RunnerkeyConnectionError", "RunnerkeyTimeoutError", "ClusterRefusedError",
                           "CsrDeniedError", "CsrNotIssuedError", "UntrustedError"}
        assert not (outcome and isinstance(e, ValueError)), name


def test_kubeadm_cluster_admins_is_a_privileged_group_not_system_masters():
    key = runnerkey.PrivateKey.generate()
    with pytest.raises(runnerkey.PrivilegedGroupError) as e:
        runnerkey.CertificateRequest.create(key, user="u", groups=["kubeadm:cluster-admins"])
    assert not isinstance(e.value, runnerkey.SystemMastersError)
    assert (e.value.group, e.value.field, e.value.value) == ("kubeadm:cluster-admins", "group", "kubeadm:cluster-admins")
    with pytest.raises(runnerkey.SystemMastersError) as m:
        runnerkey.CertificateRequest.create(key, user="u", groups=["system:masters"])
    assert m.value.group == "system:masters"


def closed_port_kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig whose server is a local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ca = runnerkey.CertificateAuthority.generate()
    data = base64.b64encode(ca.certificate.to_pem().encode()).decode()
    kc = tmp_path / "kubeconfig"
    kc.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority-data: {data}
users:
- name: u
  user:
    token: not-a-real-token
contexts:
- name: x
  context: {{cluster: c, user: u}}
current-context: x
""")
    return kc


def test_a_refused_connection_is_a_connection_error_not_a_value_error(tmp_path):
    kc = closed_port_kubeconfig(tmp_path)
    key = runnerkey.PrivateKey.generate()
    csr = runnerkey.CertificateRequest.create(key, user="gitlab-runner:h1")
    with pytest.raises(runnerkey.RunnerkeyConnectionError) as e:
        runnerkey.k8s_csr_submit(csr, key, kubeconfig=kc, wait=5)
    assert isinstance(e.value, ConnectionError) and not isinstance(e.value, ValueError)
    assert e.value.failure == "refused"
    assert e.value.server.startswith("https://127.0.0.1:")


def test_the_cli_exits_1_for_a_refused_connection(tmp_path):
    kc = closed_port_kubeconfig(tmp_path)
    r = run("k8s-csr", "submit", "--kubeconfig", kc, "--key", tmp_path / "r.key", "--user", "gitlab-runner:h1",
            "--wait", "5s", "--out", tmp_path / "r.crt")
    assert r.code == 1, r.err
    assert "127.0.0.1" in r.err


def test_an_untrusted_server_and_a_forbidden_request_say_what_happened(tmp_path):
    """Against the stand-in API server: a server certificate from another CA
    is a connection failure that reads as a sentence (not a Rust variant
    name), exit 1; a request the API server forbids is a ClusterRefusedError
    with the Status' code and reason."""
    from cluster import make_ca, serving_cert, start_apiserver
    from conftest import ok

    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    other_crt, _ = make_ca(tmp_path, "other")
    srv_crt, srv_key = serving_cert(tmp_path, ca_crt, ca_key)
    srv = start_apiserver(srv_crt, srv_key, ca_crt)
    try:
        ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "nobody", "--out-dir", tmp_path / "nobody")
        for name, ca in (("wrong-ca.kc", other_crt), ("nobody.kc", ca_crt)):
            ok("kubeconfig", "--server", srv.url, "--ca", ca, "--cert", tmp_path / "nobody" / "nobody.crt",
               "--key", tmp_path / "nobody" / "nobody.key", "--out", tmp_path / name)
        r = run("k8s-csr", "submit", "--kubeconfig", tmp_path / "wrong-ca.kc", "--key", tmp_path / "r.key",
                "--user", "gitlab-runner:h1", "--wait", "5s", "--out", tmp_path / "r.crt")
        assert r.code == 1 and "not signed by a trusted CA" in r.err and "UnknownIssuer" not in r.err, r
        key = runnerkey.PrivateKey.generate()
        csr = runnerkey.CertificateRequest.create(key, user="gitlab-runner:h1")
        with pytest.raises(runnerkey.RunnerkeyConnectionError) as untrusted:
            runnerkey.k8s_csr_submit(csr, key, kubeconfig=tmp_path / "wrong-ca.kc", wait=5)
        assert untrusted.value.failure == "server-certificate"
        assert "UnknownIssuer" not in str(untrusted.value)
        with pytest.raises(runnerkey.ClusterRefusedError) as forbidden:
            runnerkey.k8s_csr_submit(csr, key, kubeconfig=tmp_path / "nobody.kc", wait=5)
        assert not isinstance(forbidden.value, ValueError)
        assert (forbidden.value.status, forbidden.value.reason) == (403, "Forbidden"), str(forbidden.value)
        r = run("k8s-csr", "submit", "--kubeconfig", tmp_path / "nobody.kc", "--key", tmp_path / "r.key",
                "--user", "gitlab-runner:h1", "--wait", "5s", "--out", tmp_path / "r.crt")
        assert r.code == 1 and "403 (Forbidden)" in r.err, r
    finally:
        srv.stop()
