#!/usr/bin/env python3
"""Side-by-side: issuing one client certificate with runnerkey (library and
CLI process) against the openssl CLI recipe and Python cryptography, on the
same machine in one run.

Workloads: W1 RSA-2048 leaf + RSA-2048 CA, W2 P-256 leaf + RSA-2048 CA,
W3 P-256 leaf + P-256 CA. Prints per-certificate times and ratios.

Usage: python3 benches/compare.py [--runs N]   (builds the release binaries)
Needs: openssl on PATH, Python `cryptography`; the runnerkey Python package
is measured too when importable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "target" / "release" / "runnerkey"
LIB = ROOT / "target" / "release" / "examples" / "issue_timing"
WORKLOADS = {"W1": ("rsa-2048", "rsa-2048"), "W2": ("ecdsa-p256", "rsa-2048"), "W3": ("ecdsa-p256", "ecdsa-p256")}


def median_ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def run(*args) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True)


def cli_issue(ca: Path, out: Path, leaf: str):
    return lambda: run(CLI, "issue", "--ca-dir", ca, "--user", "gitlab-admin", "--group", "gitlab-runners",
                       "--algorithm", leaf, "--out-dir", out, "--force")


def openssl_recipe(ca: Path, out: Path, leaf: str):
    newkey = ["-newkey", "rsa:2048"] if leaf.startswith("rsa") else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    ext = out / "ext.cnf"
    ext.write_text("keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
                   "basicConstraints=critical,CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")

    def go():
        run("openssl", "req", *newkey, "-nodes", "-keyout", out / "o.key", "-out", out / "o.csr",
            "-subj", "/CN=gitlab-admin/O=gitlab-runners")
        run("openssl", "x509", "-req", "-in", out / "o.csr", "-CA", ca / "ca.crt", "-CAkey", ca / "ca.key",
            "-CAcreateserial", "-days", "365", "-extfile", ext, "-out", out / "o.crt")
    return go


def cryptography_inprocess(ca: Path, leaf: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert = x509.load_pem_x509_certificate((ca / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((ca / "ca.key").read_bytes(), None)
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitlab-admin"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gitlab-runners")])

    def go():
        key = rsa.generate_private_key(65537, 2048) if leaf.startswith("rsa") else ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        b = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_cert.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=365))
             .add_extension(x509.KeyUsage(True, False, leaf.startswith("rsa"), False, False, False, False, False, False), True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
             .add_extension(x509.BasicConstraints(False, None), True)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False))
        b.sign(ca_key, hashes.SHA256())
    return go


PY_PROCESS = """
import sys, datetime as dt
from pathlib import Path
sys.path.insert(0, {bench!r})
from compare import cryptography_inprocess
cryptography_inprocess(Path({ca!r}), {leaf!r})()
"""


def runnerkey_python(ca: Path, leaf: str):
    import runnerkey  # noqa: F401  (measured only when the package is installed)
    ca_obj = runnerkey.CertificateAuthority.load(ca / "ca.crt", ca / "ca.key")
    return lambda: ca_obj.issue(user="gitlab-admin", groups=["gitlab-runners"], algorithm=leaf)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "-j2", "--release", "-p", "runnerkey-cli", "-p", "runnerkey",
                        "--example", "issue_timing"], check=True, cwd=ROOT)
        subprocess.run(["cargo", "build", "-j2", "--release", "-p", "runnerkey-cli"], check=True, cwd=ROOT)
    print(f"openssl: {subprocess.run(['openssl', 'version'], capture_output=True, text=True).stdout.strip()}")
    import cryptography
    print(f"python cryptography {cryptography.__version__}, runs per figure: {args.runs} (median)\n")
    header = f"{'workload':8} {'runnerkey lib':>14} {'crypto ops':>11} {'lib/ops':>8} {'runnerkey CLI':>14} {'openssl CLI':>12} {'py crypt. lib':>14} {'py crypt. proc':>15} {'rk python':>10}"
    print(header)
    rows = []
    for w, (leaf, ca_alg) in WORKLOADS.items():
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            ca, out = tmp / "ca", tmp / "out"
            out.mkdir()
            run(CLI, "ca", "init", "--out-dir", ca, "--algorithm", ca_alg)
            runs = max(5, args.runs // 5) if leaf.startswith("rsa") else args.runs
            lib = json.loads(subprocess.run([LIB, w, str(runs * 20)], check=True, capture_output=True, text=True).stdout)
            cli = median_ms(cli_issue(ca, out, leaf), runs)
            ossl = median_ms(openssl_recipe(ca, out, leaf), runs)
            pyl = median_ms(cryptography_inprocess(ca, leaf), runs * 5)
            proc = median_ms(lambda: subprocess.run([sys.executable, "-c", PY_PROCESS.format(bench=str(ROOT / "benches"), ca=str(ca), leaf=leaf)], check=True), max(5, runs // 3))
            try:
                rkpy = f"{median_ms(runnerkey_python(ca, leaf), runs * 5):10.3f}"
            except ImportError:
                rkpy = f"{'n/a':>10}"
            row = (w, lib["issue_us"] / 1000, lib["crypto_us"] / 1000, lib["ratio"], cli, ossl, pyl, proc)
            rows.append(row)
            print(f"{w:8} {row[1]:14.3f} {row[2]:11.3f} {row[3]:8.2f} {cli:14.2f} {ossl:12.2f} {pyl:14.3f} {proc:15.1f} {rkpy}")
    print("\n(all figures in ms per certificate; 'crypto ops' = one raw aws-lc-rs key generation + one CA signature)")
    print("ratios:")
    for w, lib_ms, ops, ratio, cli, ossl, pyl, proc in rows:
        print(f"  {w}: openssl CLI / runnerkey CLI = {ossl / cli:5.1f}x   python process / runnerkey CLI = {proc / cli:5.1f}x   "
              f"cryptography lib / runnerkey lib = {pyl / lib_ms:5.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
