"""The stub's return types, checked against what every function and method
really returns: stubtest compares signatures only, so a stub saying
`list[str]` where the code returns paths passed `mypy --strict` and then
failed at run time. Each function and method of `_native.pyi` is called
once here; a new one without a call fails the test."""

from __future__ import annotations

import ast
import datetime
import json
import pathlib
import typing
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import runnerkey
from conftest import ROOT, fixture

STUB = ROOT / "python" / "runnerkey" / "_native.pyi"


def stub_returns() -> dict[str, str]:
    """`Class.method` or `function` -> its return annotation, as written."""
    out = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = ast.unparse(node.returns)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_") and not node.name.endswith("Error"):
            for f in node.body:
                if isinstance(f, ast.FunctionDef) and not f.name.startswith("__"):
                    out[f"{node.name}.{f.name}"] = ast.unparse(f.returns)
    return out


class Shape:
    """A TypedDict of the stub: exactly these keys, each of its type."""

    def __init__(self, name: str, fields: dict[str, str], total: bool = True) -> None:
        self.name, self.fields, self.total = name, fields, total

    def check(self, value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        keys_ok = set(value) == set(self.fields) if self.total else set(value) <= set(self.fields)
        return (keys_ok
                and all(conforms(value[k], eval(self.fields[k], NAMESPACE)) for k in value))  # noqa: S307


def typed_dicts() -> dict[str, Shape]:
    """The stub's TypedDicts by name, with their fields' annotations."""
    out = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.ClassDef) and any(ast.unparse(b) == "TypedDict" for b in node.bases):
            total = not any(k.arg == "total" and ast.unparse(k.value) == "False" for k in node.keywords)
            out[node.name] = Shape(node.name, {f.target.id: ast.unparse(f.annotation) for f in node.body
                                               if isinstance(f, ast.AnnAssign) and isinstance(f.target, ast.Name)},
                                   total)
    return out


NAMESPACE: dict[str, Any] = {
    "Any": Any, "Optional": Optional, "Union": Union, "Sequence": Sequence, "Mapping": Mapping,
    "Literal": typing.Literal, "_Severity": typing.Literal["error", "warning", "info"],
    "datetime": datetime, "pathlib": pathlib, **typed_dicts(),
    **{name: getattr(runnerkey, name) for name in runnerkey.__all__ if isinstance(getattr(runnerkey, name), type)},
}


def conforms(value: Any, tp: Any) -> bool:
    if tp is Any:
        return True
    if isinstance(tp, Shape):
        return tp.check(value)
    if typing.get_origin(tp) is typing.Literal:
        return value in typing.get_args(tp)
    if tp is None or tp is type(None):
        return value is None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Union:
        return any(conforms(value, a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if origin is tuple:
        return isinstance(value, tuple) and len(value) == len(args) and all(map(conforms, value, args))
    if origin is dict:
        return isinstance(value, dict) and all(conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items())
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def csr_api_calls(tmp: Path, ca: Any, cert: Any, key: Any) -> dict[str, Any]:
    """The CSR API functions, against the stand-in API server."""
    from cluster import serving_cert, start_apiserver
    from test_csr_api import CSR_ADMIN
    from test_token_auth import TOKEN_ADMIN

    rbac = tmp / "csr-rbac.yaml"
    from conftest import ok
    rbac.write_text(CSR_ADMIN.replace("name: csr-admin}]", "name: gitlab-admin}]") + "---\n"
                    + TOKEN_ADMIN.replace("name: token-admin}]", "name: gitlab-admin}]") + "\n"
                    + ok("rbac", "--profile", "approver", "--user", "gitlab-admin").out)
    srv_crt, srv_key = serving_cert(tmp, tmp / "pki" / "ca.crt", tmp / "pki" / "ca.key")
    srv = start_apiserver(srv_crt, srv_key, tmp / "pki" / "ca.crt", rbac=[rbac],
                          extra=["--signing-ca-cert", str(tmp / "pki" / "ca.crt"),
                                 "--signing-ca-key", str(tmp / "pki" / "ca.key"),
                                 "--service-account", "gitlab-runner/runner"])
    try:
        runnerkey.kubeconfig(srv.url, tmp / "pki" / "ca.crt", tmp / "c.crt", tmp / "k.key").write(tmp / "api.kc")
        other = runnerkey.PrivateKey.generate()
        request = runnerkey.CertificateRequest.create(other, user="runner")
        try:
            runnerkey.k8s_csr_submit(request, other, kubeconfig=tmp / "api.kc", name="pending", wait=0.5)
        except runnerkey.CsrNotIssuedError:
            pass
        # Before the approval below: "pending" is there to decide.
        decided = runnerkey.approver_run_once(kubeconfig=tmp / "api.kc", timeout="10s")
        assert [d["name"] for d in decided] == ["pending"], decided
        return {
            "approver_run_once": decided,
            "k8s_csr_approve": runnerkey.k8s_csr_approve("pending", expect_user="runner", kubeconfig=tmp / "api.kc"),
            "k8s_csr_submit": runnerkey.k8s_csr_submit(request, other, kubeconfig=tmp / "api.kc", approve=True),
            "request_token": runnerkey.request_token(namespace="gitlab-runner", service_account="runner",
                                                     kubeconfig=tmp / "api.kc", duration="1h"),
        }
    finally:
        srv.stop()


def calls(tmp: Path) -> dict[str, Any]:
    """One real call of everything in the stub, by stub name."""
    ca = runnerkey.CertificateAuthority.generate(algorithm="ecdsa-p256")
    key = runnerkey.PrivateKey.generate()
    csr = runnerkey.CertificateRequest.create(key, user="gitlab-admin", groups=["g"])
    cert = ca.sign(csr)
    (tmp / "pki").mkdir()
    ca.write_kubeadm(tmp / "pki")
    key.write(tmp / "k.key")
    cert.write(tmp / "c.crt")
    (tmp / "r.csr").write_text(csr.to_pem())
    cfg_path = tmp / "config.toml"
    cfg_path.write_bytes(fixture("runner-configs", "gitlabhq_gitlab-runner_register-merged.toml").read_bytes())
    cfg = runnerkey.RunnerConfig.load(cfg_path)
    report = runnerkey.verify(ca.certificate, cert, key)
    manifests = runnerkey.rbac(user="u", namespace="ci")
    kcfg = runnerkey.kubeconfig("https://10.0.0.1:6443", tmp / "pki" / "ca.crt", tmp / "c.crt", tmp / "k.key")
    k8s = runnerkey.k8s_csr(csr, name="runnerkey-gitlab-admin")
    k8s["status"] = {"certificate": __import__("base64").b64encode(cert.to_pem().encode()).decode()}
    edited = runnerkey.RunnerConfig.load(cfg_path)
    edited.set_kubernetes("test-runner", host="https://10.0.0.1:6443")
    return {
        "PrivateKey.generate": runnerkey.PrivateKey.generate("ed25519"),
        "PrivateKey.from_pem": runnerkey.PrivateKey.from_pem(key.to_pem()),
        "PrivateKey.load": runnerkey.PrivateKey.load(tmp / "k.key"),
        "PrivateKey.to_pem": key.to_pem(),
        "PrivateKey.write": key.write(tmp / "k2.key"),
        "PrivateKey.algorithm": key.algorithm,
        "PrivateKey.key_size": key.key_size,
        "PrivateKey.public_key_sha256": key.public_key_sha256,
        "CertificateRequest.create": csr,
        "CertificateRequest.from_pem": runnerkey.CertificateRequest.from_pem(csr.to_pem()),
        "CertificateRequest.load": runnerkey.CertificateRequest.load(tmp / "r.csr"),
        "CertificateRequest.user": csr.user,
        "CertificateRequest.groups": csr.groups,
        "CertificateRequest.subject": csr.subject,
        "CertificateRequest.to_pem": csr.to_pem(),
        "Certificate.from_pem": runnerkey.Certificate.from_pem(cert.to_pem()),
        "Certificate.load": runnerkey.Certificate.load(tmp / "c.crt"),
        "Certificate.user": cert.user,
        "Certificate.groups": cert.groups,
        "Certificate.subject": cert.subject,
        "Certificate.issuer": cert.issuer,
        "Certificate.serial": cert.serial,
        "Certificate.not_before": cert.not_before,
        "Certificate.not_after": cert.not_after,
        "Certificate.days_left": cert.days_left,
        "Certificate.is_ca": cert.is_ca,
        "Certificate.fingerprint_sha256": cert.fingerprint_sha256,
        "Certificate.extended_key_usage": cert.extended_key_usage,
        "Certificate.to_pem": cert.to_pem(),
        "Certificate.write": cert.write(tmp / "c2.crt"),
        "Certificate.to_der": cert.to_der(),
        "Certificate.inspect": cert.inspect(),
        "CertificateAuthority.load": runnerkey.CertificateAuthority.load(tmp / "pki" / "ca.crt", tmp / "pki" / "ca.key"),
        "CertificateAuthority.load_dir": runnerkey.CertificateAuthority.load_dir(tmp / "pki"),
        "CertificateAuthority.from_pem": runnerkey.CertificateAuthority.from_pem(
            (tmp / "pki" / "ca.crt").read_text(), (tmp / "pki" / "ca.key").read_text()),
        "CertificateAuthority.generate": ca,
        "CertificateAuthority.certificate": ca.certificate,
        "CertificateAuthority.warnings": ca.warnings,
        "CertificateAuthority.sign": cert,
        "CertificateAuthority.issue": (pair := ca.issue(user="p")),
        "CertificateAuthority.ensure": ca.ensure(cert_path=tmp / "e" / "u.crt", key_path=tmp / "e" / "u.key",
                                                 ca_path=tmp / "e" / "ca.crt", user="u"),
        "CertificateAuthority.issue_many": ca.issue_many([{"user": "b", "out_dir": tmp / "batch"}]),
        "CertificateAuthority.write_kubeadm": ca.write_kubeadm(tmp / "pki2"),
        "install_credentials": runnerkey.install_credentials(
            tmp / "cred", key=pair[0].to_pem(), cert=pair[1].to_pem().encode(), ca=ca.certificate.to_pem(), user="p"),
        "VerifyReport.ok": report.ok,
        "VerifyReport.problems": runnerkey.verify(runnerkey.CertificateAuthority.generate().certificate, cert).problems,
        "VerifyReport.to_dict": report.to_dict(),
        "verify": report,
        "inspect": runnerkey.inspect(cert.to_pem() + key.to_pem()),
        "pem_decode": runnerkey.pem_decode(b"x\n" + cert.to_pem().encode()),
        "PemBlock.type": runnerkey.pem_decode(cert.to_pem().encode())[0].type,
        "PemBlock.headers": runnerkey.pem_decode(cert.to_pem().encode())[0].headers,
        "PemBlock.bytes": runnerkey.pem_decode(cert.to_pem().encode())[0].bytes,
        "RunnerConfig.load": cfg,
        "RunnerConfig.parse": runnerkey.RunnerConfig.parse(cfg.text),
        "RunnerConfig.list_runners": cfg.list_runners(),
        "RunnerConfig.runners": cfg.runners,
        "RunnerConfig.text": cfg.text,
        "RunnerConfig.changed": edited.changed,
        "RunnerConfig.set_kubernetes": runnerkey.RunnerConfig.load(cfg_path).set_kubernetes("test-runner", namespace="ci"),
        "RunnerConfig.diff": edited.diff(),
        "RunnerConfig.save": edited.save(),
        "RunnerConfig.lint": cfg.lint(),
        "Manifests.to_yaml": manifests.to_yaml(),
        "Manifests.to_json": manifests.to_json(),
        "Manifests.to_dict": manifests.to_dict(),
        "Manifests.warnings": manifests.warnings,
        "rbac": manifests,
        "Kubeconfig.to_yaml": kcfg.to_yaml(),
        "Kubeconfig.write": kcfg.write(tmp / "kubeconfig"),
        "Kubeconfig.current_context": kcfg.current_context,
        "kubeconfig": kcfg,
        "k8s_csr": k8s,
        "k8s_csr_certificate": runnerkey.k8s_csr_certificate(json.dumps(k8s), key),
        "doctor": runnerkey.doctor(cfg_path),
        "status_prometheus": runnerkey.status_prometheus(cfg_path),
        "doctor_kubeconfig": (kcfg.write(tmp / "kc-doctor.yaml"), runnerkey.doctor_kubeconfig(tmp / "kc-doctor.yaml"))[1],
        "setup": runnerkey.setup(ca=ca, config=cfg_path, runner="test-runner", server="https://10.0.0.1:6443",
                                 out_dir=tmp / "ssl"),
        "renew_units": runnerkey.renew_units(runner="r", exec=["/bin/true"], writable=[tmp], check=["/bin/true"],
                                             install_root=tmp / "root"),
        "systemd_units": runnerkey.systemd_units(cfg_path, runner="test-runner", program="/usr/bin/runnerkey",
                                                 kubeconfig=tmp / "kubeconfig"),
        "renew": runnerkey.renew(ca=ca, config=cfg_path, runner="test-runner", force=True, online=False),
        # After renew: the runner's last renewal is recorded.
        "status": runnerkey.status(cfg_path),
        "cli_main": runnerkey._native.cli_main(["runnerkey", "--version"]),
        "approver_manifests": runnerkey.approver_manifests("registry.example/runnerkey:1"),
        "approver_unit": runnerkey.approver_unit("/usr/bin/runnerkey", "/etc/runnerkey/approver.conf"),
        "_error_samples": runnerkey._native._error_samples(),
        **csr_api_calls(tmp, ca, cert, key),
    }


def test_every_function_returns_what_the_stub_says(tmp_path: Path) -> None:
    returns = stub_returns()
    values = calls(tmp_path)
    assert set(values) == set(returns), (
        f"not called here: {sorted(set(returns) - set(values))}; not in the stub: {sorted(set(values) - set(returns))}")
    wrong = []
    for name, annotation in sorted(returns.items()):
        tp = eval(annotation, NAMESPACE)  # noqa: S307 (the project's own stub)
        if not conforms(values[name], tp):
            wrong.append(f"{name}: stub says {annotation}, got {type(values[name]).__name__}: {values[name]!r:.80}")
    assert not wrong, "\n".join(wrong)


def test_the_checker_can_fail() -> None:
    assert not conforms([Path("/x")], list[str])
    assert not conforms(True, int)
    assert not conforms({"a": 1}, dict[str, str])
    assert conforms(None, Optional[list[str]]) and conforms([("a", "b")], list[tuple[str, str]])
    shape = NAMESPACE["_FileAction"]
    good = {"path": "/x", "action": "created", "mode": "600", "purpose": "p"}
    assert conforms(good, shape)
    assert not conforms({**good, "extra": 1}, shape) and not conforms({**good, "mode": 600}, shape)
