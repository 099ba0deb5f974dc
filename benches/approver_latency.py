"""How fast `runnerkey approver run` approves, on loopback against the real
control plane (scripts/control-plane.sh): N requests (default 100), each a
renewal of its submitter's own identity, created one after another by 10
runner identities over HTTP (keep-alive, their client certificates); the
latency of each is from the moment its create returned to the moment a watch
(held by the admin) saw its Approved condition. Then the approver's CPU time
and memory (RSS) while idle for 30 s. Prints median and p95.

    python3 benches/approver_latency.py [N]

Needs the built binary (target/debug/runnerkey, or RUNNERKEY_BIN), Python
`cryptography`, and the control plane (built once by
`bash scripts/control-plane.sh build`; started and stopped here)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("RUNNERKEY_BIN", ROOT / "target/debug/runnerkey"))
PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


def rk(*args: object) -> str:
    return subprocess.run([str(BIN), *map(str, args)], check=True, capture_output=True, text=True).stdout


def connection(server: str, ca: Path, crt: Path, key: Path) -> http.client.HTTPSConnection:
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.load_cert_chain(str(crt), str(key))
    host, port = server.removeprefix("https://").rsplit(":", 1)
    return http.client.HTTPSConnection(host, int(port), context=ctx)


def csr(user: str, group: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, group)])
    pem = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256()).public_bytes(
        serialization.Encoding.PEM)
    return base64.b64encode(pem).decode()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    work = Path(tempfile.mkdtemp(prefix="rk-approver-bench."))
    cp = work / "cp"
    subprocess.run(["bash", str(ROOT / "scripts/control-plane.sh"), "start", str(cp)], check=True,
                   capture_output=True)
    env = dict(line.removeprefix("export ").split("=", 1) for line in (cp / "env").read_text().splitlines())
    env = {k: v.strip("'") for k, v in env.items()}
    server, ca, pki = env["RUNNERKEY_CP_SERVER"], Path(env["RUNNERKEY_CP_CA"]), Path(env["RUNNERKEY_CP_PKI"])
    admin = env["RUNNERKEY_CP_ADMIN_KUBECONFIG"]
    kubectl = ["kubectl", "--kubeconfig", admin]
    try:
        subprocess.run(kubectl + ["apply", "-f", "-"], input=rk("rbac", "--profile", "renewer", "--group", "bench"),
                       text=True, check=True, capture_output=True)
        subprocess.run(kubectl + ["apply", "-f", "-"],
                       input=rk("rbac", "--profile", "approver", "--user", "runnerkey-approver"),
                       text=True, check=True, capture_output=True)
        rk("issue", "--ca-dir", pki, "--user", "runnerkey-approver", "--out-dir", work / "approver")
        rk("kubeconfig", "--server", server, "--ca", ca, "--cert", work / "approver/runnerkey-approver.crt",
           "--key", work / "approver/runnerkey-approver.key", "--out", work / "approver.conf")
        users = []
        for i in range(10):
            d = work / f"u{i}"
            rk("issue", "--ca-dir", pki, "--user", f"bench{i}", "--group", "bench", "--out-dir", d)
            users.append((f"bench{i}", connection(server, ca, d / f"bench{i}.crt", d / f"bench{i}.key")))
        approver = subprocess.Popen([str(BIN), "approver", "run", "--kubeconfig", str(work / "approver.conf"),
                                     "--rate", f"{n}/1h"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seen: dict[str, float] = {}
        watcher = connection(server, ca, pki / "admin.crt", pki / "admin.key")
        watcher.request("GET", f"{PATH}?watch=true&timeoutSeconds=600")
        stream = watcher.getresponse()

        def watch() -> None:
            for line in stream:
                ev = json.loads(line)
                obj = ev["object"]
                if any(c["type"] == "Approved" for c in obj.get("status", {}).get("conditions") or []):
                    seen.setdefault(obj["metadata"]["name"], time.monotonic())

        threading.Thread(target=watch, daemon=True).start()
        time.sleep(1)
        created: dict[str, float] = {}
        for i in range(n):
            user, conn = users[i % len(users)]
            name = f"bench-{i}"
            body = json.dumps({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                               "metadata": {"name": name},
                               "spec": {"request": csr(user, "bench"), "usages": ["client auth"],
                                        "signerName": "kubernetes.io/kube-apiserver-client"}})
            conn.request("POST", PATH, body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 201, r.status
            created[name] = time.monotonic()
            time.sleep(0.05)
        deadline = time.monotonic() + 60
        while len(seen) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        latencies = sorted((seen[k] - created[k]) * 1000 for k in created if k in seen)
        print(f"approved {len(latencies)}/{n}")
        print(f"latency ms: median {statistics.median(latencies):.1f}, "
              f"p95 {latencies[int(0.95 * (len(latencies) - 1))]:.1f}, max {latencies[-1]:.1f}")

        def cpu_rss() -> tuple[float, int]:
            stat = Path(f"/proc/{approver.pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = os.sysconf("SC_CLK_TCK")
            rss = int(Path(f"/proc/{approver.pid}/status").read_text().split("VmRSS:")[1].split()[0])
            return (int(stat[11]) + int(stat[12])) / ticks, rss

        c0, _ = cpu_rss()
        time.sleep(30)
        c1, rss = cpu_rss()
        print(f"idle: {1000 * (c1 - c0) / 30:.2f} ms CPU per second, RSS {rss / 1024:.1f} MiB")
        approver.terminate()
        approver.wait()
    finally:
        subprocess.run(["bash", str(ROOT / "scripts/control-plane.sh"), "stop", str(cp)], capture_output=True)


if __name__ == "__main__":
    main()
