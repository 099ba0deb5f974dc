"""The Ansible collection runnerkey.kubernetes as a user gets it: built with
ansible-galaxy, installed, and run in a playbook with FQCNs against
localhost (ansible-core). Changed on the first run, not on the second;
check mode writes nothing; diff shows the change; no key material in the
output; missing directories are created, keys 0600. And ansible-test
sanity on the collection's source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import runnerkey
from cluster import make_ca
from conftest import openssl

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "ansible_collections" / "runnerkey" / "kubernetes"
BIN = Path(sys.executable).parent

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - name: client certificate
      runnerkey.kubernetes.client_cert:
        ca_dir: {pki}
        user: gitlab-admin
        groups: [gitlab-runners]
        cert_path: {ssl}/gitlab-admin.crt
        key_path: {ssl}/gitlab-admin.key
        ca_path: {ssl}/ca.crt
      register: cert
    - name: runner config
      runnerkey.kubernetes.runner_config:
        path: {config}
        runner: my-runner
        host: https://10.0.0.1:6443
        cert_file: {ssl}/gitlab-admin.crt
        key_file: {ssl}/gitlab-admin.key
        ca_file: {ssl}/ca.crt
        namespace: "{namespace}"
        service_account: gitlab-deployer
      register: cfg
    - name: whole setup of a second runner
      runnerkey.kubernetes.setup:
        ca_dir: {pki}
        config: {config}
        runner_index: 1
        server: https://10.0.0.1:6443
        user: "gitlab-runner:second"
        out_dir: {setup_dir}
      register: setup
    - name: save results
      ansible.builtin.copy:
        content: "{{{{ {{'cert': cert, 'cfg': cfg, 'setup': setup}} | to_json }}}}"
        dest: {results}
      check_mode: false
"""

CONFIG = """concurrent = 2

[[runners]]
  name = "my-runner"
  url = "https://gitlab.example.com"
  token = "glrt-TOKEN"
  executor = "kubernetes"
  [runners.kubernetes]
    namespace = "gitlab-runner"

[[runners]]
  name = "second"
  url = "https://gitlab.example.com"
  token = "glrt-TOKEN2"
  executor = "kubernetes"
"""


@pytest.fixture(scope="module")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The collection built into a tarball and installed, as from Galaxy."""
    tmp = tmp_path_factory.mktemp("galaxy")
    env = dict(os.environ, ANSIBLE_HOME=str(tmp / ".ansible"), ANSIBLE_NOCOLOR="1")
    built = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", str(COLLECTION), "--output-path", str(tmp)],
                           capture_output=True, text=True, env=env, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = tmp / "runnerkey-kubernetes-0.1.0.tar.gz"
    assert tarball.is_file(), built.stdout
    installed = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(tmp / "collections")],
                               capture_output=True, text=True, env=env, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (tmp / "collections" / "ansible_collections" / "runnerkey" / "kubernetes" / "plugins" / "modules" / "setup.py").is_file()
    return tmp / "collections"


def playbook(collections: Path, tmp: Path, *flags: str, namespace: str = "gitlab-runner") -> tuple[dict, str]:
    pb = tmp.parent / f"{tmp.name}-site.yml"
    results = tmp.parent / f"{tmp.name}-results.json"
    pb.write_text(PLAYBOOK.format(pki=tmp / "pki", ssl=tmp / "new" / "ssl", config=tmp / "config.toml", namespace=namespace,
                                  setup_dir=tmp / "second", results=results))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections),
               ANSIBLE_HOME=str(tmp.parent / f"{tmp.name}-home"), ANSIBLE_LOCAL_TEMP=str(tmp.parent / f"{tmp.name}-home" / "tmp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0", HOME=str(tmp.parent))
    p = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(pb), *flags],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    got = json.loads(results.read_text())
    return {"client certificate": got["cert"], "runner config": got["cfg"], "setup": got["setup"]}, p.stdout


def snapshot(d: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(d)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(d.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_collection_playbook_with_fqcns(collections: Path, tmp_path: Path) -> None:
    make_ca(tmp_path, "pki")
    pki = tmp_path / "pki"
    (tmp_path / "config.toml").write_text(CONFIG)
    first, out1 = playbook(collections, tmp_path)
    assert all(r["changed"] is True for r in first.values()), first
    ssl = tmp_path / "new" / "ssl"
    assert (ssl / "gitlab-admin.key").stat().st_mode & 0o777 == 0o600
    assert ssl.stat().st_mode & 0o777 == 0o700
    openssl("verify", "-purpose", "sslclient", "-CAfile", pki / "ca.crt", ssl / "gitlab-admin.crt")
    cert = runnerkey.Certificate.load(ssl / "gitlab-admin.crt")
    assert (cert.user, cert.groups) == ("gitlab-admin", ["gitlab-runners"])
    assert first["client certificate"]["issued"] is True
    runners = tomllib.loads((tmp_path / "config.toml").read_text())["runners"]
    assert runners[0]["kubernetes"]["host"] == "https://10.0.0.1:6443"
    assert runners[0]["kubernetes"]["namespace"] == "gitlab-runner"
    assert runners[1]["kubernetes"]["cert_file"] == str(tmp_path / "second" / "gitlab-runner:second.crt")
    second_cert = runnerkey.Certificate.load(runners[1]["kubernetes"]["cert_file"])
    assert second_cert.user == "gitlab-runner:second"
    for key in (ssl / "gitlab-admin.key", tmp_path / "second" / "gitlab-runner:second.key"):
        assert key.read_text().splitlines()[1] not in out1
    assert "glrt-TOKEN" not in out1

    before = snapshot(tmp_path)
    second, _ = playbook(collections, tmp_path)
    assert all(r["changed"] is False for r in second.values()), second
    assert second["client certificate"]["note"].startswith("kept")
    assert snapshot(tmp_path) == before

    # Check mode with diff: the config change is shown, nothing is written.
    checked, out3 = playbook(collections, tmp_path, "--check", "--diff", namespace="ci-jobs")
    assert checked["runner config"]["changed"] is True and checked["client certificate"]["changed"] is False
    assert snapshot(tmp_path) == before
    diff = checked["runner config"]["diff"]["prepared"]
    assert '-    namespace = "gitlab-runner"' in diff and '+    namespace = "ci-jobs"' in diff
    assert "TOKEN" not in json.dumps(checked)
    assert '+    namespace = "ci-jobs"' in out3

    # A certificate about to expire is re-issued in check mode only on paper.
    (ssl / "gitlab-admin.crt").unlink()
    planned, _ = playbook(collections, tmp_path, "--check")
    assert planned["client certificate"]["changed"] is True
    assert not (ssl / "gitlab-admin.crt").exists()


def test_collection_failure_names_the_problem(collections: Path, tmp_path: Path) -> None:
    make_ca(tmp_path, "pki")
    (tmp_path / "config.toml").write_text(CONFIG.replace('name = "my-runner"', 'name = "other"'))
    pb = tmp_path / "site.yml"
    pb.write_text(f"""
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - runnerkey.kubernetes.runner_config:
        path: {tmp_path / 'config.toml'}
        runner: my-runner
        namespace: x
""")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_HOME=str(tmp_path / ".ansible"),
               ANSIBLE_NOCOLOR="1", HOME=str(tmp_path))
    before = (tmp_path / "config.toml").read_bytes()
    p = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(pb)], capture_output=True, text=True,
                       env=env, timeout=300)
    assert p.returncode != 0
    assert "my-runner" in p.stdout and "RunnerNotFoundError" in p.stdout, p.stdout
    assert (tmp_path / "config.toml").read_bytes() == before


def test_ansible_test_sanity() -> None:
    """ansible-test sanity on the collection's source (pylint, pep8,
    validate-modules against the documentation, import without runnerkey
    installed, …). scripts/test.sh provides the pip bootstrap it needs."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", ANSIBLE_NOCOLOR="1")
    p = subprocess.run([str(BIN / "ansible-test"), "sanity", "--requirements", "--python", version],
                       cwd=COLLECTION, capture_output=True, text=True, env=env, timeout=1200)
    tail = "\n".join(line for line in (p.stdout + p.stderr).splitlines() if "ERROR" in line or "FATAL" in line)
    assert p.returncode == 0, tail or p.stdout[-3000:] + p.stderr[-3000:]
    assert 'Running sanity test "validate-modules"' in p.stdout + p.stderr


def fleet_commands() -> list[str]:
    """The one-time commands fleet.yml's header gives, as written."""
    text = (ROOT / "docs" / "ansible" / "fleet.yml").read_text()
    return [line.removeprefix("#   ") for line in text.splitlines()
            if line.startswith(("#   runnerkey ", "#   kubectl "))]


def fleet_snapshot(tmp: Path, hosts: list[str]) -> dict[str, tuple[bytes, int]]:
    """Every file (and link target) of the staging area and the runners."""
    out = {}
    for d in [tmp / "stage", *(tmp / h for h in hosts)]:
        for p in sorted(d.rglob("*")):
            if p.is_symlink():
                out[str(p)] = (os.readlink(p).encode(), p.lstat().st_mtime_ns)
            elif p.is_file():
                out[str(p)] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def test_docs_fleet_playbook_on_a_real_control_plane(collections: Path, tmp_path: Path, control_plane) -> None:
    """docs/ansible/fleet.yml as it is, against the real control plane, on
    three "hosts" that are local directories: its header's commands run as
    written; the identities are issued on the "control plane", installed on
    each runner as one unit, and work against the API server; a second run
    changes nothing (files byte- and mtime-identical); a pair `runnerkey
    renew` rotated on a runner is left alone by the next run."""
    from conftest import binary, ok
    cp = control_plane
    shell_env = dict(os.environ, KUBECONFIG=str(cp.admin), PATH=f"{binary().parent}{os.pathsep}{os.environ['PATH']}")
    commands = fleet_commands()
    assert any(c.startswith("runnerkey rbac --group gitlab-runners") for c in commands), commands
    for command in commands:
        p = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=shell_env, capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, f"{command}:\n{p.stdout}\n{p.stderr}"
    hosts = ["runner-01", "runner-02", "build-arm"]
    lines = ["[control_plane]", "cp ansible_connection=local", "", "[runners]"]
    for h in hosts:
        (tmp_path / h).mkdir()
        (tmp_path / h / "config.toml").write_text(CONFIG.replace("my-runner", h))
        lines.append(f"{h} ansible_connection=local runnerkey_dir={tmp_path / h / 'k8s'} "
                     f"runnerkey_config={tmp_path / h / 'config.toml'}" + (" runnerkey_algorithm=ed25519" if h == "build-arm" else ""))
    lines += ["", "[all:vars]", f"ansible_python_interpreter={sys.executable}", f"runnerkey_server={cp.server}"]
    (tmp_path / "inventory.ini").write_text("\n".join(lines) + "\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_HOME=str(tmp_path / ".ansible"),
               ANSIBLE_NOCOLOR="1", HOME=str(tmp_path), ANSIBLE_FORKS="3")
    run = [str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.ini"), str(ROOT / "docs" / "ansible" / "fleet.yml"),
           "-e", f"runnerkey_ca_dir={cp.pki} runnerkey_stage={tmp_path / 'stage'}"]

    def play(*flags: str) -> str:
        p = subprocess.run([*run, *flags], capture_output=True, text=True, env=env, timeout=600)
        assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
        return p.stdout

    def recap(out: str) -> str:
        return out[out.index("PLAY RECAP"):]

    # --check --diff on a fleet that has nothing yet: runs, writes nothing.
    play("--check", "--diff")
    assert not (tmp_path / "stage").exists() and not (tmp_path / "runner-01" / "k8s").exists()
    first = play()
    for h in hosts:
        k8s = tmp_path / h / "k8s"
        # One version switched in: the stable paths are links into it.
        assert (k8s / "runner.key").is_symlink() and (k8s / "ca.crt").is_symlink()
        assert (k8s / "runner.key").stat().st_mode & 0o777 == 0o600 and k8s.stat().st_mode & 0o777 == 0o700
        assert (k8s / "runner.key").read_bytes() == (tmp_path / "stage" / h / "runner.key").read_bytes()
        cert = runnerkey.Certificate.load(k8s / "runner.crt")
        assert (cert.user, cert.groups) == (f"gitlab-runner:{h}", ["gitlab-runners"])
        openssl("verify", "-purpose", "sslclient", "-CAfile", cp.ca, k8s / "runner.crt")
        kube = tomllib.loads((tmp_path / h / "config.toml").read_text())["runners"][0]["kubernetes"]
        assert kube["key_file"] == str(k8s / "runner.key") and kube["host"] == cp.server
        assert (k8s / "runner.key").read_text().splitlines()[1] not in first
        # The identity works: the runner may make job pods in its namespace.
        kc = tmp_path / f"{h}.kubeconfig"
        ok("kubeconfig", "--server", cp.server, "--ca", kube["ca_file"], "--cert", kube["cert_file"],
           "--key", kube["key_file"], "--out", kc)
        assert cp.kubectl("auth", "can-i", "create", "pods", "-n", "gitlab-runner", kubeconfig=kc).stdout.strip() == "yes"
        assert cp.kubectl("auth", "can-i", "create", "pods", "-n", "default", kubeconfig=kc,
                          check=False).stdout.strip() == "no"
    assert runnerkey.PrivateKey.load(tmp_path / "build-arm" / "k8s" / "runner.key").algorithm == "Ed25519"
    before = fleet_snapshot(tmp_path, hosts)
    again = play()
    assert recap(again).count("changed=0") == len(hosts), recap(again)
    assert fleet_snapshot(tmp_path, hosts) == before

    # runnerkey renew on runner-01 rotates its pair; the playbook leaves it.
    ok("renew", "--config", tmp_path / "runner-01" / "config.toml", "--runner", "runner-01", "--ca-dir", cp.pki, "--force")
    k8s = tmp_path / "runner-01" / "k8s"
    renewed = (k8s / "runner.key").read_bytes()
    assert renewed != before[str(tmp_path / "stage" / "runner-01" / "runner.key")][0]
    after_renew = fleet_snapshot(tmp_path, hosts)
    third = play()
    assert recap(third).count("changed=0") == len(hosts), recap(third)
    assert fleet_snapshot(tmp_path, hosts) == after_renew
    assert (k8s / "runner.key").read_bytes() == renewed


def test_collection_renew_module(collections: Path, tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    from conftest import ok
    ok("setup", "--ca-dir", tmp_path / "pki", "--config", cfg, "--runner", "my-runner", "--server",
       "https://127.0.0.1:1", "--out-dir", tmp_path / "ssl", "--days", "30", "-q")
    crt = tmp_path / "ssl" / "gitlab-admin.crt"

    def play(force: bool, *flags: str) -> dict:
        pb = tmp_path / "renew.yml"
        results = tmp_path / "renew-results.json"
        pb.write_text(f"""
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - runnerkey.kubernetes.renew:
        config: {cfg}
        runner: my-runner
        ca_dir: {tmp_path / 'pki'}
        force: {str(force).lower()}
      register: r
    - ansible.builtin.copy:
        content: "{{{{ r | to_json }}}}"
        dest: {results}
      check_mode: false
""")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_HOME=str(tmp_path / ".ansible"),
                   ANSIBLE_NOCOLOR="1", HOME=str(tmp_path))
        p = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(pb), *flags],
                           capture_output=True, text=True, env=env, timeout=300)
        assert p.returncode == 0, p.stdout[-3000:]
        return json.loads(results.read_text())

    before = crt.read_bytes()
    not_due = play(False)
    assert not_due["changed"] is False and not_due["reason"].startswith("not due"), not_due
    checked = play(True, "--check")
    assert checked["changed"] is True and crt.read_bytes() == before
    done = play(True)
    assert done["changed"] is True and crt.read_bytes() != before
    openssl("verify", "-purpose", "sslclient", "-CAfile", ca_crt, crt)


def test_collection_token_setup_and_renew(collections: Path, tmp_path: Path) -> None:
    """setup with auth: token and renew through the TokenRequest API, as
    tasks: the token lands in bearer_token and never in the output; a second
    run and a renew that is not due change nothing; a forced renew rotates
    it."""
    import tomllib

    from test_token_auth import CONFIG as TOKEN_CONFIG
    from test_token_auth import cluster

    srv, kcs = cluster(tmp_path)
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text(TOKEN_CONFIG)
        results = tmp_path / "token-results.json"

        def play(force: bool) -> tuple[dict, str]:
            pb = tmp_path / "token.yml"
            pb.write_text(f"""
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - runnerkey.kubernetes.setup:
        config: {cfg}
        runner: deploy
        server: {srv.url}
        out_dir: {tmp_path / 'ssl'}
        kubeconfig: {kcs['token-admin']}
        auth: token
        token_service_account: runner
        token_duration: 1h
        wait: 1m30s
      register: s
    - runnerkey.kubernetes.renew:
        config: {cfg}
        runner: deploy
        kubeconfig: {kcs['token-admin']}
        expect_service_account: gitlab-runner/runner
        wait: 90
        force: {str(force).lower()}
      register: r
    - ansible.builtin.copy:
        content: "{{{{ {{'setup': s, 'renew': r}} | to_json }}}}"
        dest: {results}
""")
            env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_HOME=str(tmp_path / ".ansible"),
                       ANSIBLE_NOCOLOR="1", HOME=str(tmp_path))
            p = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(pb), "-v"],
                               capture_output=True, text=True, env=env, timeout=300)
            assert p.returncode == 0, p.stdout[-3000:]
            return json.loads(results.read_text()), p.stdout

        first, out = play(False)
        token = tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]["bearer_token"]
        assert first["setup"]["changed"] and first["setup"]["credential"] == "bearer-token", first["setup"]
        assert first["renew"]["changed"] is False and first["renew"]["reason"].startswith("not due"), first["renew"]
        assert token not in out and token not in results.read_text()
        again, _ = play(False)
        assert again["setup"]["changed"] is False
        forced, out = play(True)
        new = tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]["bearer_token"]
        assert forced["renew"]["changed"] and forced["renew"]["credential"] == "bearer-token" and new != token
        assert new not in out
    finally:
        srv.stop()
