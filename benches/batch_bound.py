"""`issue --batch` against its floor: N W2 certificates (P-256 leaf keys,
RSA-2048 CA) compared with the two-core signing bound — N RSA-2048
signatures spread over the machine's cores, the one cost no batch can
avoid (measured with `issue_timing W2`, the raw aws-lc-rs signature, on
one core; two processes sign side by side at the same speed).

Two cases, each on tmpfs (/dev/shm: CPU only) and on the disk (TMPDIR or
/tmp; everything flushed before each run): a first issuance into fresh directories (median of RUNS runs, each
into new directories), and `--force` replacing every pair (the versioned
switch of the credential directory).

    python3 benches/batch_bound.py [--bin B]... [--n 1000] [--runs 7]

Needs release builds: `cargo build --release -p runnerkey-cli` and
`cargo build --release -p runnerkey --example issue_timing`."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def signature_us() -> float:
    out = subprocess.run([str(ROOT / "target/release/examples/issue_timing"), "W2", "2000"],
                         check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    for key in ("ca_sign_us", "ca_signature_us", "sign_us"):
        if key in data:
            return float(data[key])
    raise SystemExit(f"issue_timing printed no signature time: {out}")


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr[-2000:]}")
    return time.perf_counter() - start


def batch_file(d: Path, n: int, out: Path) -> Path:
    f = d / "fleet.jsonl"
    f.write_text("".join(json.dumps({"host": f"runner-{i}", "out_dir": str(out / f"rack-{i % 10}")}) + "\n"
                         for i in range(n)))
    return f


def case(binary: str, base: Path, ca: Path, n: int, runs: int, force: bool) -> float:
    times = []
    out = base / "out-force"
    for r in range(runs + 1):
        if not force:
            out = base / f"out-{r}"
        batch = batch_file(base, n, out)
        cmd = [binary, "issue", "--ca-dir", str(ca), "--batch", str(batch), "--user", "gitlab-runner:{host}",
               "--group", "gitlab-runners"] + (["--force"] if force else [])
        # Dirty data of other programs (a build) is flushed first: a
        # batch's syncs must not pay for it.
        os.sync()
        t = timed(cmd)
        if r > 0 or not force:
            times.append(t)
        if not force:
            shutil.rmtree(out)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", default=None)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    bins = a.bin or [str(ROOT / "target/release/runnerkey")]
    cores = os.cpu_count() or 1
    sig = signature_us()
    bound = a.n * sig / 1e6 / cores
    print(f"{a.n} W2 certificates; RSA-2048 signature {sig:.0f} us; {cores}-core signing bound {bound:.3f} s")
    for where, root in [("tmpfs", "/dev/shm"), ("disk", os.environ.get("TMPDIR", "/tmp"))]:
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            base = Path(tmp)
            ca = base / "ca"
            subprocess.run([bins[0], "ca", "init", "--out-dir", str(ca), "--algorithm", "rsa-2048"], check=True,
                           capture_output=True)
            for b in bins:
                for force in (False, True):
                    t = case(b, base, ca, a.n, a.runs, force)
                    label = "--force, replacing" if force else "first issuance"
                    print(f"  {where:5} {Path(b).name:14} {label:20} {t:.3f} s  = {t / bound:.2f}x the bound")


if __name__ == "__main__":
    main()
