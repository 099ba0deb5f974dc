#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: runnerkey developers
# MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: runner_config
short_description: Set [runners.kubernetes] keys of one runner in gitlab-runner's config.toml
version_added: 0.1.0
description:
  - Sets (or removes) C(host), C(cert_file), C(key_file), C(ca_file), C(namespace),
    C(service_account) and C(bearer_token) of one runner, keeping every other byte
    of the file (comments, order, formatting).
  - The file is backed up, written atomically, and locked against a concurrent edit,
    as C(runnerkey runner-config set) does. gitlab-runner picks the change up on its own.
author:
  - runnerkey developers (@runnerkey)
extends_documentation_fragment:
  - runnerkey.kubernetes.ca.RUNNER
options:
  path:
    description: gitlab-runner's config.toml.
    type: path
    default: /etc/gitlab-runner/config.toml
  host:
    description: The API server URL.
    type: str
  cert_file:
    description: The client certificate's path.
    type: path
  key_file:
    description: The client key's path.
    type: path
  ca_file:
    description: The cluster CA certificate's path.
    type: path
  namespace:
    description: Namespace of the job pods.
    type: str
  service_account:
    description: Service account of the job pods.
    type: str
  bearer_token:
    description: A bearer token (redacted in the diff).
    type: str
  unset:
    description: Keys of C([runners.kubernetes]) to remove.
    type: list
    elements: str
    default: []
  backup:
    description: Write C(config.toml.<timestamp>.bak) before changing the file.
    type: bool
    default: true
notes:
  - Supports check mode and diff; tokens never appear in the diff.
"""

EXAMPLES = r"""
- name: Point the runner at the cluster
  runnerkey.kubernetes.runner_config:
    runner: my-runner
    host: https://10.0.0.1:6443
    cert_file: /etc/gitlab-runner/kubernetes/runner.crt
    key_file: /etc/gitlab-runner/kubernetes/runner.key
    ca_file: /etc/gitlab-runner/kubernetes/ca.crt
    namespace: gitlab-runner
    service_account: gitlab-deployer
"""

RETURN = r"""
changed_keys:
  description: The keys that were (or would be) set or removed.
  type: list
  elements: str
  returned: success
  sample: [host, cert_file]
path:
  description: The config file.
  type: str
  returned: success
  sample: /etc/gitlab-runner/config.toml
backup_file:
  description: The backup written before the change.
  type: str
  returned: changed and a backup was written
  sample: /etc/gitlab-runner/config.toml.20261127T015000.bak
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runnerkey.kubernetes.plugins.module_utils.support import (
    fail,
    require_runnerkey,
    runnerkey,
)


def main():
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
    require_runnerkey(module)
    p = module.params
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
                result["backup_file"] = str(saved["backup"])
    except runnerkey.RunnerkeyError as e:
        fail(module, e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
