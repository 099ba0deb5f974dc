#!/usr/bin/env python3
"""`runnerkey inspect -o json` on a bundle of 10,000 certificates, against
Python `cryptography` loading the same bundle and reading three fields of
each certificate (subject, notAfter, serial) in one process; each command
run as a whole process, side by side on the same machine in one run.

The bundle (P-256 leaves with SANs, key usage, extended key usage, subject
and authority key ids, signed by one P-256 CA) is made once with
`cryptography` and kept in target/bench/.

Usage: python3 benches/inspect_bundle.py [--runs N] [--bin PATH ...]
  --bin can be given several times (e.g. a build before and after a
  change); default target/release/runnerkey. Uses hyperfine when installed,
  else the median of N runs timed here.
"""

from __future__ import annotations

import argparse
import resource
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "target" / "bench" / "bundle-10000.pem"
PY_READ = (
    "import sys\n"
    "from cryptography import x509\n"
    "certs = x509.load_pem_x509_certificates(open(sys.argv[1], 'rb').read())\n"
    "rows = [(c.subject.rfc4514_string(), c.not_valid_after_utc, c.serial_number) for c in certs]\n"
    "assert len(rows) == 10000\n"
)


def make_bundle(path: Path, count: int = 10_000) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench-ca")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    # One leaf key for all: the bundle is about parsing, not key generation.
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    out = []
    for i in range(count):
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"runners-{i % 17}"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gitlab-runners"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"runner-{i:05d}.example.com"),
            ]))
            .issuer_name(ca_name)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"runner-{i:05d}.example.com")]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        out.append(cert.public_bytes(serialization.Encoding.PEM))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(out))


def median_ms(cmd: list[str], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of `runs` runs,
    in ms; CPU time is the steadier figure on a shared machine."""
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall.append((time.perf_counter() - t) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--bin", action="append", default=[])
    args = ap.parse_args()
    bins = args.bin or [str(ROOT / "target" / "release" / "runnerkey")]
    if not BUNDLE.exists():
        make_bundle(BUNDLE)
    commands = {f"{b} inspect -o json": [b, "inspect", "-o", "json", str(BUNDLE)] for b in bins}
    commands["python cryptography (3 fields)"] = [sys.executable, "-c", PY_READ, str(BUNDLE)]
    if shutil.which("hyperfine"):
        cmd = ["hyperfine", "-N", "--warmup", "2", "--runs", str(args.runs)]
        for name, c in commands.items():
            cmd += ["-n", name, " ".join(c)]
        return subprocess.run(cmd).returncode
    print(f"bundle: {BUNDLE} ({BUNDLE.stat().st_size // 1024} KiB); median of {args.runs} runs")
    print("    wall       cpu  command")
    for name, c in commands.items():
        wall, cpu = median_ms(c, args.runs)
        print(f"{wall:8.1f} ms {cpu:6.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
