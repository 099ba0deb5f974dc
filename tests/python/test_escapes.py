"""Text from certificates, config.toml and the environment is data: it never
reaches a terminal raw, YAML output stays valid YAML that reads back as the
JSON, and hostile values (a trust store that is /dev/zero, a server URL with
ESC) are refused or bounded. Regression tests for what an attack found."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import time
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cluster import make_ca
from conftest import binary, ok, run
from test_output import Yaml12Loader

EVIL_CN = "evil\nFAKE: line\x1b[31mred\x07\r\rz\u202e"
EVIL_O = "g\r\nx"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202e]")


def evil_cert(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, EVIL_CN),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, EVIL_O)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(5).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    crt, k = tmp_path / "evil.crt", tmp_path / "evil.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return crt, k


def lines_start_with_labels(text: str) -> bool:
    """No line of the text report starts with the forged `FAKE:` label."""
    return not any(line.startswith("FAKE") for line in text.splitlines())


def test_hostile_names_reach_no_terminal_raw_and_yaml_reads_back(tmp_path: Path) -> None:
    crt, key = evil_cert(tmp_path)
    for args in (["inspect", crt], ["verify", "--ca", crt, "--cert", crt, "--key", key]):
        text = run(*args)
        assert text.code in (0, 1), text
        assert not RAW.search(text.out + text.err), (args, text.out)
        assert lines_start_with_labels(text.out), (args, text.out)
        as_json = json.loads(run(*args, "-o", "json").out)
        as_yaml = run(*args, "-o", "yaml").out
        assert not RAW.search(as_yaml), as_yaml
        assert yaml.load(as_yaml, Loader=Yaml12Loader) == as_json, args
    # The escapes are YAML's, not Rust's: `\u{202e}` would read back as text.
    assert not re.search(r"(?<!\\)\\u\{", run("inspect", crt, "-o", "yaml").out)


def test_prometheus_labels_and_runner_config_show_carry_no_control_characters(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\nname = "r\\u001b[2J\\r"\nexecutor = "kubernetes"\n'
                   '[runners.kubernetes]\nhost = "https://10.0.0.1:6443"\nbearer_token = "x"\n')
    prom = run("status", "--config", cfg, "--prometheus", "-")
    assert not RAW.search(prom.out + prom.err), prom.out
    assert 'runner="r\\\\x1b[2J\\\\x0d"' in prom.out, prom.out
    show = run("runner-config", "show", "--config", cfg)
    assert show.code == 0 and not RAW.search(show.out + show.err), show.out


def test_a_server_url_with_control_characters_is_refused(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u", "--out-dir", tmp_path / "ssl")
    for server in ("https://10.0.0.1:6443\x1b[2J", "https://10.0.0.1\x00:6443"):
        r = run("kubeconfig", "--server", server, "--ca", ca_crt, "--cert", tmp_path / "ssl" / "u.crt",
                "--key", tmp_path / "ssl" / "u.key", "--out", tmp_path / "k.conf") \
            if "\x00" not in server else None
        if r is None:
            # argv cannot carry NUL; config.toml can (a TOML escape).
            cfg = tmp_path / "config.toml"
            cfg.write_text('[[runners]]\nname = "r"\nexecutor = "kubernetes"\n'
                           '[runners.kubernetes]\nhost = "https://10.0.0.1\\u0000:6443"\n')
            r = run("doctor", "--config", cfg, "--online")
            assert r.code in (1, 2) and "not a URL" in r.out + r.err, r
            continue
        assert r.code == 2 and not (tmp_path / "k.conf").exists(), r
        assert not RAW.search(r.err), r.err


def test_csr_sign_says_which_requested_extensions_it_drops(tmp_path: Path) -> None:
    ca_dir = make_ca(tmp_path, "pki")[0].parent
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "u")]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName("evil.example")]), critical=False)
           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
           .sign(key, hashes.SHA256()))
    f = tmp_path / "u.csr"
    f.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    r = ok("csr", "sign", f, "--ca-dir", ca_dir, "--out", tmp_path / "u.crt")
    assert "warning" in r.err and "does not carry" in r.err, r
    cert = x509.load_pem_x509_certificate((tmp_path / "u.crt").read_bytes())
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    try:
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        raise AssertionError("the SAN was copied")
    except x509.ExtensionNotFound:
        pass


def test_the_system_trust_store_is_read_bounded(tmp_path: Path) -> None:
    """No ca_file: the system store is read as Go finds it, but SSL_CERT_FILE
    pointing at /dev/zero, a FIFO or SSL_CERT_DIR=/proc/self can neither
    exhaust memory nor hang the command."""
    cfg = tmp_path / "config.toml"
    # Nothing listens on port 1: the connection is refused after the store is read.
    cfg.write_text('[[runners]]\nname = "r"\nexecutor = "kubernetes"\n'
                   '[runners.kubernetes]\nhost = "https://127.0.0.1:1"\n')
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for env in ({"SSL_CERT_FILE": "/dev/zero"}, {"SSL_CERT_FILE": str(fifo)},
                {"SSL_CERT_DIR": "/proc/self"}, {"SSL_CERT_FILE": "/dev/zero", "SSL_CERT_DIR": "/dev"}):
        start = time.monotonic()
        p = subprocess.run(["sh", "-c", 'ulimit -v 1500000; exec "$@"', "sh", str(binary()), "doctor", "--config",
                            str(cfg), "--online", "--timeout", "5"],
                           capture_output=True, text=True, timeout=120, env={**os.environ, **env})
        assert p.returncode in (1, 2), (env, p.returncode, p.stderr[-500:])
        # Bounded by the trust store's own deadline and the connect timeout,
        # not by the size of what the variables point at.
        assert time.monotonic() - start < 60, env
