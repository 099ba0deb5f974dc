"""`runnerkey setup` end to end in a temp directory standing in for the
hosts, both ways (with the CA at hand; and request/complete without the CA
key), with failure injection. Checked with openssl, tomllib, the JSON
schemas, and kubectl against the local API server."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from cluster import kubectl, make_ca, serving_cert, start_apiserver
from conftest import binary, fixture, ok, openssl, run
from schemas import errors

CONFIG = fixture("runner-configs", "gitlabhq_gitlab-runner_register-merged.toml")


def tree(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under root with content, mtime and mode."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(root))] = (p.read_bytes(), st.st_mtime_ns, st.st_mode)
        elif p.is_dir():
            out[str(p.relative_to(root)) + "/"] = (b"", 0, p.stat().st_mode)
    return out


def setup_args(d: Path, server: str, *extra: object) -> list[object]:
    return ["setup", "--server", server, "--runner", "test-runner", "--config", d / "runner" / "config.toml",
            "--out-dir", d / "runner" / "ssl", "--namespace", "ci", "--service-account", "deployer", *extra]


@pytest.fixture
def hosts(tmp_path: Path):
    """A control plane (pki/ with the CA) and a runner host (runner/ with config.toml), and an API server."""
    ca_crt, ca_key = make_ca(tmp_path, "control-plane", algorithm="rsa-2048")
    (tmp_path / "runner").mkdir()
    (tmp_path / "runner" / "config.toml").write_bytes(CONFIG.read_bytes())
    crt, key = serving_cert(tmp_path / "control-plane", ca_crt, ca_key)
    rbac = tmp_path / "control-plane" / "applied.yaml"
    yield tmp_path, ca_crt, ca_key, (crt, key, rbac)


def check_end_state(d: Path, ca_crt: Path, server_files, server_url: str | None = None) -> None:
    ssl = d / "runner" / "ssl"
    mode = lambda p: (ssl / p).stat().st_mode & 0o777  # noqa: E731
    assert (mode("gitlab-admin.key"), mode("gitlab-admin.crt"), mode("ca.crt"), mode("kubeconfig")) == (0o600, 0o644, 0o644, 0o600)
    kube = tomllib.loads((d / "runner" / "config.toml").read_text())["runners"][0]["kubernetes"]
    assert kube["cert_file"] == str(ssl / "gitlab-admin.crt") and kube["key_file"] == str(ssl / "gitlab-admin.key")
    assert kube["ca_file"] == str(ssl / "ca.crt") and kube["namespace"] == "ci" and kube["service_account"] == "deployer"
    assert kube["image"] == "" and kube["privileged"] is False
    openssl("verify", "-purpose", "sslclient", "-CAfile", ca_crt, ssl / "gitlab-admin.crt")
    objects = [o for o in yaml.safe_load_all((ssl / "rbac.yaml").read_text()) if o]
    kinds = [o["kind"] for o in objects]
    assert kinds[:6] == ["Namespace", "Role", "RoleBinding", "ServiceAccount", "Role", "RoleBinding"], kinds
    # Then cluster-wide: the auditor's rights (doctor names any cluster-admin binding left), and the renewer's
    # when the certificate comes through the CSR API.
    assert kinds[6:8] == ["ClusterRole", "ClusterRoleBinding"] and objects[6]["metadata"]["name"] == "runnerkey-auditor"
    for o in objects:
        assert errors(o) == []
    if server_url:
        crt, key, rbac = server_files
        rbac.write_text((ssl / "rbac.yaml").read_text())
        srv = start_apiserver(crt, key, ca_crt, rbac=[rbac])
        try:
            r = kubectl("--kubeconfig", ssl / "kubeconfig", "--server", srv.url, "get", "--raw", "/version", home=d)
            assert r.returncode == 0, r.stderr
            doc = run("doctor", "--config", d / "runner" / "config.toml", "--online", "--json")
            assert doc.code in (0, 1)
        finally:
            srv.stop()


def test_with_the_ca_end_to_end_and_idempotent(hosts) -> None:
    d, ca_crt, ca_key, server_files = hosts
    url = "https://127.0.0.1:6443"
    r = ok(*setup_args(d, url, "--ca-cert", ca_crt, "--ca-key", ca_key))
    assert "kubectl apply -f" in r.out and "runnerkey doctor --online" in r.out and "backup:" in r.out
    assert "+    cert_file" in r.out
    check_end_state(d, ca_crt, server_files, url)
    before = tree(d / "runner")
    r = ok(*setup_args(d, url, "--ca-cert", ca_crt, "--ca-key", ca_key))
    assert "nothing to do" in r.out
    assert tree(d / "runner") == before
    r = ok(*setup_args(d, "https://10.9.8.7:6443", "--ca-cert", ca_crt, "--ca-key", ca_key, "--dry-run"))
    assert "dry run" in r.out and '+    host = "https://10.9.8.7:6443"' in r.out
    assert tree(d / "runner") == before
    r = ok(*setup_args(d, url, "--ca-cert", ca_crt, "--ca-key", ca_key, "--renew-before", "400d"))
    assert "renewal window" in r.out
    after = tree(d / "runner")
    # Same key (a renewal reuses it), now in a new version with the new certificate.
    assert after["ssl/gitlab-admin.key"][0] == before["ssl/gitlab-admin.key"][0]
    assert (d / "runner" / "ssl" / "gitlab-admin.key").is_symlink()
    assert after["ssl/gitlab-admin.crt"][0] != before["ssl/gitlab-admin.crt"][0]


def test_kubeconfig_from_setup_reaches_the_api_server(hosts) -> None:
    d, ca_crt, ca_key, (crt, key, rbac) = hosts
    srv = start_apiserver(crt, key, ca_crt)
    try:
        ok(*setup_args(d, srv.url, "--ca-cert", ca_crt, "--ca-key", ca_key))
        r = kubectl("--kubeconfig", d / "runner" / "ssl" / "kubeconfig", "get", "--raw", "/version", home=d)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["major"] == "1"
    finally:
        srv.stop()


def test_way_1_files_made_on_the_control_plane_work_where_they_are_installed(hosts) -> None:
    """--out-dir is where setup writes now, --install-dir where the runner
    host will have the files: config.toml and the kubeconfig name the
    latter, and once copied (cp -a keeps the links) doctor and kubectl pass."""
    d, ca_crt, ca_key, (crt, key, rbac) = hosts
    staged, installed = d / "control-plane" / "runner-ssl", d / "runner-host" / "etc" / "ssl" / "kubernetes"
    cfg = d / "control-plane" / "config.toml"
    cfg.write_bytes(CONFIG.read_bytes())
    srv = start_apiserver(crt, key, ca_crt)
    try:
        r = ok("setup", "--server", srv.url, "--runner", "test-runner", "--config", cfg, "--out-dir", staged,
               "--install-dir", installed, "--ca-cert", ca_crt, "--ca-key", ca_key, "--json")
        report = json.loads(r.out)
        assert report["changed"] is True and report["doctor"]["runners"][0]["findings"] == [], report["doctor"]
        assert {"step": "install-files", "from": str(staged), "to": str(installed), "config": str(cfg)} in report["next_steps"]
        assert {"step": "try-kubeconfig", "kubeconfig": str(installed / "kubeconfig")} in report["next_steps"]
        kube = tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]
        assert (kube["cert_file"], kube["key_file"], kube["ca_file"]) == (
            str(installed / "gitlab-admin.crt"), str(installed / "gitlab-admin.key"), str(installed / "ca.crt"))
        kcfg = yaml.safe_load((staged / "kubeconfig").read_text())
        assert kcfg["users"][0]["user"]["client-key"] == str(installed / "gitlab-admin.key")
        assert kcfg["clusters"][0]["cluster"]["certificate-authority"] == str(installed / "ca.crt")
        assert not installed.exists()
        # The copy to the runner host.
        installed.parent.mkdir(parents=True)
        subprocess.run(["cp", "-a", staged, installed], check=True)
        doc = json.loads(run("doctor", "--config", cfg, "--runner", "test-runner", "--json").out)
        assert doc["runners"][0]["findings"] == [], doc
        k = kubectl("--kubeconfig", installed / "kubeconfig", "get", "--raw", "/version", home=d)
        assert k.returncode == 0, k.stderr
        # Human output says where to copy.
        again = ok("setup", "--server", srv.url, "--runner", "test-runner", "--config", cfg, "--out-dir", staged,
                   "--install-dir", installed, "--ca-cert", ca_crt, "--ca-key", ca_key)
        assert "nothing to do" in again.out and f"rsync -a {staged}/ RUNNER:{installed}/" in again.out
    finally:
        srv.stop()
    bad = run("setup", "--server", "https://10.0.0.1:6443", "--runner", "test-runner", "--config", cfg,
              "--out-dir", staged, "--install-dir", "relative/dir", "--ca-cert", ca_crt, "--ca-key", ca_key)
    assert bad.code == 2 and "must be absolute" in bad.err


def strace_opens(d: Path, args: list[object]) -> list[str]:
    log = d / "strace.log"
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", str(log), str(binary()), *map(str, args)],
                   check=True, capture_output=True)
    return log.read_text().splitlines()


def request(d: Path, url: str, *extra: object) -> None:
    ok(*setup_args(d, url, "--request", *extra))


@pytest.mark.parametrize("way", ["csr-sign", "k8s-csr-api"])
def test_split_way_without_copying_the_ca_key(hosts, way: str) -> None:
    d, ca_crt, ca_key, server_files = hosts
    url = "https://127.0.0.1:6443"
    ssl = d / "runner" / "ssl"
    args = setup_args(d, url, "--request", "--csr-name", "runner-gitlab-admin")
    opens = strace_opens(d, args) if os.path.exists("/usr/bin/strace") else []
    assert not any("control-plane" in l for l in opens)
    assert (ssl / "gitlab-admin.key").stat().st_mode & 0o777 == 0o600
    config_before = (d / "runner" / "config.toml").read_bytes()
    assert not (ssl / "gitlab-admin.crt").exists()
    manifest = yaml.safe_load((ssl / "gitlab-admin-csr.yaml").read_text())
    assert errors(manifest) == []
    ok(*setup_args(d, url, "--request", "--csr-name", "runner-gitlab-admin"))
    assert yaml.safe_load((ssl / "gitlab-admin-csr.yaml").read_text()) == manifest
    signed = d / "control-plane" / "gitlab-admin.crt"
    ok("csr", "sign", ssl / "gitlab-admin.csr", "--ca-cert", ca_crt, "--ca-key", ca_key, "--out", signed)
    public_ca = d / "runner" / "cluster-ca.crt"
    public_ca.write_bytes(ca_crt.read_bytes())
    if way == "k8s-csr-api":
        # an admin kubeconfig's certificate-authority-data serves as the CA certificate
        admin = d / "control-plane" / "admin"
        ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "kubernetes-admin", "--out-dir", admin)
        public_ca = d / "runner" / "admin.conf"
        ok("kubeconfig", "--server", url, "--ca", ca_crt, "--cert", admin / "kubernetes-admin.crt",
           "--key", admin / "kubernetes-admin.key", "--out", public_ca)
    if way == "csr-sign":
        complete = ["--cert", signed]
    else:
        doc = dict(manifest)
        doc["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "KubectlApprove",
                                         "message": "This CSR was approved by kubectl certificate approve."}],
                         "certificate": base64.b64encode(signed.read_bytes()).decode()}
        j = d / "runner" / "csr.json"
        j.write_text(json.dumps(doc))
        complete = ["--k8s-csr-json", j]
    args = setup_args(d, url, "--complete", *complete, "--ca-cert", public_ca)
    opens = strace_opens(d, args) if os.path.exists("/usr/bin/strace") else []
    assert not any("control-plane/ca.key" in l for l in opens)
    assert (d / "runner" / "config.toml").read_bytes() != config_before
    check_end_state(d, ca_crt, server_files, url)
    before = tree(d / "runner")
    assert "nothing to do" in ok(*args).out
    assert tree(d / "runner") == before


def test_failure_injection_changes_nothing_anywhere(hosts) -> None:
    d, ca_crt, ca_key, _ = hosts
    url = "https://127.0.0.1:6443"
    other_crt, other_key = make_ca(d, "other")
    blocker = d / "runner" / "not-a-dir"
    blocker.write_text("a file where a directory should be\n")
    cases = [
        ("unparsable config", lambda: (d / "runner" / "config.toml").write_text('[[runners]\nname = "x"\n'), [], "line 1"),
        ("wrong runner", None, ["--runner", "nope"], 'no runner named "nope"'),
        ("CA key mismatch", None, ["--ca-key", other_key], "does not match"),
        ("unwritable out-dir", None, ["--out-dir", blocker / "ssl"], "not-a-dir"),
        ("bad server", None, ["--server", "http://plain:80"], "https://"),
        ("bad namespace", None, ["--namespace", "Bad_NS"], "RFC 1123"),
    ]
    for name, prepare, override, needle in cases:
        original = CONFIG.read_bytes()
        (d / "runner" / "config.toml").write_bytes(original)
        if prepare:
            prepare()
        before = tree(d)
        args = setup_args(d, url, "--ca-cert", ca_crt, "--ca-key", ca_key)
        for i in range(0, len(override), 2):
            flag = override[i]
            if flag in args:
                args[args.index(flag) + 1] = override[i + 1]
            else:
                args += override[i:i + 2]
        r = run(*args)
        assert r.code == 2, (name, r)
        assert needle in r.err, (name, r.err)
        assert tree(d) == before, name
