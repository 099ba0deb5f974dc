"""runnerkey approver against the real control plane: runners renew
themselves through the CSR API with their own kubeconfigs (no admin
credential on any runner host) while the approver approves each renewal of
its submitter's own identity that RBAC grants (certificatesigningrequests/
selfclient) — and nothing else; two approvers at once approve each request
exactly once; a renewal still pending is kept and adopted by the next run."""

from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.request
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import schemas
from control_plane import ControlPlane
from conftest import binary, fixture, ok, run

CONFIG = fixture("runner-configs", "gitlabhq_gitlab-runner_register-merged.toml")
GROUP = "gitlab-runners"


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def identity_kubeconfig(cp: ControlPlane, d: Path, user: str, groups: tuple[str, ...] = ()) -> Path:
    """A kubeconfig for `user` (certificate from the cluster CA)."""
    args = ["issue", "--ca-dir", cp.pki, "--user", user, "--out-dir", d / "pki"]
    for g in groups:
        args += ["--group", g]
    ok(*args)
    out = d / "kubeconfig"
    ok("kubeconfig", "--server", cp.server, "--cert", client_cert(d / "pki"),
       "--key", next((d / "pki").glob("*.key")), "--ca", cp.ca, "--out", out)
    return out


def client_cert(d: Path) -> Path:
    """The client certificate in `d` (not ca.crt)."""
    [crt] = [p for p in d.glob("*.crt") if p.name != "ca.crt"]
    return crt


def runner(cp: ControlPlane, d: Path, host: str, namespace: str) -> Path:
    """A runner host set up with the CA (the admin's one step), its RBAC
    applied: its config.toml."""
    d.mkdir(parents=True)
    cfg = d / "config.toml"
    cfg.write_bytes(CONFIG.read_bytes())
    ok("setup", "--ca-dir", cp.pki, "--server", cp.server, "--runner", "test-runner", "--config", cfg,
       "--out-dir", d / "ssl", "--user", f"gitlab-runner:{host}", "--group", GROUP, "--namespace", namespace)
    cp.kubectl("apply", "-f", d / "ssl" / "rbac.yaml")
    return cfg


class Approver:
    """`runnerkey approver run` in the background, with its metrics."""

    def __init__(self, kubeconfig: Path, *extra: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(binary()), "approver", "run", "--kubeconfig", str(kubeconfig), "--json",
             "--metrics-address", f"127.0.0.1:{self.port}", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(100):
            try:
                self.metrics()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(self.stop())

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            text = r.read().decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line and not line.startswith("#")}

    def stop(self) -> tuple[list[dict], str]:
        self.proc.terminate()
        out, err = self.proc.communicate(timeout=30)
        return [json.loads(line) for line in out.splitlines() if line.strip()], err


def approver_identity(cp: ControlPlane, d: Path) -> Path:
    kc = identity_kubeconfig(cp, d, "runnerkey-approver")
    cp.kubectl("apply", "-f", "-", input=ok("rbac", "--profile", "approver", "--user", "runnerkey-approver").out)
    return kc


def test_five_runners_renew_themselves_with_the_approver(control_plane: ControlPlane, tmp_path: Path) -> None:
    cp = control_plane
    cp.kubectl("apply", "-f", "-", input=ok("rbac", "--profile", "renewer", "--group", GROUP).out)
    approver = Approver(approver_identity(cp, tmp_path / "approver"))
    hosts = {f"h{i}": runner(cp, tmp_path / f"h{i}", f"five{i}", "ci-five") for i in range(5)}
    before = {h: x509.load_pem_x509_certificate(client_cert(c.parent / "ssl").read_bytes()).serial_number
              for h, c in hosts.items()}
    renewing = {h: subprocess.Popen([str(binary()), "renew", "--config", str(c), "--runner", "test-runner",
                                     "--kubeconfig", str(c.parent / "ssl" / "kubeconfig"), "--force",
                                     "--wait", "90s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for h, c in hosts.items()}
    for h, p in renewing.items():
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (h, out, err)
        # The request's name is said at once, before the wait.
        assert "submitted CertificateSigningRequest runnerkey-" in err, err
        assert "renewed" in out
    for h, c in hosts.items():
        cert = x509.load_pem_x509_certificate(client_cert(c.parent / "ssl").read_bytes())
        assert cert.serial_number != before[h]
        who = cp.kubectl("auth", "whoami", "-o", "json", kubeconfig=c.parent / "ssl" / "kubeconfig")
        assert json.loads(who.stdout)["status"]["userInfo"]["username"] == cert.subject.get_attributes_for_oid(
            NameOID.COMMON_NAME)[0].value
    metrics = approver.metrics()
    assert metrics['runnerkey_approver_requests_total{outcome="approved",reason="self-renewal"}'] == 5
    decisions, err = approver.stop()
    assert sorted(d["requester"] for d in decisions if d["outcome"] == "approved") == \
        sorted(f"gitlab-runner:five{i}" for i in range(5)), (decisions, err)


def csr_pem(user: str, groups: list[str], *, san: str | None = None) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = [x509.NameAttribute(NameOID.COMMON_NAME, user)] + \
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(name))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def submit(cp: ControlPlane, kubeconfig: Path, name: str, pem: bytes, usages: list[str]) -> None:
    obj = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
           "metadata": {"name": name},
           "spec": {"request": base64.b64encode(pem).decode(), "usages": usages,
                    "signerName": "kubernetes.io/kube-apiserver-client"}}
    cp.kubectl("create", "-f", "-", kubeconfig=kubeconfig, input=json.dumps(obj))


def conditions(cp: ControlPlane, name: str) -> list[str]:
    got = json.loads(cp.kubectl("get", "csr", name, "-o", "json").stdout)
    return [c["type"] for c in got.get("status", {}).get("conditions", [])]


def test_the_approver_approves_nothing_else(control_plane: ControlPlane, tmp_path: Path) -> None:
    """Another user, a group the requester lacks, a system: group, server
    usages, a SAN, a requester without the selfclient grant: none is
    approved; each reason is logged and counted; with --deny, policy
    refusals are denied (a missing grant never is: it may be granted)."""
    cp = control_plane
    cp.kubectl("apply", "-f", "-", input=ok("rbac", "--profile", "renewer", "--group", GROUP).out)
    kc = identity_kubeconfig(cp, tmp_path / "r", "gitlab-runner:bad", (GROUP, "system:custom"))
    # A requester that may create requests but holds no selfclient grant.
    bare = identity_kubeconfig(cp, tmp_path / "b", "gitlab-runner:nogrant")
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "csr-create-only"},
         "rules": [{"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"],
                    "verbs": ["create", "get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "csr-create-only-nogrant"},
         "subjects": [{"kind": "User", "name": "gitlab-runner:nogrant", "apiGroup": "rbac.authorization.k8s.io"}],
         "roleRef": {"kind": "ClusterRole", "name": "csr-create-only", "apiGroup": "rbac.authorization.k8s.io"}}]))
    client = ["digital signature", "client auth"]
    cases = {
        "bad-other-user": (kc, csr_pem("gitlab-runner:other", [GROUP]), client, "other-user"),
        "bad-group": (kc, csr_pem("gitlab-runner:bad", [GROUP, "admins"]), client, "group-not-held"),
        "bad-system-group": (kc, csr_pem("gitlab-runner:bad", ["system:custom"]), client, "system-group"),
        "bad-server-usage": (kc, csr_pem("gitlab-runner:bad", [GROUP]), client + ["server auth"], "usages"),
        "bad-san": (kc, csr_pem("gitlab-runner:bad", [GROUP], san="evil.example"), client, "extensions"),
        "bad-no-grant": (bare, csr_pem("gitlab-runner:nogrant", []), client, "no-grant"),
    }
    for name, (who, pem, usages, _) in cases.items():
        submit(cp, who, name, pem, usages)
    approver_kc = approver_identity(cp, tmp_path / "approver")
    approver = Approver(approver_kc)
    deadline = time.time() + 30
    want = {f'runnerkey_approver_requests_total{{outcome="ignored",reason="{r}"}}' for *_, r in cases.values()}
    while time.time() < deadline and not want <= approver.metrics().keys():
        time.sleep(0.2)
    metrics = approver.metrics()
    decisions, err = approver.stop()
    for name, (*_, reason) in cases.items():
        assert metrics.get(f'runnerkey_approver_requests_total{{outcome="ignored",reason="{reason}"}}', 0) >= 1, (metrics, decisions, err)
        assert conditions(cp, name) == [], name
        logged = [d for d in decisions if d["name"] == name]
        assert [d["reason"] for d in logged] == [reason], (name, logged, err)
        assert logged[0]["outcome"] == "ignored" and logged[0]["detail"]
    assert not any(k.startswith('runnerkey_approver_requests_total{outcome="approved"') for k in metrics)
    # Once more with --deny: the policy's refusals are denied, with the reason.
    r = ok("approver", "run", "--kubeconfig", approver_kc, "--once", "--deny", "--json")
    decided = {d["name"]: d for d in json.loads(r.out)}
    for name, (*_, reason) in cases.items():
        if reason == "no-grant":
            assert decided[name]["outcome"] == "ignored" and conditions(cp, name) == []
        else:
            assert decided[name]["outcome"] == "denied", decided[name]
            assert conditions(cp, name) == ["Denied"]
            got = json.loads(cp.kubectl("get", "csr", name, "-o", "json").stdout)
            assert got["status"]["conditions"][0]["message"] == decided[name]["detail"]


def test_two_approvers_approve_each_request_once(control_plane: ControlPlane, tmp_path: Path) -> None:
    cp = control_plane
    cp.kubectl("apply", "-f", "-", input=ok("rbac", "--profile", "renewer", "--group", GROUP).out)
    approver_kc = approver_identity(cp, tmp_path / "approver")
    first = Approver(approver_kc, "--rate", "100/1h")
    second = Approver(approver_kc, "--rate", "100/1h")
    requesters = [identity_kubeconfig(cp, tmp_path / f"t{i}", f"gitlab-runner:twice{i}", (GROUP,)) for i in range(4)]
    names = []
    for i in range(20):
        name = f"twice-{i}"
        submit(cp, requesters[i % 4], name, csr_pem(f"gitlab-runner:twice{i % 4}", [GROUP]),
               ["digital signature", "client auth"])
        names.append(name)
    deadline = time.time() + 60
    while time.time() < deadline and not all(conditions(cp, n) for n in names):
        time.sleep(0.3)
    for n in names:
        assert conditions(cp, n) == ["Approved"], n
    m1, m2 = first.metrics(), second.metrics()
    key = 'runnerkey_approver_requests_total{outcome="approved",reason="self-renewal"}'
    assert m1.get(key, 0) + m2.get(key, 0) == 20, (m1, m2)
    (d1, e1), (d2, e2) = first.stop(), second.stop()
    approved = [d["name"] for d in d1 + d2 if d["outcome"] == "approved"]
    assert sorted(approved) == sorted(names), (d1, d2, e1, e2)


def test_a_pending_renewal_is_kept_and_adopted(control_plane: ControlPlane, tmp_path: Path) -> None:
    """No approver: renew waits, names the runner and the request, keeps
    it (exit 1); approved meanwhile, the next renew adopts that request —
    no second one — and switches to the certificate issued for it."""
    cp = control_plane
    cp.kubectl("apply", "-f", "-", input=ok("rbac", "--profile", "renewer", "--group", GROUP).out)
    cfg = runner(cp, tmp_path / "host", "adopt", "ci-adopt")
    kc = cfg.parent / "ssl" / "kubeconfig"
    first = run("renew", "--config", cfg, "--runner", "test-runner", "--kubeconfig", kc, "--force", "--wait", "2s")
    assert first.code == 1, first
    assert 'runner "test-runner"' in first.err and "still pending" in first.err and "next renew adopts it" in first.err
    name = first.err.split("submitted CertificateSigningRequest ")[1].split(";")[0]
    assert name in first.err.split("runnerkey: hint:")[1], first.err
    assert conditions(cp, name) == []
    cp.kubectl("certificate", "approve", name)
    second = run("renew", "--config", cfg, "--runner", "test-runner", "--kubeconfig", kc, "--force", "--wait", "60s")
    assert second.code == 0, second
    assert f"waiting again for CertificateSigningRequest {name}" in second.err
    assert "submitted" not in second.err
    listed = json.loads(cp.kubectl("get", "csr", "-o", "json").stdout)["items"]
    assert not [c for c in listed if c["spec"]["username"] == "gitlab-runner:adopt"], "the request is deleted"
    who = cp.kubectl("auth", "whoami", "-o", "json", kubeconfig=kc)
    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == "gitlab-runner:adopt"


def test_approver_manifests_and_unit(control_plane: ControlPlane, tmp_path: Path) -> None:
    """The in-cluster manifests validate against the schemas and the real
    API server (applied); the unit verifies and is confined."""
    cp = control_plane
    text = ok("approver", "manifests", "--image", "registry.example/runnerkey:1", "--namespace", "rk-approver",
              "--deny", "--rate", "5/1h").out
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert [d["kind"] for d in docs] == ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                        "Deployment"]
    for d in docs:
        assert schemas.errors(d) == [], (d["kind"], schemas.errors(d))
    container = docs[-1]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][-3:] == ["--deny", "--rate", "5/1h"]
    cp.kubectl("apply", "-f", "-", input=text)
    # The approver's service account may do exactly what it needs.
    sa = "system:serviceaccount:rk-approver:runnerkey-approver"
    for verb, what, sub in [("list", "certificatesigningrequests", ""), ("watch", "certificatesigningrequests", ""),
                            ("update", "certificatesigningrequests", "approval"),
                            ("create", "subjectaccessreviews.authorization.k8s.io", "")]:
        args = ["auth", "can-i", verb, what, "--as", sa] + (["--subresource", sub] if sub else [])
        assert cp.kubectl(*args, check=False).stdout.strip() == "yes", args
    assert cp.kubectl("auth", "can-i", "delete", "certificatesigningrequests", "--as", sa,
                      check=False).stdout.strip() == "no"
    root = tmp_path / "root"
    kc = tmp_path / "approver.conf"
    kc.write_text("apiVersion: v1\nkind: Config\n")
    r = ok("approver", "unit", "--kubeconfig", kc, "--install", "--root", root)
    unit = root / "etc/systemd/system/runnerkey-approver.service"
    assert unit.is_file() and str(unit) in r.out
    v = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert v.returncode == 0 and not v.stderr, v.stderr
    s = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--root", str(root),
                        "runnerkey-approver.service"], capture_output=True, text=True)
    score = float(s.stdout.split("Overall exposure level for runnerkey-approver.service:")[1].split()[0])
    assert score <= 3.0, s.stdout


def test_huge_requests_do_not_stop_approvals(control_plane: ControlPlane, tmp_path: Path) -> None:
    """A runner's few huge requests (about 1 MB each, more than one answer
    the approver reads when listed together) neither stop nor delay the
    approval of another runner's renewal; the approver stays healthy."""
    cp = control_plane
    cp.kubectl("apply", "-f", "-", input=ok("rbac", "--profile", "renewer", "--group", GROUP).out)
    noisy = identity_kubeconfig(cp, tmp_path / "noisy", "gitlab-runner:noisy", (GROUP,))
    for i in range(9):
        pem = csr_pem("gitlab-runner:noisy", [GROUP] + [f"g{j:05d}-{'x' * 60}" for j in range(11000)])
        assert len(pem) > 900_000
        obj = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
               "metadata": {"name": f"huge-{i}"},
               "spec": {"request": base64.b64encode(pem).decode(), "usages": ["client auth"],
                        "signerName": "kubernetes.io/kube-apiserver-client"}}
        path = tmp_path / f"huge-{i}.json"
        path.write_text(json.dumps(obj))
        cp.kubectl("create", "-f", path, kubeconfig=noisy)
    legit = identity_kubeconfig(cp, tmp_path / "legit", "gitlab-runner:legit", (GROUP,))
    submit(cp, legit, "legit-0", csr_pem("gitlab-runner:legit", [GROUP]), ["digital signature", "client auth"])
    r = ok("approver", "run", "--kubeconfig", approver_identity(cp, tmp_path / "approver"), "--once", "--json")
    decided = {d["name"]: d for d in json.loads(r.out)}
    assert decided["legit-0"]["outcome"] == "approved", decided.get("legit-0")
    assert conditions(cp, "legit-0") == ["Approved"]
    assert all(decided[f"huge-{i}"]["outcome"] == "ignored" for i in range(9))
    for i in range(9):
        cp.kubectl("delete", "csr", f"huge-{i}")
