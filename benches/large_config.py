#!/usr/bin/env python3
"""Time and peak memory of the config commands on large config.toml files
(1,000 and 10,000 runners from gen_config.py), median of N runs each, with
Python's tomllib as the yardstick for merely parsing the file.

Usage: python3 benches/large_config.py [--bin target/release/runnerkey] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(cmd: list[str], runs: int) -> tuple[float, int]:
    times, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.execv(cmd[0], cmd)
        _, status, usage = os.wait4(pid, 0)
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss)
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            sys.exit(f"{cmd} failed")
    return statistics.median(times), max(peaks)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(HERE.parent / "target" / "release" / "runnerkey"))
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        rows = []
        for n in (1000, 10000):
            cfg = Path(d) / f"c{n}.toml"
            subprocess.run([sys.executable, str(HERE / "gen_config.py"), str(cfg), str(n)], check=True)
            size = cfg.stat().st_size
            edit = Path(d) / f"e{n}.toml"
            shutil.copy(cfg, edit)
            cases = {
                "show": [a.bin, "runner-config", "show", "--config", str(cfg)],
                "lint": [a.bin, "runner-config", "lint", "--config", str(cfg)],
                "doctor --runner X": [a.bin, "doctor", "--config", str(cfg), "--runner", "runner-0005"],
                "set (one runner)": [a.bin, "runner-config", "set", "--config", str(edit), "--runner",
                                     "runner-0500", "--namespace", "bench", "--no-backup"],
                "tomllib parse": [sys.executable, "-c", f"import tomllib; tomllib.load(open({str(cfg)!r}, 'rb'))"],
            }
            for name, cmd in cases.items():
                secs, kb = measure(cmd, a.runs)
                rows.append((n, size, name, secs, kb))
        print(f"{'runners':>8} {'bytes':>10}  {'command':<20} {'median':>9} {'peak RSS':>10} {'RSS/size':>8}")
        for n, size, name, secs, kb in rows:
            print(f"{n:>8} {size:>10}  {name:<20} {secs * 1000:>7.0f} ms {kb / 1024:>7.1f} MB {kb * 1024 / size:>7.1f}x")


if __name__ == "__main__":
    main()
