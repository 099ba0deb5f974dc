"""One renewal policy decides "expiring" for doctor, renew and status:
right after a certificate is issued (30 days, 90 minutes) none of them asks
for a renewal; once it is due, all three say so."""

from __future__ import annotations

import datetime
import tomllib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from cluster import make_ca
from conftest import ok, run

CONFIG = '[[runners]]\n  name = "r"\n  url = "https://gitlab.example.com"\n  token = "glrt-r"\n' \
         '  executor = "kubernetes"\n  [runners.kubernetes]\n    namespace = "gitlab-runner"\n'


def set_up(tmp_path: Path, *lifetime: str) -> tuple[Path, Path, Path, str]:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    s = ok("setup", "--ca-dir", ca_crt.parent, "--server", "https://127.0.0.1:1", "--runner", "r",
           "--config", cfg, "--out-dir", tmp_path / "ssl", *lifetime)
    return cfg, ca_crt, ca_key, s.out + s.err


@pytest.mark.parametrize("lifetime", [["--days", "30"], ["--duration", "90m"]])
def test_a_fresh_certificate_is_not_expiring_for_anyone(tmp_path: Path, lifetime: list[str]) -> None:
    cfg, ca_crt, _, setup_out = set_up(tmp_path, *lifetime)
    assert "cert-expiring" not in setup_out, setup_out
    d = run("doctor", "--config", cfg, "-o", "json")
    assert "cert-expiring" not in d.out, d.out
    r = ok("renew", "--config", cfg, "--runner", "r", "--ca-dir", ca_crt.parent)
    assert "nothing to do" in r.out, r.out
    s = ok("status", "--config", cfg)
    assert "✓" in s.out, s.out


def test_a_due_certificate_is_due_for_everyone(tmp_path: Path) -> None:
    cfg, ca_crt, ca_key, _ = set_up(tmp_path)
    # The same identity and key, past two thirds of its 30 days.
    cert_file = Path(tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]["cert_file"]).resolve()
    old = x509.load_pem_x509_certificate(cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_crt.read_bytes())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(ca.subject)
            .public_key(old.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=25)).not_valid_after(now + datetime.timedelta(days=5))
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(serialization.load_pem_private_key(ca_key.read_bytes(), None), hashes.SHA256()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    d = run("doctor", "--config", cfg)
    assert "cert-expiring" in d.out + d.err and "due for renewal since" in d.out + d.err, d
    s = run("status", "--config", cfg)
    assert s.code == 1 and "renewal was due on" in s.out, s.out
    r = ok("renew", "--config", cfg, "--runner", "r", "--ca-dir", ca_crt.parent)
    assert "renewed" in r.out, r.out
    assert "cert-expiring" not in run("doctor", "--config", cfg).out
