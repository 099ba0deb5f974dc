"""doctor's verdicts where they used to differ from what the API server
(and kubectl, gitlab-runner) would do: an expired bearer token is expired
offline too, and a client certificate whose key cannot be loaded stops the
online check instead of checking system:anonymous."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from control_plane import ControlPlane
from conftest import ok, run


def jwt(claims: dict) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc({'alg': 'RS256'})}.{enc(claims)}.c2ln"


def test_an_expired_bearer_token_is_expired_offline(tmp_path: Path) -> None:
    now = int(time.time())
    cfg = tmp_path / "config.toml"
    for exp, expired in ((now - 3600, True), (now + 3600, False)):
        token = jwt({"sub": "system:serviceaccount:ci:runner", "iat": now - 7200, "exp": exp})
        cfg.write_text('[[runners]]\nname = "r"\nexecutor = "kubernetes"\n[runners.kubernetes]\n'
                       f'host = "https://10.0.0.1:6443"\nnamespace = "ci"\nbearer_token = "{token}"\n')
        r = run("doctor", "--config", cfg, "--json")
        codes = [f["code"] for f in json.loads(r.out)["runners"][0]["findings"]]
        assert ("bearer-token-expired" in codes) == expired, (exp, codes)
        if expired:
            assert r.code == 1 and token not in r.out + r.err, "the token is never printed"
            status = json.loads(run("status", "--config", cfg, "--json").out)["runners"][0]
            assert status["expired"], "status says the same"


def test_an_unloadable_key_stops_the_online_check(control_plane: ControlPlane, tmp_path: Path) -> None:
    cp = control_plane
    ssl = tmp_path / "ssl"
    ok("issue", "--ca-dir", cp.pki, "--user", "gitlab-admin", "--out-dir", ssl)
    key = ssl / "gitlab-admin.key"
    # Encrypted with a passphrase the runner does not have.
    pem = load_pem_private_key(key.read_bytes(), None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"))
    key.write_bytes(pem)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\nname = "r"\nexecutor = "kubernetes"\n[runners.kubernetes]\n'
                   f'host = "{cp.server}"\nnamespace = "ci"\ncert_file = "{ssl}/gitlab-admin.crt"\n'
                   f'key_file = "{key}"\nca_file = "{ssl}/ca.crt"\n')
    r = run("doctor", "--config", cfg, "--online", "--json")
    report = json.loads(r.out)["runners"][0]
    codes = [f["code"] for f in report["findings"]]
    assert r.code == 1 and "client-setup" in codes, codes
    assert report["authenticated_as"] is None and not report["permissions"], report
    assert "anonymous" not in " ".join(f["message"] for f in report["findings"] if f["code"] != "client-setup")


def expired_ca(d: Path) -> tuple[Path, Path]:
    """A CA whose validity ended yesterday (its key still signs)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old-kubernetes")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=400))
            .not_valid_after(now - dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(True, None), True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), True)
            .sign(key, hashes.SHA256()))
    d.mkdir(parents=True, exist_ok=True)
    crt, k = d / "ca.crt", d / "ca.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return crt, k


def test_an_expired_trust_anchor_fails_as_go_fails(tmp_path: Path) -> None:
    """ca_file's CA, which signed the API server's certificate, has expired:
    Go (kubectl, gitlab-runner) refuses the server — "x509: certificate has
    expired or is not yet valid" — and so does doctor, before anything else."""
    from cluster import serving_cert, start_apiserver

    ca_crt, ca_key = expired_ca(tmp_path / "old")
    srv = start_apiserver(*serving_cert(tmp_path / "old", ca_crt, ca_key), ca_crt)
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text('[[runners]]\nname = "r"\nexecutor = "kubernetes"\n[runners.kubernetes]\n'
                       f'host = "{srv.url}"\nnamespace = "ci"\nca_file = "{ca_crt}"\nbearer_token = "t"\n')
        r = run("doctor", "--config", cfg, "--online", "--json")
        report = json.loads(r.out)["runners"][0]
        codes = [f["code"] for f in report["findings"]]
        assert r.code == 1 and "tls-server-cert-expired" in codes, codes
        assert report["authenticated_as"] is None, report
    finally:
        srv.stop()


def test_a_p521_client_key_is_loaded_and_authenticates(control_plane: ControlPlane, tmp_path: Path) -> None:
    """Go and kube-apiserver take P-521 client keys; runnerkey reads them,
    and doctor --online authenticates with one (it used to fall back to
    no client certificate at all)."""
    from conftest import openssl

    key = tmp_path / "p521.key"
    openssl("ecparam", "-name", "secp521r1", "-genkey", "-noout", "-out", key)
    csr = tmp_path / "p521.csr"
    openssl("req", "-new", "-key", key, "-subj", "/CN=p521-runner/O=gitlab-runners", "-out", csr)
    crt = tmp_path / "p521.crt"
    ok("csr", "sign", csr, "--ca-dir", control_plane.pki, "--out", crt)
    ok("verify", "--ca", control_plane.ca, "--cert", crt, "--key", key)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\nname = "r"\nexecutor = "kubernetes"\n[runners.kubernetes]\n'
                   f'host = "{control_plane.server}"\nnamespace = "ci"\ncert_file = "{crt}"\n'
                   f'key_file = "{key}"\nca_file = "{control_plane.ca}"\n')
    report = json.loads(run("doctor", "--config", cfg, "--online", "--json").out)["runners"][0]
    assert report["authenticated_as"]["username"] == "p521-runner", report


def test_a_sha1_signed_client_certificate_is_refused_as_go_says(tmp_path: Path) -> None:
    from conftest import openssl

    ca_key, ca_crt = tmp_path / "ca.key", tmp_path / "ca.crt"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt, "-days", "30",
            "-subj", "/CN=kubernetes")
    key, csr, crt = tmp_path / "u.key", tmp_path / "u.csr", tmp_path / "u.crt"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=u")
    (tmp_path / "ext").write_text("extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-sha1", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-days", "10",
            "-extfile", tmp_path / "ext", "-out", crt)
    r = run("verify", "--ca", ca_crt, "--cert", crt)
    assert r.code == 1 and "insecure algorithm SHA1-RSA" in r.out, r
