"""docs/migrating.md, followed literally against the real control plane: the
blog identity (openssl, X.509 v1, 1000 days, CN=gitlab-admin, ca.key and
ca.srl beside ca.crt on the runner host, both cluster-admin bindings), then
the shell commands of the page's "Moving over, in order" steps, extracted
from its Markdown code blocks and run by bash, with `runnerkey doctor
--online` after each step. It ends with a new key, no cluster-admin binding
for the runner or its job pods, no CA key on the runner host, and doctor
exiting 0 — and doctor exits 1 after every step before that."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from conftest import ROOT, binary, openssl, run
from control_plane import ControlPlane

DOC = ROOT / "docs" / "migrating.md"


def mapping(cp: ControlPlane, host: Path) -> dict[str, str]:
    """What the page's commands name on a real runner host and control plane,
    and where that is here: paths and the server URL only."""
    return {
        "/etc/gitlab-runner/config.toml": str(host / "config.toml"),
        "/etc/ssl/kubernetes": str(host / "ssl"),
        "/etc/kubernetes/pki": str(cp.pki),
        "https://10.0.0.1:6443": cp.server,
    }


def steps(doc: str) -> list[tuple[str, list[str]]]:
    """The numbered steps of "Moving over, in order", each with the shell
    commands of its ```sh blocks (continuation lines joined)."""
    section = doc.split("## Moving over, in order", 1)[1].split("\n## ", 1)[0]
    found = []
    for m in re.finditer(r"^(\d+)\. (.*?)(?=^\d+\. |\Z)", section, re.S | re.M):
        commands = []
        for block in re.findall(r"```sh\n(.*?)```", m.group(2), re.S):
            text = re.sub(r"\\\n\s*", "", "\n".join(line.strip() for line in block.splitlines()))
            commands.extend(c for c in text.splitlines() if c.strip())
        found.append((m.group(1), commands))
    return found


def blog_identity(cp: ControlPlane, ssl: Path) -> None:
    """The blog recipe on the runner host: the CA's files copied over, a key,
    a CSR with CN=gitlab-admin, a v1 certificate for 1000 days."""
    ssl.mkdir(parents=True)
    for name in ("ca.crt", "ca.key"):
        (ssl / name).write_bytes((cp.pki / name).read_bytes())
    key, csr, crt = ssl / "gitlab-admin.key", ssl / "gitlab-admin.csr", ssl / "gitlab-admin.crt"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=gitlab-admin")
    openssl("x509", "-req", "-in", csr, "-CA", ssl / "ca.crt", "-CAkey", ssl / "ca.key", "-CAcreateserial",
            "-out", crt, "-days", "1000")
    csr.unlink()
    assert (ssl / "ca.srl").exists()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_migrating_md_followed_literally(control_plane: ControlPlane, tmp_path: Path) -> None:
    cp = control_plane
    host, work = tmp_path / "host", tmp_path / "work"
    work.mkdir()
    ssl = host / "ssl"
    blog_identity(cp, ssl)
    blog_key = digest(ssl / "gitlab-admin.key")
    cfg = host / "config.toml"
    cfg.write_text('[[runners]]\nname = "my-runner"\nurl = "https://gitlab.example.com"\ntoken = "glrt-x"\n'
                   'executor = "kubernetes"\n[runners.kubernetes]\n'
                   f'host = "{cp.server}"\nnamespace = "default"\ncert_file = "{ssl}/gitlab-admin.crt"\n'
                   f'key_file = "{ssl}/gitlab-admin.key"\nca_file = "{ssl}/ca.crt"\n')
    cp.kubectl("create", "clusterrolebinding", "gitlab-admin", "--clusterrole=cluster-admin", "--user=gitlab-admin")
    cp.kubectl("create", "clusterrolebinding", "default-admin", "--clusterrole=cluster-admin",
               "--serviceaccount=default:default")
    env = {**os.environ, "KUBECONFIG": str(cp.admin),
           "PATH": f"{Path(binary()).parent}{os.pathsep}{os.environ['PATH']}"}
    where = mapping(cp, host)

    def doctor() -> tuple[int, dict]:
        r = run("doctor", "--config", cfg, "--runner", "my-runner", "--online", "--json")
        assert r.code in (0, 1), r
        return r.code, json.loads(r.out)["runners"][0]

    code, report = doctor()
    codes = {f["code"] for f in report["findings"]}
    assert code == 1 and {"runner-cluster-admin", "job-cluster-admin", "ca-key-on-runner-host"} <= codes, codes
    found = steps(DOC.read_text())
    assert [n for n, _ in found] == ["1", "2", "3", "4", "5", "6"], found
    # Steps 1-5 are commands; step 6 says doctor now exits 0.
    assert all(c for _, c in found[:5]) and not found[5][1], found
    found = found[:5]
    for number, commands in found:
        for command in commands:
            for theirs, ours in where.items():
                command = command.replace(theirs, ours)
            p = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=work, env=env,
                               capture_output=True, text=True, timeout=120)
            if command.startswith("runnerkey doctor"):
                assert p.returncode in (0, 1), (number, command, p.stdout, p.stderr)
            elif command.startswith("runnerkey setup --complete") and p.returncode == 1:
                # As the page says: its check still finds the CA key on the
                # runner host (removed in step 5), and nothing else.
                errors = set(re.findall(r"\[([a-z0-9-]+)\]", p.stdout))
                assert errors and errors <= {"ca-key-on-runner-host", "ca-serial-file"}, (p.stdout, p.stderr)
            else:
                assert p.returncode == 0, (number, command, p.stdout, p.stderr)
        code, report = doctor()
        errors = [f for f in report["findings"] if f["severity"] == "error"]
        if number == found[-1][0]:
            assert code == 0 and not errors, (number, errors)
        else:
            assert code == 1 and errors, (number, report["findings"])
        if number == "2":
            # The new identity is in place (a new key), still cluster-admin
            # through its user's binding: named, with the job pods' account.
            assert digest(ssl / "gitlab-admin.key") != blog_key
            assert report["authenticated_as"]["username"] == "gitlab-admin"
            named = {b["name"] for b in report["admin_bindings"]}
            assert "gitlab-admin" in named, report["admin_bindings"]
    # The end: a new key, no binding to cluster-admin for the runner or its
    # job pods, no CA key on the runner host.
    assert digest(ssl / "gitlab-admin.key") != blog_key
    assert not (ssl / "gitlab-admin.key.staged").exists()
    for name in ("gitlab-admin", "default-admin"):
        assert cp.kubectl("get", "clusterrolebinding", name, check=False).returncode != 0, name
    assert not (ssl / "ca.key").exists() and not (ssl / "ca.srl").exists()
    assert report["admin_bindings"] == [] and report["runner_privileges"]["cluster_admin"] is False
    assert report["job_privileges"]["cluster_admin"] is False


def test_complete_refuses_a_certificate_for_another_key_than_the_staged_one(control_plane: ControlPlane,
                                                                              tmp_path: Path) -> None:
    cp = control_plane
    ssl = tmp_path / "ssl"
    blog_identity(cp, ssl)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\nname = "r"\nexecutor = "kubernetes"\n[runners.kubernetes]\n'
                   f'host = "{cp.server}"\ncert_file = "{ssl}/gitlab-admin.crt"\n'
                   f'key_file = "{ssl}/gitlab-admin.key"\nca_file = "{ssl}/ca.crt"\n')
    before = cfg.read_text(), digest(ssl / "gitlab-admin.key")
    common = ["--config", cfg, "--runner", "r", "--server", cp.server, "--out-dir", ssl]
    r = run("setup", "--request", *common)
    assert r.code == 0 and "new key" in r.out and "X.509 v1" in r.out, r
    assert (ssl / "gitlab-admin.key.staged").exists()
    assert (cfg.read_text(), digest(ssl / "gitlab-admin.key")) == before
    # The old CSR's certificate (for the blog key) is not for the staged key.
    openssl("req", "-new", "-key", ssl / "gitlab-admin.key", "-subj", "/CN=gitlab-admin", "-out",
            tmp_path / "old.csr")
    run("csr", "sign", tmp_path / "old.csr", "--ca-dir", cp.pki, "--out", tmp_path / "old.crt")
    r = run("setup", "--complete", "--cert", tmp_path / "old.crt", "--ca-cert", ssl / "ca.crt", *common)
    assert r.code == 2 and str(tmp_path / "old.crt") in r.err and "gitlab-admin.key.staged" in r.err, r
    assert (cfg.read_text(), digest(ssl / "gitlab-admin.key")) == before
    # --keep-key: the CSR is for the installed key; the staged one is left alone, and --complete with the
    # certificate for the installed key goes through.
    r = run("setup", "--request", "--keep-key", *common)
    assert r.code == 0 and "new key" not in r.out, r
    csr = x509.load_pem_x509_csr((ssl / "gitlab-admin.csr").read_bytes())
    installed = load_pem_private_key((ssl / "gitlab-admin.key").read_bytes(), None)
    assert csr.public_key() == installed.public_key()
    r = run("setup", "--complete", "--keep-key", "--cert", tmp_path / "old.crt", "--ca-cert", ssl / "ca.crt",
            *common)
    assert r.code in (0, 1) and digest(ssl / "gitlab-admin.key") == before[1], r


def test_python_setup_replaces_a_blog_key_unless_keep_key(control_plane: ControlPlane, tmp_path: Path) -> None:
    """runnerkey.setup with the CA at hand: the blog key is replaced and the
    report says why; with keep_key=True it stays."""
    import runnerkey

    cp = control_plane
    for keep in (True, False):
        d = tmp_path / f"keep-{keep}"
        ssl = d / "ssl"
        blog_identity(cp, ssl)
        (ssl / "ca.key").unlink()
        (ssl / "ca.srl").unlink()
        blog_key = digest(ssl / "gitlab-admin.key")
        cfg = d / "config.toml"
        cfg.write_text('[[runners]]\nname = "r"\nexecutor = "kubernetes"\n')
        report = runnerkey.setup(config=cfg, runner="r", server=cp.server, out_dir=ssl, keep_key=keep,
                                 ca=runnerkey.CertificateAuthority.load_dir(cp.pki))
        if keep:
            assert report["key_replaced"] is None and digest(ssl / "gitlab-admin.key") == blog_key, report
        else:
            assert "X.509 v1" in report["key_replaced"] and digest(ssl / "gitlab-admin.key") != blog_key, report
        # The CA key setup read here is reported (a warning in setup's report).
        findings = report["doctor"]["runners"][0]["findings"]
        assert any(f["code"] == "ca-key-on-runner-host" and f["severity"] == "warning" for f in findings), findings
