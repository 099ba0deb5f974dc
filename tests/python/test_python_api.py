"""The Python package: every public class and function against real files,
checked with Python `cryptography`'s verifier, `tomllib` and the Kubernetes
JSON schemas; errors raised with the right class and attributes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import tomllib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store

import runnerkey
from conftest import fixture, openssl
from schemas import errors

PKI = lambda name: fixture("pki", name)  # noqa: E731


def client_verifier(ca: x509.Certificate):
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    return (PolicyBuilder().store(Store([ca]))
            .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee).build_client_verifier())


def test_all_names_are_exported() -> None:
    for name in runnerkey.__all__:
        assert hasattr(runnerkey, name), name
    assert runnerkey.__version__ == "0.1.0"


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"])
def test_issue_verified_by_cryptography(tmp_path: Path, algorithm: str) -> None:
    ca = runnerkey.CertificateAuthority.generate(algorithm="rsa-2048")
    key, cert = ca.issue(user="gitlab-admin", groups=["a", "b"], algorithm=algorithm, days=30)
    assert (cert.user, cert.groups) == ("gitlab-admin", ["a", "b"])
    assert cert.not_after.tzinfo is not None and 29 <= cert.days_left <= 30
    assert cert.not_before < dt.datetime.now(dt.timezone.utc) < cert.not_after
    assert cert.extended_key_usage == ["clientAuth"] and not cert.is_ca
    leaf = x509.load_pem_x509_certificate(cert.to_pem().encode())
    assert leaf == x509.load_der_x509_certificate(cert.to_der())
    client_verifier(x509.load_pem_x509_certificate(ca.certificate.to_pem().encode())).verify(leaf, [])
    assert serialization.load_pem_private_key(key.to_pem().encode(), None).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert "BEGIN" not in repr(key) and key.to_pem()[100:140] not in repr(key)
    assert repr(key).startswith("<PrivateKey ")
    report = runnerkey.verify(ca.certificate, cert, key)
    assert report.ok and bool(report) and report.problems == []
    assert report.to_dict()["identity"] == {"user": "gitlab-admin", "groups": ["a", "b"]}
    info = cert.inspect()
    assert info["user"] == "gitlab-admin" and info["sha256_fingerprint"] == cert.fingerprint_sha256


def test_keys_csrs_and_files(tmp_path: Path) -> None:
    key = runnerkey.PrivateKey.generate()
    assert (key.algorithm, key.key_size) == ("ECDSA", 256)
    path = tmp_path / "k.pem"
    key.write(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert runnerkey.PrivateKey.load(path).public_key_sha256 == key.public_key_sha256
    assert runnerkey.PrivateKey.load(str(path)).public_key_sha256 == key.public_key_sha256
    assert runnerkey.PrivateKey.from_pem(path.read_bytes()).public_key_sha256 == key.public_key_sha256
    with pytest.raises(runnerkey.OutputExistsError) as e:
        key.write(path)
    assert e.value.path == str(path)
    for name, bits in [("kubeadm-ca-rsa2048-pkcs1.key.pem", 2048), ("ec-p256-sec1-with-ec-parameters.key.pem", 256),
                       ("ec-p384-sec1.key.pem", 384)]:
        assert runnerkey.PrivateKey.load(PKI(name)).key_size == bits
    csr = runnerkey.CertificateRequest.create(key, user="u", groups=["g1", "g2"])
    assert (csr.user, csr.groups, csr.subject) == ("u", ["g1", "g2"], "CN=u, O=g1, O=g2")
    (tmp_path / "u.csr").write_text(csr.to_pem())
    p = openssl("req", "-in", tmp_path / "u.csr", "-noout", "-verify")
    assert b"verify OK" in p.stdout + p.stderr
    assert runnerkey.CertificateRequest.load(tmp_path / "u.csr").user == "u"
    assert runnerkey.CertificateRequest.from_pem(csr.to_pem()).groups == ["g1", "g2"]
    ca = runnerkey.CertificateAuthority.generate(algorithm="ecdsa-p256")
    cert = ca.sign(csr, duration="48h")
    assert cert.groups == ["g1", "g2"] and 1 <= cert.days_left <= 2
    cert.write(tmp_path / "u.crt")
    assert runnerkey.Certificate.load(tmp_path / "u.crt") == cert
    assert runnerkey.Certificate.from_pem((tmp_path / "u.crt").read_bytes()) == cert
    assert hash(cert) == hash(runnerkey.Certificate.load(tmp_path / "u.crt"))
    written = ca.write_kubeadm(tmp_path / "pki")
    assert sorted(Path(w).name for w in written) == ["ca.crt", "ca.key"]
    again = runnerkey.CertificateAuthority.load_dir(tmp_path / "pki")
    assert again.certificate == ca.certificate and again.warnings == []
    also = runnerkey.CertificateAuthority.from_pem((tmp_path / "pki/ca.crt").read_text(), (tmp_path / "pki/ca.key").read_bytes())
    assert also.certificate == ca.certificate
    items = runnerkey.inspect((tmp_path / "u.crt").read_text() + key.to_pem())
    assert [i["kind"] for i in items] == ["certificate", "private_key"]


def test_real_kubeadm_ca_and_verify_problems() -> None:
    ca_cert = runnerkey.Certificate.load(PKI("kubeadm-ca-rsa2048.crt.pem"))
    ca = runnerkey.CertificateAuthority.load(PKI("kubeadm-ca-rsa2048.crt.pem"), PKI("kubeadm-ca-rsa2048-pkcs1.key.pem"))
    assert ca.certificate == ca_cert and ca_cert.serial == "0" and ca_cert.is_ca
    assert any("readable by group or others" in w for w in ca.warnings) or os.stat(PKI("kubeadm-ca-rsa2048-pkcs1.key.pem")).st_mode & 0o077 == 0
    expired = runnerkey.Certificate.load(PKI("kubeadm-client-expired-system-masters.crt.pem"))
    report = runnerkey.verify([ca_cert], expired, runnerkey.PrivateKey.load(PKI("rsa2048-pkcs1.key.pem")))
    assert not report and {c for c, _ in report.problems} == {"expired", "key-mismatch", "system-masters"}


def test_errors_have_the_right_class_and_attributes(tmp_path: Path) -> None:
    key_pem = runnerkey.PrivateKey.generate().to_pem()
    cases = [
        (lambda: runnerkey.PrivateKey.from_pem(key_pem[: len(key_pem) // 2]), runnerkey.PemError),
        (lambda: runnerkey.PrivateKey.load(PKI("kubeadm-ca-rsa2048.crt.pem")), runnerkey.PemError),
        (lambda: runnerkey.CertificateAuthority.load(PKI("kubeadm-ca-rsa2048.crt.pem"), PKI("rsa2048-pkcs1.key.pem")), runnerkey.KeyMismatchError),
        (lambda: runnerkey.CertificateAuthority.load(PKI("kubeadm-client-expired-system-masters.crt.pem"), PKI("kubeadm-client-expired-system-masters-pkcs1.key.pem")), runnerkey.NotACaError),
        (lambda: runnerkey.CertificateAuthority.load(PKI("selfsigned-expired-2022.crt.pem"), PKI("rsa2048-pkcs1.key.pem")), runnerkey.CaNotValidError),
        (lambda: runnerkey.PrivateKey.load(PKI("rsa-pkcs8-encrypted.key.pem")), runnerkey.PassphraseRequiredError),
        (lambda: runnerkey.PrivateKey.load(PKI("rsa1024-pkcs8-unencrypted.key.pem")), runnerkey.WeakKeyError),
        (lambda: runnerkey.CertificateRequest.create(runnerkey.PrivateKey.generate(), user=""), runnerkey.InvalidNameError),
        (lambda: runnerkey.CertificateRequest.create(runnerkey.PrivateKey.generate(), user="a\x07b"), runnerkey.InvalidNameError),
        (lambda: runnerkey.CertificateRequest.create(runnerkey.PrivateKey.generate(), user="u", groups=["system:masters"]), runnerkey.SystemMastersError),
        (lambda: runnerkey.PrivateKey.load(tmp_path / "missing.pem"), runnerkey.RunnerkeyIOError),
        (lambda: runnerkey.PrivateKey.generate("dsa"), runnerkey.InvalidArgumentError),
    ]
    for fn, cls in cases:
        with pytest.raises(cls) as e:
            fn()
        assert isinstance(e.value, runnerkey.RunnerkeyError)
    with pytest.raises(runnerkey.WeakKeyError) as e:
        runnerkey.PrivateKey.load(PKI("rsa1024-pkcs8-unencrypted.key.pem"))
    assert e.value.bits == 1024 and e.value.path.endswith("rsa1024-pkcs8-unencrypted.key.pem")
    with pytest.raises(runnerkey.InvalidNameError) as e:
        runnerkey.CertificateRequest.create(runnerkey.PrivateKey.generate(), user="u", groups=["x\ny"])
    assert (e.value.field, e.value.value) == ("group", "x\ny")
    enc = tmp_path / "enc.pem"
    plain = tmp_path / "plain.pem"
    runnerkey.PrivateKey.generate("rsa-2048").write(plain)
    openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", plain, "-passout", "pass:pw", "-out", enc)
    assert runnerkey.PrivateKey.load(enc, password="pw").key_size == 2048
    assert runnerkey.PrivateKey.load(enc, password=b"pw").key_size == 2048
    with pytest.raises(runnerkey.BadPassphraseError):
        runnerkey.PrivateKey.load(enc, password="nope")


CONFIG = """concurrent = 1
# my runners
[[runners]]
  name = "a"
  token = "glrt-secret"
  executor = "kubernetes"
[[runners]]
  name = "b"
  executor = "kubernetes"
[[runners]]
  name = "b"
  executor = "kubernetes"
"""


def test_runner_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    cfg = runnerkey.RunnerConfig.load(path)
    assert [r["name"] for r in cfg.runners] == ["a", "b", "b"]
    assert cfg.runners[0]["token"] == "<redacted>" and cfg.list_runners(show_secrets=True)[0]["token"] == "glrt-secret"
    changed = cfg.set_kubernetes("a", host="https://h:6443", cert_file=tmp_path / "a.crt", namespace="ci")
    assert changed == ["host", "cert_file", "namespace"] and cfg.changed
    assert '+    host = "https://h:6443"' in cfg.diff()
    assert "glrt-secret" not in cfg.diff()
    saved = cfg.save()
    assert saved is not None and Path(saved["backup"]).read_text() == CONFIG
    data = tomllib.loads(path.read_text())
    assert data["runners"][0]["kubernetes"] == {"host": "https://h:6443", "cert_file": str(tmp_path / "a.crt"), "namespace": "ci"}
    assert path.read_text().startswith("concurrent = 1\n# my runners\n")
    again = runnerkey.RunnerConfig.load(path)
    assert again.set_kubernetes("a", host="https://h:6443") == [] and again.save() is None
    assert again.set_kubernetes(2, host="x") == ["host"]
    assert "cert-without-key-or-ca" in {f["code"] for f in runnerkey.RunnerConfig.load(path).lint("a")}
    with pytest.raises(runnerkey.RunnerNotFoundError) as e:
        again.set_kubernetes("zz", host="x")
    assert e.value.available == ["a", "b", "b"] and e.value.name == "zz"
    with pytest.raises(runnerkey.DuplicateRunnerError) as e:
        again.set_kubernetes("b", host="x")
    assert e.value.indexes == [1, 2]
    with pytest.raises(runnerkey.ConfigParseError) as e:
        runnerkey.RunnerConfig.parse('concurrent = 1\n[[runners]\nname = "x"\n')
    assert (e.value.line, e.value.column) == (2, 11)
    bad = tmp_path / "bad.toml"
    bad.write_text('x = "unterminated\n')
    with pytest.raises(runnerkey.ConfigParseError) as e:
        runnerkey.RunnerConfig.load(bad)
    assert e.value.line == 1 and e.value.path == str(bad)
    assert runnerkey.RunnerConfig.parse(CONFIG).text == CONFIG


def test_runner_urls_show_no_password_unless_asked() -> None:
    text = CONFIG.replace('name = "a"\n', 'name = "a"\n  url = "https://deploy:url-pa55@gitlab.example.com/"\n', 1)
    text += '  [runners.kubernetes]\n    host = "https://u:host-pa55@k8s.example.com:6443"\n'
    cfg = runnerkey.RunnerConfig.parse(text)
    shown = cfg.runners
    assert shown[0]["url"] == "https://<redacted>@gitlab.example.com/"
    assert shown[2]["kubernetes"]["host"] == "https://<redacted>@k8s.example.com:6443"
    assert "pa55" not in json.dumps(shown)
    asked = cfg.list_runners(show_secrets=True)
    assert asked[0]["url"] == "https://deploy:url-pa55@gitlab.example.com/"
    assert asked[2]["kubernetes"]["host"] == "https://u:host-pa55@k8s.example.com:6443"
    assert cfg.text == text


def test_rbac_kubeconfig_and_csr_api(tmp_path: Path) -> None:
    m = runnerkey.rbac(user="gitlab-admin", profile="executor", namespace="ci")
    objs = m.to_dict()
    assert len(m) == 3 and [o["kind"] for o in objs] == ["Namespace", "Role", "RoleBinding"] and m.warnings == []
    for o in objs:
        assert errors(o) == []
    assert json.loads(m.to_json())["items"] == objs and m.to_yaml().startswith("---\n")
    sa = runnerkey.rbac(service_account="ci/deployer", profile="deployer", with_token_secret=True)
    assert [o["kind"] for o in sa.to_dict()] == ["Namespace", "ServiceAccount", "Secret", "Role", "RoleBinding"]
    bare = runnerkey.rbac(service_account="ci/deployer", profile="deployer", with_namespaces=False)
    assert [o["kind"] for o in bare.to_dict()] == ["ServiceAccount", "Role", "RoleBinding"]
    assert runnerkey.rbac(user="u", profile="cluster-admin").warnings
    assert "namespaces" in runnerkey.rbac(user="u", namespace="ci", features=["namespace-per-job"]).to_yaml()
    with pytest.raises(runnerkey.InvalidNameError):
        runnerkey.rbac(user="u", namespace="Bad_NS")
    ca = runnerkey.CertificateAuthority.generate(algorithm="ecdsa-p256")
    ca.write_kubeadm(tmp_path)
    key, cert = ca.issue(user="gitlab-admin")
    key.write(tmp_path / "k.key")
    cert.write(tmp_path / "k.crt")
    kc = runnerkey.kubeconfig("https://127.0.0.1:6443", tmp_path / "ca.crt", tmp_path / "k.crt", tmp_path / "k.key")
    assert kc.current_context == "gitlab-admin@kubernetes"
    kc.write(tmp_path / "kubeconfig")
    assert (tmp_path / "kubeconfig").stat().st_mode & 0o777 == 0o600
    assert "client-key" in kc.to_yaml()
    # The file holds the key kubectl needs.
    key_data = base64.b64encode(key.to_pem().encode()).decode()
    assert f"client-key-data: {key_data}" in (tmp_path / "kubeconfig").read_text() and key_data in kc.to_yaml()
    csr = runnerkey.CertificateRequest.create(key, user="gitlab-admin")
    obj = runnerkey.k8s_csr(csr, name="gitlab-admin", expiration="24h")
    assert errors(obj) == [] and obj["spec"]["expirationSeconds"] == 86400
    with pytest.raises(runnerkey.CsrNotIssuedError) as e:
        runnerkey.k8s_csr_certificate(json.dumps(obj), key)
    assert "pending" in e.value.state
    obj["status"] = {"conditions": [{"type": "Approved", "status": "True"}],
                     "certificate": base64.b64encode(ca.sign(csr).to_pem().encode()).decode()}
    assert runnerkey.k8s_csr_certificate(json.dumps(obj), key).user == "gitlab-admin"


def test_setup_and_doctor(tmp_path: Path) -> None:
    ca = runnerkey.CertificateAuthority.generate(algorithm="ecdsa-p256")
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    report = runnerkey.setup(ca=ca, config=cfg, runner="a", server="https://10.0.0.1:6443", out_dir=tmp_path / "ssl", namespace="ci")
    assert {f["action"] for f in report["files"]} == {"created"} and report["changed"] is True
    again = runnerkey.setup(ca=ca, config=cfg, runner="a", server="https://10.0.0.1:6443", out_dir=tmp_path / "ssl",
                            namespace="ci")
    assert again["config_diff"] == "" and again["changed"] is False
    d = runnerkey.doctor(cfg, runner="a")
    r = d["runners"][0]
    assert r["presents"] == {"method": "client_certificate", "user": "gitlab-admin", "groups": []}
    assert r["job_identity"] == "system:serviceaccount:ci:gitlab-deployer" and r["findings"] == []
    offline = runnerkey.doctor(cfg, runner="a", online=True, timeout=1.0)["runners"][0]
    assert offline["online"] and offline["findings"]
    # Timeouts in the CLI's one syntax: seconds, or a duration.
    for timeout in (1, 1.5, "1", "1s", "0m2s"):
        assert runnerkey.doctor(cfg, runner="a", online=True, timeout=timeout)["runners"][0]["online"]
    for bad in ("2d", "0", "soon", -1):
        with pytest.raises(runnerkey.InvalidArgumentError, match="timeout"):
            runnerkey.doctor(cfg, runner="a", online=True, timeout=bad)


def test_errors_are_oserrors_and_valueerrors_where_they_fit(tmp_path: Path) -> None:
    import errno

    missing = tmp_path / "missing.pem"
    try:
        runnerkey.PrivateKey.load(missing)
    except FileNotFoundError as e:
        assert isinstance(e, runnerkey.RunnerkeyIOError) and isinstance(e, runnerkey.RunnerkeyError)
        assert e.errno == errno.ENOENT and e.filename == str(missing) and e.path == str(missing)
        assert str(missing) in str(e)
    else:
        raise AssertionError("no error")
    try:
        runnerkey.PrivateKey.from_pem("not pem at all")
    except ValueError as e:
        assert isinstance(e, runnerkey.PemError)
    else:
        raise AssertionError("no error")
    key = tmp_path / "k.pem"
    runnerkey.PrivateKey.generate().write(key)
    try:
        runnerkey.PrivateKey.generate().write(key)
    except FileExistsError as e:
        assert isinstance(e, runnerkey.OutputExistsError) and "overwrite=True" in str(e)
    else:
        raise AssertionError("no error")
    assert issubclass(runnerkey.InvalidArgumentError, ValueError)
    assert issubclass(runnerkey.ConfigParseError, ValueError)
    assert runnerkey.RunnerkeyIOError.__module__ == "runnerkey"


def test_the_package_installs_the_same_runnerkey_command(tmp_path: Path) -> None:
    """`pip install runnerkey` gives a `runnerkey` command that is the Rust
    CLI itself (through the native module), not a second implementation."""
    import shutil
    import subprocess
    import sys

    from conftest import binary

    exe = Path(sys.executable).parent / "runnerkey"
    assert exe.exists(), "the wheel installs no runnerkey console script"
    for args in (["--version"], ["rbac", "--group", "gitlab-runners", "--profile", "executor", "--namespace", "ci"],
                 ["rbac", "--user", "u", "--profile", "god", "--namespace", "ci"], ["no-such-command"]):
        mine = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60)
        theirs = subprocess.run([str(binary()), *args], capture_output=True, text=True, timeout=60)
        assert (mine.returncode, mine.stdout, mine.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr), args
    assert subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.startswith("runnerkey ")
    assert shutil.which("runnerkey", path=str(exe.parent)) == str(exe)


def test_ensure_refuses_shared_paths_bad_days_and_names_directories(tmp_path: Path) -> None:
    ca = runnerkey.CertificateAuthority.generate(algorithm="ecdsa-p256")
    d = tmp_path / "ssl"
    paths = dict(cert_path=d / "r.crt", key_path=d / "r.key", ca_path=d / "ca.crt")
    first = ca.ensure(**paths, user="r", groups=["a", "b"])
    assert first["changed"] and first["files"][0]["mode"] == "600"
    key = (d / "r.key").read_bytes()
    with pytest.raises(runnerkey.InvalidArgumentError, match="same file"):
        ca.ensure(**{**paths, "ca_path": d / "r.key"}, user="r")
    assert (d / "r.key").read_bytes() == key
    assert not ca.ensure(**paths, user="r", groups=["b", "a"])["changed"], "groups are a set"
    for bad in (-1, 2**40):
        with pytest.raises(runnerkey.InvalidArgumentError, match="days"):
            ca.ensure(**paths, user="r", days=bad)
        with pytest.raises(runnerkey.InvalidArgumentError, match="days"):
            ca.issue(user="r", days=bad)
    (tmp_path / "k.key").mkdir()
    with pytest.raises(runnerkey.RunnerkeyIOError) as e:
        ca.ensure(cert_path=tmp_path / "x.crt", key_path=tmp_path / "k.key", ca_path=tmp_path / "ca.crt", user="r")
    assert "Errno None" not in str(e.value) and "not a regular file" in str(e.value), str(e.value)
