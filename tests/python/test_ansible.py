"""The Ansible modules in a real playbook run (ansible-core, localhost):
changed on the first run, not on the second, check mode writes nothing,
diff shows the config change, and no key material is output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import runnerkey
import runnerkey.ansible
from cluster import make_ca
from conftest import fixture, openssl

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - name: client certificate
      runnerkey_client_cert:
        ca_dir: {pki}
        user: gitlab-admin
        groups: [gitlab-runners]
        cert_path: {ssl}/gitlab-admin.crt
        key_path: {ssl}/gitlab-admin.key
        ca_path: {ssl}/ca.crt
      register: cert
    - name: runner config
      runnerkey_runner_config:
        path: {config}
        runner: my-runner
        host: https://10.0.0.1:6443
        cert_file: {ssl}/gitlab-admin.crt
        key_file: {ssl}/gitlab-admin.key
        ca_file: {ssl}/ca.crt
        namespace: "{namespace}"
        service_account: gitlab-deployer
      register: cfg
    - name: save results
      copy:
        content: "{{{{ {{'cert': cert, 'cfg': cfg}} | to_json }}}}"
        dest: {results}
      check_mode: false
"""


def playbook(tmp: Path, *flags: str, namespace: str = "gitlab-runner") -> tuple[dict, str]:
    pb = tmp.parent / f"{tmp.name}-site.yml"
    (tmp / "ssl").mkdir(exist_ok=True)
    results = tmp.parent / f"{tmp.name}-results.json"
    pb.write_text(PLAYBOOK.format(pki=tmp / "pki", ssl=tmp / "ssl", config=tmp / "config.toml", namespace=namespace,
                                  results=results))
    env = dict(os.environ, ANSIBLE_LIBRARY=runnerkey.ansible.LIBRARY,
               ANSIBLE_HOME=str(tmp / ".ansible"), ANSIBLE_LOCAL_TEMP=str(tmp / ".ansible" / "tmp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0", HOME=str(tmp))
    exe = Path(sys.executable).parent / "ansible-playbook"
    p = subprocess.run([str(exe), "-i", "localhost,", str(pb), *flags], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    got = json.loads(results.read_text())
    return {"client certificate": got["cert"], "runner config": got["cfg"]}, p.stdout


def snapshot(d: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(d)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(d.rglob("*")) if p.is_file() and ".ansible" not in p.parts}


def test_playbook_issues_a_cert_and_configures_a_runner(tmp_path: Path) -> None:
    make_ca(tmp_path, "pki")
    pki = tmp_path / "pki"
    (tmp_path / "config.toml").write_bytes(fixture("runner-configs", "gitlabhq_gitlab-runner_lint-wrong-section.toml").read_bytes())
    first, out1 = playbook(tmp_path)
    assert first["client certificate"]["changed"] is True and first["runner config"]["changed"] is True
    ssl = tmp_path / "ssl"
    assert (ssl / "gitlab-admin.key").stat().st_mode & 0o777 == 0o600
    openssl("verify", "-purpose", "sslclient", "-CAfile", pki / "ca.crt", ssl / "gitlab-admin.crt")
    cert = runnerkey.Certificate.load(ssl / "gitlab-admin.crt")
    assert (cert.user, cert.groups) == ("gitlab-admin", ["gitlab-runners"])
    kube = tomllib.loads((tmp_path / "config.toml").read_text())["runners"][0]["kubernetes"]
    assert kube["host"] == "https://10.0.0.1:6443" and kube["namespace"] == "gitlab-runner"
    key_body = (ssl / "gitlab-admin.key").read_text().splitlines()[1]
    assert key_body not in out1

    before = snapshot(tmp_path)
    second, _ = playbook(tmp_path)
    assert second["client certificate"]["changed"] is False and second["runner config"]["changed"] is False
    assert snapshot(tmp_path) == before

    checked, out3 = playbook(tmp_path, "--check", "--diff", namespace="ci-jobs")
    assert checked["runner config"]["changed"] is True and checked["client certificate"]["changed"] is False
    assert snapshot(tmp_path) == before
    diff = checked["runner config"]["diff"]["prepared"]
    assert '-    namespace = "gitlab-runner"' in diff and '+    namespace = "ci-jobs"' in diff
    assert "TOKEN" not in json.dumps(checked["runner config"]["diff"])
    assert "--- " in out3 or "namespace" in out3
