"""A local stand-in for a cluster: a kubeadm-style CA made by runnerkey,
serving certificates made by Python `cryptography` (an independent
implementation), and the runnerkey-test-apiserver binary (real TLS, client
certificates authenticated like kube-apiserver, the real API paths)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import ROOT, ok


def apiserver_binary() -> Path:
    env = os.environ.get("RUNNERKEY_APISERVER_BIN")
    return Path(env) if env else ROOT / "target" / "debug" / "runnerkey-test-apiserver"


def make_ca(d: Path, name: str = "ca", algorithm: str = "ecdsa-p256") -> tuple[Path, Path]:
    out = d / name
    ok("ca", "init", "--out-dir", out, "--algorithm", algorithm)
    return out / "ca.crt", out / "ca.key"


def serving_cert(d: Path, ca_crt: Path, ca_key: Path, *, sans: list[str] | None = None,
                 expired: bool = False, name: str = "apiserver") -> tuple[Path, Path]:
    """A kube-apiserver-like serving certificate signed by the CA."""
    ca = x509.load_pem_x509_certificate(ca_crt.read_bytes())
    ca_priv = serialization.load_pem_private_key(ca_key.read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    if expired:
        start, end = now - dt.timedelta(days=400), now - dt.timedelta(days=35)
    else:
        start, end = now - dt.timedelta(minutes=5), now + dt.timedelta(days=365)
    names = []
    for s in sans if sans is not None else ["DNS:kubernetes", "DNS:localhost", "IP:127.0.0.1"]:
        kind, value = s.split(":", 1)
        names.append(x509.DNSName(value) if kind == "DNS" else x509.IPAddress(ipaddress.ip_address(value)))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.BasicConstraints(False, None), True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    cert = builder.sign(ca_priv, hashes.SHA256())
    crt, k = d / f"{name}.crt", d / f"{name}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return crt, k


@dataclass
class ApiServer:
    """A running runnerkey-test-apiserver."""
    url: str
    process: subprocess.Popen
    port: int = 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


def start_apiserver(cert: Path | None, key: Path | None, client_ca: Path | None,
                    rbac: list[Path] = [], plain: bool = False, tokens: dict[str, str] | None = None,  # noqa: B006
                    extra: list[str] | None = None) -> ApiServer:
    args = [str(apiserver_binary()), "--listen", "127.0.0.1:0", *(extra or [])]
    if plain:
        args.append("--plain")
    else:
        args += ["--cert", str(cert), "--key", str(key)]
    if client_ca:
        args += ["--client-ca", str(client_ca)]
    for r in rbac:
        args += ["--rbac", str(r)]
    for token, who in (tokens or {}).items():
        args += ["--token", f"{token}={who}"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline().strip()
    if not line.startswith("listening on "):
        p.kill()
        p.wait()
        p.stdout.close()
        raise RuntimeError(f"apiserver did not start: {line!r}")
    addr = line.removeprefix("listening on ")
    scheme = "http" if plain else "https"
    return ApiServer(url=f"{scheme}://{addr}", process=p, port=int(addr.rsplit(":", 1)[1]))


def kubectl(*args: object, home: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECACHEDIR": str(home / "cache"),
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    return subprocess.run(["kubectl", *map(str, args)], capture_output=True, text=True, env=env, timeout=60)
