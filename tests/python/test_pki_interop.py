"""Issued certificates, CSRs and inspect output, checked by openssl and
Python cryptography rather than by runnerkey's own parser."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store

from conftest import copy_fixture, fixture, ok, openssl, run

LEAF_ALGORITHMS = ["rsa-2048", "rsa-3072", "ecdsa-p256", "ecdsa-p384", "ed25519"]


def _ca_init(work: Path, algorithm: str) -> tuple[Path, Path]:
    d = work / f"ca-{algorithm}"
    ok("ca", "init", "--out-dir", d, "--algorithm", algorithm)
    return d / "ca.crt", d / "ca.key"


def ca_kubeadm_rsa(work: Path) -> tuple[Path, Path]:
    crt, key = _ca_init(work, "rsa-2048")
    assert b"BEGIN RSA PRIVATE KEY" in key.read_bytes()
    return crt, key


def ca_ec_sec1(work: Path) -> tuple[Path, Path]:
    crt, key = _ca_init(work, "ecdsa-p256")
    assert b"BEGIN EC PRIVATE KEY" in key.read_bytes()
    return crt, key


def ca_pkcs8_rsa(work: Path) -> tuple[Path, Path]:
    crt, key = _ca_init(work, "rsa-2048")
    pk8 = key.with_name("ca-pkcs8.key")
    openssl("pkcs8", "-topk8", "-nocrypt", "-in", key, "-out", pk8)
    assert b"BEGIN PRIVATE KEY" in pk8.read_bytes()
    return crt, pk8


def ca_kubeadm_fixture(work: Path) -> tuple[Path, Path]:
    return copy_fixture("kubeadm-ca-rsa2048.crt.pem", work), copy_fixture("kubeadm-ca-rsa2048-pkcs1.key.pem", work)


def ca_x509v1(work: Path) -> tuple[Path, Path]:
    """A v1 CA with no extensions, made the way plain openssl makes one."""
    key, csr, crt = work / "v1.key", work / "v1.csr", work / "v1.crt"
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=v1-ca")
    openssl("x509", "-req", "-in", csr, "-signkey", key, "-out", crt, "-days", "3650")
    assert x509.load_pem_x509_certificate(crt.read_bytes()).version == x509.Version.v1
    return crt, key


CAS = {
    "kubeadm-style-rsa2048-pkcs1": (ca_kubeadm_rsa, True),
    "ec-p256-sec1": (ca_ec_sec1, True),
    "pkcs8-rsa": (ca_pkcs8_rsa, True),
    "kubeadm-fixture-serial0": (ca_kubeadm_fixture, True),
    "openssl-x509v1": (ca_x509v1, False),
}


def client_verifier(ca: x509.Certificate):
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    return (
        PolicyBuilder()
        .store(Store([ca]))
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee_policy)
        .build_client_verifier()
    )


@pytest.mark.parametrize("leaf_alg", LEAF_ALGORITHMS)
@pytest.mark.parametrize("ca_kind", list(CAS))
def test_issued_cert_passes_openssl_and_cryptography(work: Path, ca_kind: str, leaf_alg: str) -> None:
    make_ca, v3 = CAS[ca_kind]
    ca_crt, ca_key = make_ca(work)
    out = work / "out"
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "gitlab-admin",
       "--group", "gitlab-runners", "--group", "deployers", "--algorithm", leaf_alg, "--out-dir", out)
    leaf_path = out / "gitlab-admin.crt"

    verify = openssl("verify", "-purpose", "sslclient", "-CAfile", ca_crt, leaf_path)
    assert verify.stdout.decode().strip().endswith(": OK")

    text = openssl("x509", "-in", leaf_path, "-noout", "-text").stdout.decode()
    assert "Version: 3 (0x2)" in text
    assert "X509v3 Key Usage: critical" in text and "Digital Signature" in text
    assert ("Key Encipherment" in text) == leaf_alg.startswith("rsa")
    assert "TLS Web Client Authentication" in text
    assert "CA:FALSE" in text
    assert "X509v3 Subject Key Identifier" in text
    assert ("X509v3 Authority Key Identifier" in text) == v3

    ca = x509.load_pem_x509_certificate(ca_crt.read_bytes())
    leaf = x509.load_pem_x509_certificate(leaf_path.read_bytes())
    assert leaf.issuer.public_bytes() == ca.subject.public_bytes()
    assert leaf.serial_number > 0 and leaf.serial_number.bit_length() >= 64
    assert [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "gitlab-runners",
        "deployers",
    ]
    if v3:
        aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert aki.key_identifier == ski.digest
        client_verifier(ca).verify(leaf, [])

    key = serialization.load_pem_private_key((out / "gitlab-admin.key").read_bytes(), None)
    assert key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert (out / "gitlab-admin.key").stat().st_mode & 0o777 == 0o600
    assert x509.load_pem_x509_certificate((out / "ca.crt").read_bytes()) == ca


def test_default_validity_is_365_days_and_backdated(work: Path) -> None:
    ca_crt, ca_key = ca_ec_sec1(work)
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u", "--out-dir", work / "o")
    leaf = x509.load_pem_x509_certificate((work / "o" / "u.crt").read_bytes())
    now = dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(minutes=1) < now - leaf.not_valid_before_utc < dt.timedelta(minutes=10)
    assert abs((leaf.not_valid_after_utc - now) - dt.timedelta(days=365)) < dt.timedelta(minutes=5)


def test_duration_and_clamp_to_ca(work: Path) -> None:
    d = work / "ca"
    ok("ca", "init", "--out-dir", d, "--algorithm", "ecdsa-p256", "--days", "30")
    r = ok("issue", "--ca-dir", d, "--user", "u", "--duration", "8760h", "--out-dir", work / "o")
    assert "ends with the CA" in r.err
    ca = x509.load_pem_x509_certificate((d / "ca.crt").read_bytes())
    leaf = x509.load_pem_x509_certificate((work / "o" / "u.crt").read_bytes())
    assert leaf.not_valid_after_utc == ca.not_valid_after_utc
    ok("issue", "--ca-dir", d, "--user", "v", "--duration", "48h", "--out-dir", work / "o")
    leaf = x509.load_pem_x509_certificate((work / "o" / "v.crt").read_bytes())
    assert abs(leaf.not_valid_after_utc - dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=48)) < dt.timedelta(minutes=5)


def test_openssl_csr_with_two_groups_is_signed_keeping_both(work: Path) -> None:
    ca_crt, ca_key = ca_kubeadm_rsa(work)
    key, csr, crt = work / "gitlab-admin.key", work / "gitlab-admin.csr", work / "gitlab-admin.crt"
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=gitlab-admin/O=a/O=b")
    ok("csr", "sign", csr, "--ca-cert", ca_crt, "--ca-key", ca_key, "--days", "30", "--out", crt)
    leaf = x509.load_pem_x509_certificate(crt.read_bytes())
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "gitlab-admin"
    assert [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["a", "b"]
    openssl("verify", "-purpose", "sslclient", "-CAfile", ca_crt, crt)
    client_verifier(x509.load_pem_x509_certificate(ca_crt.read_bytes())).verify(leaf, [])


def test_runnerkey_csr_passes_openssl_req_verify(work: Path) -> None:
    for alg in LEAF_ALGORITHMS:
        key, csr = work / f"{alg}.key", work / f"{alg}.csr"
        ok("key", "generate", "--algorithm", alg, "--out", key)
        ok("csr", "create", "--key", key, "--user", "gitlab-admin", "--group", "g1", "--group", "g2", "--out", csr)
        p = openssl("req", "-in", csr, "-noout", "-verify", "-subject", "-nameopt", "RFC2253")
        assert "verify OK" in (p.stdout + p.stderr).decode()
        parsed = x509.load_pem_x509_csr(csr.read_bytes())
        assert parsed.is_signature_valid
        assert [a.value for a in parsed.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["g1", "g2"]


def test_tampered_csr_is_rejected(work: Path) -> None:
    key, csr = work / "k", work / "c.csr"
    ok("key", "generate", "--out", key)
    ok("csr", "create", "--key", key, "--user", "alice", "--out", csr)
    der = bytearray(x509.load_pem_x509_csr(csr.read_bytes()).public_bytes(serialization.Encoding.DER))
    i = der.index(b"alice")
    der[i : i + 5] = b"admin"
    bad = work / "bad.csr"
    bad.write_bytes(b"-----BEGIN CERTIFICATE REQUEST-----\n" + __import__("base64").encodebytes(bytes(der)) + b"-----END CERTIFICATE REQUEST-----\n")
    ca_crt, ca_key = ca_ec_sec1(work)
    r = run("csr", "sign", bad, "--ca-cert", ca_crt, "--ca-key", ca_key, "--out", work / "x.crt")
    assert r.code == 2 and "signature" in r.err and "bad.csr" in r.err
    assert not (work / "x.crt").exists()


def _hex(b: bytes) -> str:
    return ":".join(f"{x:02X}" for x in b)


def _key_desc(pub) -> dict:
    if isinstance(pub, rsa.RSAPublicKey):
        return {"algorithm": "RSA", "bits": pub.key_size, "curve": None}
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return {"algorithm": "ECDSA", "bits": pub.curve.key_size, "curve": {"secp256r1": "P-256", "secp384r1": "P-384"}[pub.curve.name]}
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return {"algorithm": "Ed25519", "bits": 256, "curve": None}
    raise AssertionError(pub)


CERT_FIXTURES = [
    "kubeadm-ca-rsa2048.crt.pem",
    "kubeadm-client-expired-system-masters.crt.pem",
    "kubeadm-apiserver-serving-ip-sans-expired.crt.pem",
    "kubeadm-front-proxy-client-wrong-ca.crt.pem",
    "openssl-ca-x509v1-no-extensions.crt.pem",
    "openssl-client-system-masters-no-eku.crt.pem",
    "selfsigned-expired-2022.crt.pem",
]


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@pytest.mark.parametrize("name", CERT_FIXTURES)
def test_inspect_json_agrees_with_cryptography(name: str) -> None:
    path = fixture("pki", name)
    items = json.loads(ok("inspect", path, "--json").out)
    certs = x509.load_pem_x509_certificates(path.read_bytes())
    assert len(items) == len(certs)
    now = dt.datetime.now(dt.timezone.utc)
    for item, c in zip(items, certs):
        assert item["kind"] == "certificate"
        cn = c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        assert item["user"] == (cn[0].value if cn else "")
        assert item["groups"] == [a.value for a in c.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        assert item["serial"] == format(c.serial_number, "x")
        assert item["version"] == (1 if c.version == x509.Version.v1 else 3)
        assert item["not_before"] == c.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert item["not_after"] == c.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert item["days_left"] == (c.not_valid_after_utc - now) // dt.timedelta(days=1)
        assert item["expired"] == (now > c.not_valid_after_utc)
        assert item["sha256_fingerprint"] == _hex(c.fingerprint(hashes.SHA256()))
        desc = _key_desc(c.public_key())
        assert {k: item["key"][k] for k in desc} == desc
        spki = c.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert item["key"]["public_key_sha256"] == _hex(__import__("hashlib").sha256(spki).digest())
        exts = {e.oid: e.value for e in c.extensions}
        bc = exts.get(x509.BasicConstraints.oid)
        assert item["is_ca"] == (bc.ca if bc else c.version == x509.Version.v1)
        ku = exts.get(x509.KeyUsage.oid)
        if ku is None:
            assert item["key_usage"] is None
        else:
            assert ("keyCertSign" in item["key_usage"]) == ku.key_cert_sign
            assert ("digitalSignature" in item["key_usage"]) == ku.digital_signature
            assert ("keyEncipherment" in item["key_usage"]) == ku.key_encipherment
        eku = exts.get(x509.ExtendedKeyUsage.oid)
        if eku is None:
            assert item["extended_key_usage"] is None
        else:
            assert ("clientAuth" in item["extended_key_usage"]) == (ExtendedKeyUsageOID.CLIENT_AUTH in eku)
            assert ("serverAuth" in item["extended_key_usage"]) == (ExtendedKeyUsageOID.SERVER_AUTH in eku)
        ski = exts.get(x509.SubjectKeyIdentifier.oid)
        assert item["subject_key_id"] == (_hex(ski.digest) if ski else None)
        aki = exts.get(x509.AuthorityKeyIdentifier.oid)
        assert item["authority_key_id"] == (_hex(aki.key_identifier) if aki and aki.key_identifier else None)
        san = exts.get(x509.SubjectAlternativeName.oid)
        want = []
        if san:
            want = [f"DNS:{n}" for n in san.get_values_for_type(x509.DNSName)] + [
                f"IP:{n}" for n in san.get_values_for_type(x509.IPAddress)
            ]
        assert sorted(item["subject_alt_names"]) == sorted(want)


KEY_FIXTURES = {
    "ec-p256-sec1.key.pem": ("sec1", None),
    "ec-p256-sec1-with-ec-parameters.key.pem": ("sec1", None),
    "ec-p384-sec1.key.pem": ("sec1", None),
    "kubeadm-ca-rsa2048-pkcs1.key.pem": ("pkcs1", None),
    "rsa2048-pkcs1.key.pem": ("pkcs1", None),
    "rsa1024-pkcs8-unencrypted.key.pem": ("pkcs8", None),
}


@pytest.mark.parametrize("name", list(KEY_FIXTURES))
def test_inspect_key_agrees_with_cryptography_and_prints_no_secret(name: str) -> None:
    path = fixture("pki", name)
    fmt, _ = KEY_FIXTURES[name]
    r = ok("inspect", path, "--json")
    items = json.loads(r.out)
    assert len(items) == 1 and items[0]["kind"] == "private_key" and items[0]["format"] == fmt
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    desc = _key_desc(key.public_key())
    assert {k: items[0]["key"][k] for k in desc} == desc
    assert items[0]["key"]["weak"] == (desc["algorithm"] == "RSA" and desc["bits"] < 2048)
    body = "".join(l for l in path.read_text().splitlines()[1:] if not l.startswith("-----"))
    for chunk in (body[i : i + 24] for i in range(0, len(body) - 24, 24)):
        assert chunk not in r.out
    text = ok("inspect", path).out
    assert "contents not shown" in text
    for chunk in (body[i : i + 24] for i in range(0, len(body) - 24, 24)):
        assert chunk not in text


def test_encrypted_pkcs8_with_passphrase(work: Path) -> None:
    plain = work / "k.pem"
    ok("key", "generate", "--algorithm", "rsa-2048", "--out", plain)
    enc = work / "enc.pem"
    openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", plain, "-passout", "pass:s3cret", "-out", enc)
    (work / "pass").write_text("s3cret\n")
    (work / "wrong").write_text("nope\n")
    ok("csr", "create", "--key", enc, "--passphrase-file", work / "pass", "--user", "u", "--out", work / "u.csr")
    # From a pipe, never on disk: /dev/stdin fed by the shell.
    ok("csr", "create", "--key", enc, "--passphrase-file", "/dev/stdin", "--user", "u", "--out", work / "p.csr",
       input="s3cret\n")
    r = run("csr", "create", "--key", enc, "--user", "u", "--out", work / "v.csr")
    assert r.code == 2 and "--passphrase-file" in r.err and "enc.pem" in r.err
    r = run("csr", "create", "--key", enc, "--passphrase-file", work / "wrong", "--user", "u", "--out", work / "v.csr")
    assert r.code == 2 and "passphrase does not decrypt" in r.err
    assert not (work / "v.csr").exists()
    r = run("csr", "create", "--key", fixture("pki", "rsa-pkcs8-encrypted.key.pem"), "--passphrase-file", work / "pass",
            "--user", "u", "--out", work / "w.csr")
    assert r.code == 2 and "pbeWithSHAAnd3-KeyTripleDES-CBC" in r.err and "aes-256-cbc" in r.err


def test_verify_reports_every_problem() -> None:
    r = run("verify", "--ca", fixture("pki", "kubeadm-ca-rsa2048.crt.pem"),
            "--cert", fixture("pki", "kubeadm-client-expired-system-masters.crt.pem"),
            "--key", fixture("pki", "rsa2048-pkcs1.key.pem"), "--json")
    assert r.code == 1
    codes = {p["code"] for p in json.loads(r.out)["problems"]}
    # The fixture key is world-readable in the checkout: a risk of its own.
    assert codes == {"expired", "key-mismatch", "system-masters", "key-file-permissions"}
    r = run("verify", "--ca", fixture("pki", "kubeadm-ca-rsa2048.crt.pem"),
            "--cert", fixture("pki", "kubeadm-front-proxy-client-wrong-ca.crt.pem"), "--json")
    assert r.code == 1
    report = json.loads(r.out)
    problems = {p["code"]: p["message"] for p in report["problems"]}
    assert set(problems) == {"unknown-authority", "expired"}
    assert "front-proxy-ca" in problems["unknown-authority"]
    r = run("verify", "--ca", fixture("pki", "kubeadm-ca-rsa2048.crt.pem"),
            "--cert", fixture("pki", "kubeadm-apiserver-serving-ip-sans-expired.crt.pem"), "--json")
    codes = {p["code"] for p in json.loads(r.out)["problems"]}
    assert "no-client-auth" in codes and "expired" in codes


def test_verify_accepts_v1_ca_and_cert_without_eku(work: Path) -> None:
    key = copy_fixture("openssl-client-system-masters-no-eku-pkcs1.key.pem", work)
    r = run("verify", "--ca", fixture("pki", "openssl-ca-x509v1-no-extensions.crt.pem"),
            "--cert", fixture("pki", "openssl-client-system-masters-no-eku.crt.pem"), "--key", key, "--json")
    # Accepted for client auth (no problem with the chain, EKU or key), but
    # system:masters and a 1000-year validity are risks verify reports.
    assert r.code == 1
    problems = {p["code"]: p["severity"] for p in json.loads(r.out)["problems"]}
    assert problems == {"system-masters": "error", "long-validity": "warning"}
