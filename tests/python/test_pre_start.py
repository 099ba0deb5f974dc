"""One runner's expired identity never stops the others: gitlab-runner's
pre-start check (as `runnerkey systemd` writes it, run as systemd runs it)
lets gitlab-runner start while another runner could work, names the
expired runner and the one command that recovers it; that command
(renew --force, with the CA) works on an expired certificate, and the
runner is usable again."""

from __future__ import annotations

import datetime
import os
import subprocess
import tomllib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from cluster import make_ca
from conftest import binary, ok, run
from systemd_exec import unit_settings

K8S = """[[runners]]
  name = "k8s"
  url = "https://gitlab.example.com"
  token = "glrt-k8s"
  executor = "kubernetes"
  [runners.kubernetes]
    namespace = "gitlab-runner"
"""
DOCKER = """[[runners]]
  name = "docker"
  url = "https://gitlab.example.com"
  token = "glrt-docker"
  executor = "docker"
  [runners.docker]
    image = "alpine"
"""


def expire(cfg: Path, ca_crt: Path, ca_key: Path) -> None:
    """Replaces the k8s runner's certificate by one for the same identity
    and key, signed by the same CA, that expired yesterday."""
    k = next(r for r in tomllib.loads(cfg.read_text())["runners"] if r["name"] == "k8s")["kubernetes"]
    cert_file = Path(k["cert_file"]).resolve()
    old = x509.load_pem_x509_certificate(cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_crt.read_bytes())
    key = serialization.load_pem_private_key(ca_key.read_bytes(), None)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(ca.subject)
            .public_key(old.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=10)).not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def pre_start(root: Path) -> subprocess.CompletedProcess[str]:
    (root / "etc/systemd/system/gitlab-runner.service").write_text("[Service]\nExecStart=/bin/true\n")
    checks = unit_settings(root, "gitlab-runner.service").commands("ExecStartPre")
    assert len(checks) == 1, checks
    env = {"PATH": "/usr/bin:/bin", "RUNNERKEY_STATE_DIR": os.environ["RUNNERKEY_STATE_DIR"]}
    return subprocess.run(checks[0].argv, capture_output=True, text=True, env=env, timeout=60)


def test_an_expired_kubernetes_runner_does_not_stop_the_docker_runner(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    cfg = tmp_path / "config.toml"
    cfg.write_text(K8S + DOCKER)
    ok("setup", "--ca-dir", ca_crt.parent, "--server", "https://127.0.0.1:1", "--runner", "k8s",
       "--config", cfg, "--out-dir", tmp_path / "ssl", "-q")
    root = tmp_path / "root"
    ok("systemd", "--config", cfg, "--runner", "k8s", "--ca-dir", ca_crt.parent, "--install", "--root", root)
    assert pre_start(root).returncode == 0
    expire(cfg, ca_crt, ca_key)
    p = pre_start(root)
    assert p.returncode == 0, p.stderr
    assert 'runner "k8s" cannot authenticate to the cluster: its credential expired on' in p.stderr, p.stderr
    assert "gitlab-runner starts for the other runners" in p.stderr
    fix = f"runnerkey renew --config {cfg} --runner k8s --force --kubeconfig ADMIN_KUBECONFIG --approve"
    assert f"runnerkey: fix: {fix}" in p.stderr, p.stderr
    s = run("status", "--config", cfg)
    assert s.code == 1 and "✗ expired on" in s.out and f"fix: {fix}" in s.out, s.out
    # The recovery, the CA's way: the same identity, a new key.
    subject = x509.load_pem_x509_certificate(Path(tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]
                                                  ["cert_file"]).read_bytes()).subject
    r = ok("renew", "--config", cfg, "--runner", "k8s", "--force", "--ca-dir", ca_crt.parent)
    assert "renewed" in r.out, r.out
    new = x509.load_pem_x509_certificate(Path(tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]
                                              ["cert_file"]).read_bytes())
    assert new.subject == subject
    s = ok("status", "--config", cfg)
    assert "✓ valid until" in s.out and "fix:" not in s.out, s.out
    assert pre_start(root).stderr == ""


def test_gitlab_runner_is_stopped_only_when_no_runner_could_work(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    cfg = tmp_path / "config.toml"
    cfg.write_text(K8S)
    ok("setup", "--ca-dir", ca_crt.parent, "--server", "https://127.0.0.1:1", "--runner", "k8s",
       "--config", cfg, "--out-dir", tmp_path / "ssl", "-q")
    root = tmp_path / "root"
    ok("systemd", "--config", cfg, "--runner", "k8s", "--ca-dir", ca_crt.parent, "--install", "--root", root)
    # An older version's per-runner check goes when the units are installed again.
    legacy = root / "etc/systemd/system/gitlab-runner.service.d/runnerkey-k8s.conf"
    legacy.write_text("# \"k8s\": gitlab-runner does not start with an expired or mismatched identity "
                      "(runnerkey systemd)\n[Service]\nExecStartPre=/bin/false\n")
    ok("systemd", "--config", cfg, "--runner", "k8s", "--ca-dir", ca_crt.parent, "--install", "--root", root)
    assert not legacy.exists()
    expire(cfg, ca_crt, ca_key)
    p = pre_start(root)
    assert p.returncode == 1, p.stderr
    assert "no runner in" in p.stderr and "gitlab-runner is not started" in p.stderr, p.stderr
    assert str(binary()) != ""


def test_the_printed_fix_recovers_an_expired_certificate_through_the_csr_api(tmp_path: Path) -> None:
    import shlex

    from test_csr_api import cluster

    ca_crt, ca_key, srv, admin = cluster(tmp_path)
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text(K8S + DOCKER)
        ok("setup", "--ca-cert", ca_crt, "--ca-key", ca_key, "--config", cfg, "--runner", "k8s", "--server",
           srv.url, "--out-dir", tmp_path / "ssl", "--user", "gitlab-runner:h1", "--group", "ci", "-q")
        expire(cfg, ca_crt, ca_key)
        s = run("status", "--config", cfg)
        fix = next(line for line in s.out.splitlines() if "fix: " in line).split("fix: ", 1)[1]
        argv = shlex.split(fix.split("   (or", 1)[0].replace("ADMIN_KUBECONFIG", str(admin)))
        assert argv[0] == "runnerkey" and "--force" in argv, argv
        r = ok(*argv[1:])
        assert "renewed" in r.out and "authenticated it as" in r.out, r.out
        s = ok("status", "--config", cfg)
        assert "✓ valid until" in s.out, s.out
    finally:
        srv.stop()
