#!/usr/bin/env python3
"""Side-by-side: issuing one client certificate with runnerkey (library and
CLI process) against the openssl CLI recipe and Python cryptography, on the
same machine in one run.

Workloads: W1 RSA-2048 leaf + RSA-2048 CA, W2 P-256 leaf + RSA-2048 CA,
W3 P-256 leaf + P-256 CA. Prints per-certificate times and ratios.

Then the fleet case: `issue --batch` of 1,000 W2 certificates on one thread
and on every core, against a Python cryptography loop writing the same
files, and runnerkey's Python issue_many.

Usage: python3 benches/compare.py [--runs N] [--batch-only] [--batch N]   (builds the release binaries)
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


def cryptography_batch(ca: Path, out: Path, n: int) -> None:
    """What a Python script does for a fleet: one loop, W2, the three files
    written (key 0600 from creation, fsynced like runnerkey's)."""
    from cryptography.hazmat.primitives import serialization

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    import os

    ca_cert = x509.load_pem_x509_certificate((ca / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((ca / "ca.key").read_bytes(), None)
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value

    def write(path: Path, data: bytes, mode: int) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    for i in range(n):
        d = out / f"rack-{i % 10}"
        d.mkdir(mode=0o700, exist_ok=True)
        user = f"gitlab-runner:runner-{i}"
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user),
                                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gitlab-runners")]))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=365))
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
                .add_extension(x509.BasicConstraints(False, None), True)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
                .sign(ca_key, hashes.SHA256()))
        write(d / f"{user}.key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()), 0o600)
        write(d / f"{user}.crt", cert.public_bytes(serialization.Encoding.PEM), 0o644)
        if not (d / "ca.crt").exists():
            write(d / "ca.crt", ca_pem, 0o644)


def batch_case(n: int, runs: int) -> None:
    """`issue --batch` of n W2 certificates on 1 thread and on every core,
    against Python cryptography's loop and runnerkey's issue_many."""
    import os
    print(f"\nbatch: {n} W2 certificates (P-256 leaf, RSA-2048 CA), three files each; "
          f"{os.cpu_count()} cores; median of {runs} runs, seconds")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ca = tmp / "ca"
        run(CLI, "ca", "init", "--out-dir", ca, "--algorithm", "rsa-2048")
        batch = tmp / "fleet.jsonl"
        batch.write_text("".join(json.dumps({"host": f"runner-{i}", "out_dir": str(tmp / "out" / f"rack-{i % 10}")}) + "\n"
                                 for i in range(n)))

        def cli(jobs: int, *prefix: str):
            return lambda: run(*prefix, CLI, "issue", "--ca-dir", ca, "--batch", batch, "--user", "gitlab-runner:{host}",
                               "--group", "gitlab-runners", "--force", "--jobs", jobs)
        figures = {}
        figures["runnerkey issue --batch, 1 thread"] = median_ms(cli(1), runs) / 1000
        figures["runnerkey issue --batch, default threads, 1 core"] = median_ms(cli(0, "taskset", "-c", "0"), runs) / 1000
        figures[f"runnerkey issue --batch, default threads, {os.cpu_count()} cores"] = median_ms(cli(0), runs) / 1000

        def py_loop():
            out = tmp / "py"
            out.mkdir(exist_ok=True)
            cryptography_batch(ca, out, n)
        figures["Python cryptography, one process"] = median_ms(py_loop, runs) / 1000
        try:
            import runnerkey
            ca_obj = runnerkey.CertificateAuthority.load(ca / "ca.crt", ca / "ca.key")
            entries = [{"host": f"runner-{i}", "out_dir": str(tmp / "rkpy" / f"rack-{i % 10}")} for i in range(n)]
            figures["runnerkey Python issue_many"] = median_ms(
                lambda: ca_obj.issue_many(entries, user_template="gitlab-runner:{host}", groups=["gitlab-runners"],
                                          overwrite=True), runs) / 1000
        except ImportError:
            pass
        for name, secs in figures.items():
            print(f"  {name:45} {secs:8.3f} s  {n / secs:8.0f} certificates/s")
        one = figures["runnerkey issue --batch, default threads, 1 core"]
        allc = figures[f"runnerkey issue --batch, default threads, {os.cpu_count()} cores"]
        print(f"  all cores / one core: {one / allc:.2f}x; all cores / 1 thread: "
              f"{figures['runnerkey issue --batch, 1 thread'] / allc:.2f}x; Python cryptography / runnerkey: "
              f"{figures['Python cryptography, one process'] / allc:.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--batch-only", action="store_true", help="only the issue --batch case")
    ap.add_argument("--batch", type=int, default=1000, help="entries of the batch case")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "-j2", "--release", "-p", "runnerkey-cli", "-p", "runnerkey",
                        "--example", "issue_timing"], check=True, cwd=ROOT)
        subprocess.run(["cargo", "build", "-j2", "--release", "-p", "runnerkey-cli"], check=True, cwd=ROOT)
    if args.batch_only:
        batch_case(args.batch, max(3, args.runs // 6))
        return 0
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
    batch_case(args.batch, max(3, args.runs // 6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
