#!/usr/bin/python
"""Ansible module: ensure [runners.kubernetes] settings of a gitlab-runner."""

from __future__ import annotations

DOCUMENTATION = r"""
module: runnerkey_runner_config
short_description: Ensure [runners.kubernetes] settings of one runner in gitlab-runner's config.toml
description:
  - Sets (or removes) host, cert_file, key_file, ca_file, namespace, service_account and bearer_token
    of one runner, keeping every other byte of the file. Backup, atomic write and lock as runnerkey does.
  - Supports check mode and diff (tokens are redacted in the diff).
options:
  path: {description: gitlab-runner's config.toml, type: path, default: /etc/gitlab-runner/config.toml}
  runner: {description: The runner's name, type: str}
  runner_index: {description: The runner's 0-based index (for duplicate names), type: int}
  host: {description: API server URL, type: str}
  cert_file: {description: Client certificate path, type: path}
  key_file: {description: Client key path, type: path}
  ca_file: {description: Cluster CA path, type: path}
  namespace: {description: Namespace of job pods, type: str}
  service_account: {description: Service account of job pods, type: str}
  bearer_token: {description: Bearer token, type: str, no_log: true}
  unset: {description: Keys to remove, type: list, elements: str, default: []}
  backup: {description: Write config.toml.<timestamp>.bak before changing, type: bool, default: true}
"""

EXAMPLES = r"""
- name: Point the runner at the cluster
  runnerkey_runner_config:
    runner: my-runner
    host: https://10.0.0.1:6443
    cert_file: /etc/ssl/kubernetes/gitlab-admin.crt
    key_file: /etc/ssl/kubernetes/gitlab-admin.key
    ca_file: /etc/ssl/kubernetes/ca.crt
    namespace: gitlab-runner
    service_account: gitlab-deployer
"""

from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/gitlab-runner/config.toml"),
            runner=dict(type="str"),
            runner_index=dict(type="int"),
            host=dict(type="str"),
            cert_file=dict(type="path"),
            key_file=dict(type="path", no_log=False),
            ca_file=dict(type="path"),
            namespace=dict(type="str"),
            service_account=dict(type="str"),
            bearer_token=dict(type="str", no_log=True),
            unset=dict(type="list", elements="str", default=[]),
            backup=dict(type="bool", default=True),
        ),
        required_one_of=[("runner", "runner_index")],
        mutually_exclusive=[("runner", "runner_index")],
        supports_check_mode=True,
    )
    p = module.params
    try:
        import runnerkey
    except ImportError as e:  # pragma: no cover - depends on the target host
        module.fail_json(msg=f"the runnerkey Python package is required on the target: {e}")
        return
    runner = p["runner"] if p["runner"] is not None else p["runner_index"]
    try:
        config = runnerkey.RunnerConfig.load(p["path"])
        changed_keys = config.set_kubernetes(
            runner,
            host=p["host"],
            cert_file=p["cert_file"],
            key_file=p["key_file"],
            ca_file=p["ca_file"],
            namespace=p["namespace"],
            service_account=p["service_account"],
            bearer_token=p["bearer_token"],
            unset=p["unset"],
        )
        result = dict(changed=bool(changed_keys), changed_keys=changed_keys, path=p["path"])
        if module._diff and changed_keys:
            result["diff"] = dict(prepared=config.diff())
        if changed_keys and not module.check_mode:
            saved = config.save(backup=p["backup"])
            if saved and saved.get("backup"):
                result["backup_file"] = saved["backup"]
    except runnerkey.RunnerkeyError as e:
        extra = {k: getattr(e, k) for k in ("line", "column", "available") if hasattr(e, k)}
        module.fail_json(msg=str(e), error=type(e).__name__, **extra)
        return
    module.exit_json(**result)


if __name__ == "__main__":
    main()
