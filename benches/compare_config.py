#!/usr/bin/env python3
"""Editing one runner of a 1,000-runner config.toml (~1.3 MB): the whole
`runnerkey runner-config set` process against Python tomlkit (load, set,
dump), on the same file in one run. Also checks what each keeps byte for
byte.

Usage: python3 benches/compare_config.py [--runs N]   (needs tomlkit)
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "target" / "release" / "runnerkey"


def timed(fn, runs: int) -> float:
    xs = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t) * 1000)
    return statistics.median(xs)


def changed(a: str, b: str) -> int:
    return sum(1 for l in difflib.ndiff(a.splitlines(), b.splitlines()) if l[:2] in ("- ", "+ "))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "-j2", "--release", "-p", "runnerkey-cli"], check=True, cwd=ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "big.toml"
        subprocess.run([sys.executable, ROOT / "benches" / "gen_config.py", src, "1000"], check=True)
        original = src.read_text()
        print(f"config: {src.stat().st_size} bytes, 1000 runners")
        work = tmp / "config.toml"

        def rk():
            shutil.copyfile(src, work)
            subprocess.run([CLI, "runner-config", "set", "--config", work, "--runner", "runner-0500",
                            "--host", "https://new:6443", "--ca-file", "/etc/ssl/kubernetes/ca.crt"],
                           check=True, capture_output=True)

        rk_ms = timed(rk, args.runs)
        rk_changed = changed(original, work.read_text())
        try:
            import tomlkit
        except ImportError:
            print(f"runnerkey runner-config set (process, with backup): {rk_ms:.1f} ms, {rk_changed} lines differ")
            print("tomlkit not installed: pip install tomlkit")
            return 0

        def tk():
            doc = tomlkit.parse(src.read_text())
            kube = doc["runners"][500]["kubernetes"]
            kube["host"] = "https://new:6443"
            kube["ca_file"] = "/etc/ssl/kubernetes/ca.crt"
            work.write_text(tomlkit.dumps(doc))

        tk_ms = timed(tk, max(3, args.runs // 5))
        tk_text = work.read_text()
        tk_changed = changed(original, tk_text)
        new_line = next((l for l in tk_text.splitlines() if "ca_file" in l), "")
        print(f"{'':38} {'median ms':>10} {'lines differing':>16}")
        print(f"{'runnerkey runner-config set (process)':38} {rk_ms:10.1f} {rk_changed:16d}")
        print(f"{'tomlkit ' + tomlkit.__version__ + ' (in process)':38} {tk_ms:10.1f} {tk_changed:16d}")
        print(f"ratio tomlkit / runnerkey: {tk_ms / rk_ms:.0f}x")
        print(f"tomlkit's new line: {new_line!r} (siblings are indented 4 spaces)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
