#!/usr/bin/env python3
"""Wall time of `runnerkey doctor --online` against the loopback stand-in
API server (real TLS, client certificates, RBAC), and how many TLS
handshakes one run costs.

Usage: .venv/bin/python benches/doctor_online.py [--bin target/release/runnerkey] [--runs 10]
(the stand-in server is target/debug/runnerkey-test-apiserver; cargo build first)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))

from cluster import make_ca, serving_cert, start_apiserver  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "runnerkey"))
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    import os
    os.environ["RUNNERKEY_BIN"] = a.bin
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        ca_crt, ca_key = make_ca(d, "cluster")
        subprocess.run([a.bin, "issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "gitlab-admin",
                        "--out-dir", d / "ssl"], check=True, capture_output=True)
        rbac = d / "rbac.yaml"
        rbac.write_text(subprocess.run([a.bin, "rbac", "--user", "gitlab-admin", "--profile", "executor",
                                        "--namespace", "ci"], check=True, capture_output=True, text=True).stdout)
        crt, key = serving_cert(d, ca_crt, ca_key)
        log = d / "handshakes.log"
        srv = start_apiserver(crt, key, ca_crt, rbac=[rbac], extra=["--handshake-log", str(log)])
        try:
            (d / "trust").mkdir()
            (d / "trust" / "ca.crt").write_bytes(ca_crt.read_bytes())
            cfg = d / "config.toml"
            cfg.write_text(f'[[runners]]\n  name = "k"\n  executor = "kubernetes"\n  [runners.kubernetes]\n'
                           f'    host = "{srv.url}"\n    cert_file = "{d}/ssl/gitlab-admin.crt"\n'
                           f'    key_file = "{d}/ssl/gitlab-admin.key"\n    ca_file = "{d}/trust/ca.crt"\n'
                           '    namespace = "ci"\n    service_account = "deployer"\n')
            times = []
            for _ in range(a.runs):
                log.write_text("")
                start = time.perf_counter()
                subprocess.run([a.bin, "doctor", "--config", cfg, "--online"], capture_output=True)
                times.append(time.perf_counter() - start)
            handshakes = len(log.read_text().splitlines())
        finally:
            srv.stop()
    print(f"doctor --online: median {statistics.median(times) * 1000:.0f} ms over {a.runs} runs, "
          f"{handshakes} TLS handshake(s) per run")


if __name__ == "__main__":
    main()
