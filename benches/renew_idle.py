#!/usr/bin/env python3
"""Wall time of a whole `runnerkey renew` process when nothing is due — what
the systemd timer costs every 5 to 15 minutes on every runner host — for a
certificate runner renewed with the CA at hand, one renewed through the CSR
API (a kubeconfig), and a token runner; and a check that nothing was
written.

Usage: .venv/bin/python benches/renew_idle.py [--bin target/release/runnerkey] [--runs 200]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def jwt(claims: dict) -> str:
    part = lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def timed(argv: list[str], runs: int) -> list[float]:
    subprocess.run(argv, check=True, capture_output=True)  # warm the page cache
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append((time.perf_counter() - t) * 1000)
    return times


def snapshot(d: Path) -> dict[str, int]:
    return {str(p): p.lstat().st_mtime_ns for p in d.rglob("*")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "runnerkey"))
    ap.add_argument("--runs", type=int, default=200)
    a = ap.parse_args()
    rk = a.bin
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        run = lambda *args: subprocess.run([rk, *map(str, args)], check=True, capture_output=True)  # noqa: E731
        run("ca", "init", "--out-dir", d / "pki", "--algorithm", "ecdsa-p256")
        now = int(time.time())
        cfg = d / "config.toml"
        cfg.write_text('[[runners]]\n  name = "cert"\n  executor = "kubernetes"\n'
                       '[[runners]]\n  name = "token"\n  executor = "kubernetes"\n  [runners.kubernetes]\n'
                       '    host = "https://10.0.0.1:6443"\n'
                       f'    bearer_token = "{jwt({"sub": "system:serviceaccount:ci:runner", "iat": now, "exp": now + 86400})}"\n')
        run("setup", "--ca-dir", d / "pki", "--config", cfg, "--runner", "cert", "--server",
            "https://10.0.0.1:6443", "--out-dir", d / "ssl", "-q")
        kc = d / "ssl" / "kubeconfig"
        cases = {
            "certificate, --ca-dir": ["--runner", "cert", "--ca-dir", d / "pki"],
            "certificate, --kubeconfig (CSR API)": ["--runner", "cert", "--kubeconfig", kc],
            "token, --kubeconfig (TokenRequest)": ["--runner", "token", "--kubeconfig", kc],
        }
        before = snapshot(d)
        print(f"renew, nothing due: {a.runs} runs each of {rk}")
        print("| runner | median | p95 | max |")
        print("|---|---|---|---|")
        for name, extra in cases.items():
            argv = [rk, "renew", "--config", str(cfg), *map(str, extra)]
            out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
            assert "nothing to do" in out, out
            t = sorted(timed(argv, a.runs))
            print(f"| {name} | {statistics.median(t):.2f} ms | {t[int(len(t) * 0.95) - 1]:.2f} ms | {t[-1]:.2f} ms |")
        assert snapshot(d) == before, "renew wrote something while nothing was due"
        print("nothing was written (every mtime unchanged)")


if __name__ == "__main__":
    main()
