#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: runnerkey developers
# MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: setup
short_description: Give a gitlab-runner an identity in a Kubernetes cluster, all in one step
version_added: 0.1.0
description:
  - What C(runnerkey setup) does, as a task - the runner's key (kept when present), a
    client certificate signed by the cluster CA (kept while valid), the CA certificate,
    an RBAC manifest, a kubeconfig to test with, and the runner's C([runners.kubernetes])
    settings in config.toml. Everything is checked and prepared before the first write;
    a second run changes nothing.
  - Instead of the CA at hand, O(kubeconfig) has the cluster sign through its CSR API (no CA
    key anywhere), or, with O(auth=token), requests a service account token from the
    TokenRequest API and writes it to C(bearer_token).
  - Apply the RBAC manifest (C(rbac.yaml) in O(out_dir)) on the cluster, e.g. with
    C(kubernetes.core.k8s).
author:
  - runnerkey developers (@runnerkey)
extends_documentation_fragment:
  - runnerkey.kubernetes.ca
  - runnerkey.kubernetes.ca.ISSUE
  - runnerkey.kubernetes.ca.RUNNER
  - runnerkey.kubernetes.ca.CLUSTER
options:
  config:
    description: gitlab-runner's config.toml.
    type: path
    default: /etc/gitlab-runner/config.toml
  server:
    description: The API server URL (C(host)).
    type: str
    required: true
  user:
    description: The runner's Kubernetes user (the certificate's CN).
    type: str
    default: gitlab-admin
  groups:
    description: The runner's Kubernetes groups (the certificate's O values).
    type: list
    elements: str
    default: []
  out_dir:
    description: Where the key, certificate, C(ca.crt), C(rbac.yaml) and C(kubeconfig) are written.
    type: path
    default: /etc/ssl/kubernetes
  renew_before:
    description: Re-issue a kept certificate that expires within this duration (e.g. C(30d), C(720h)).
    type: str
    default: 30d
  install_dir:
    description:
      - Where those files will live on the runner host, when they are written elsewhere and
        copied there; config.toml and the kubeconfig name these paths.
    type: path
  namespace:
    description: Namespace of the job pods.
    type: str
    default: gitlab-runner
  service_account:
    description: Service account of the job pods.
    type: str
    default: gitlab-deployer
  auth:
    description:
      - How the runner authenticates - a client certificate, or a service account token
        (needs O(kubeconfig) and O(token_service_account)).
    type: str
    default: certificate
    choices: [certificate, token]
  token_service_account:
    description:
      - With O(auth=token), the runner's own service account in O(namespace), created when
        missing. The job pods keep O(service_account).
    type: str
  token_duration:
    description: With O(auth=token), the token's lifetime (the API server may shorten it), e.g. C(24h).
    type: str
    default: 24h
  keep_key:
    description:
      - Keep the runner's existing key even when it belongs to a blog identity (an X.509 v1
        certificate, or one in use longer than the lifetime issued now), which setup otherwise
        replaces by a new one (RV(key_replaced) says why).
    type: bool
    default: false
notes:
  - Supports check mode (nothing written; the plan is returned) and diff (the config change).
"""

EXAMPLES = r"""
- name: The runner's identity, files and config
  runnerkey.kubernetes.setup:
    ca_dir: /etc/kubernetes/pki
    runner: "{{ inventory_hostname }}"
    server: https://10.0.0.1:6443
    user: gitlab-runner:{{ inventory_hostname }}
    groups: [gitlab-runners]
    out_dir: /etc/gitlab-runner/kubernetes

- name: The runner authenticates with a service account token (no CA key anywhere)
  runnerkey.kubernetes.setup:
    kubeconfig: /etc/kubernetes/admin.conf
    auth: token
    token_service_account: gitlab-runner
    runner: "{{ inventory_hostname }}"
    server: https://10.0.0.1:6443
  no_log: true
"""

RETURN = r"""
files:
  description: Every file, with what happened to it.
  type: list
  elements: dict
  returned: success
  sample: [{"path": "/etc/ssl/kubernetes/gitlab-admin.key", "action": "created", "mode": "600", "purpose": "key_file"}]
credential:
  description: How the runner authenticates (C(client-certificate) or C(bearer-token)).
  type: str
  returned: success
  sample: client-certificate
certificate:
  description: The credential's subject and end (the service account's, for a token).
  type: str
  returned: success
  sample: CN=gitlab-admin valid until 2027-11-27T01:50:32Z
certificate_note:
  description: Why the certificate was kept or issued.
  type: str
  returned: success
  sample: "kept: valid, for the same identity and CA"
key_replaced:
  description: Why the runner's existing key was replaced by a new one (empty when it was kept or new).
  type: str
  returned: success
  sample: "the existing certificate /etc/ssl/kubernetes/gitlab-admin.crt is X.509 v1 ..."
config_diff:
  description: The config change (secrets redacted); empty when unchanged.
  type: str
  returned: success
config_backup:
  description: The config backup, when one was written.
  type: str
  returned: success
doctor:
  description: The offline doctor's report on the result.
  type: dict
  returned: success
next_steps:
  description: What is left to do by hand (apply the RBAC manifest, check online).
  type: list
  elements: dict
  returned: success
advice:
  description: Advice (long validity, writable directories).
  type: list
  elements: str
  returned: success
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runnerkey.kubernetes.plugins.module_utils.support import (
    CA_OPTIONS,
    CA_RULES,
    CLUSTER_OPTIONS,
    ISSUE_OPTIONS,
    RUNNER_OPTIONS,
    fail,
    issue_args,
    load_ca,
    require_runnerkey,
    result_of,
    runner_of,
    wait_of,
    runnerkey,
)


#: The module's own options; their defaults are the library's
#: (runnerkey.DEFAULTS; tests/python/test_defaults.py compares them).
OPTIONS = dict(
    server=dict(type="str", required=True),
    user=dict(type="str", default="gitlab-admin"),
    groups=dict(type="list", elements="str", default=[]),
    out_dir=dict(type="path", default="/etc/ssl/kubernetes"),
    install_dir=dict(type="path"),
    namespace=dict(type="str", default="gitlab-runner"),
    service_account=dict(type="str", default="gitlab-deployer"),
    auth=dict(type="str", default="certificate", choices=["certificate", "token"]),
    token_service_account=dict(type="str", no_log=False),
    token_duration=dict(type="str", default="24h", no_log=False),
    renew_before=dict(type="str", default="30d"),
    keep_key=dict(type="bool", default=False),
)


def main():
    argument_spec = dict(OPTIONS)
    argument_spec.update(CA_OPTIONS)
    argument_spec.update(CLUSTER_OPTIONS)
    argument_spec.update(ISSUE_OPTIONS)
    argument_spec.update(RUNNER_OPTIONS)
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_one_of=[("runner", "runner_index"), ("ca_dir", "ca_cert", "kubeconfig")],
        mutually_exclusive=[("runner", "runner_index"), ("ca_dir", "ca_cert", "kubeconfig")],
        required_together=CA_RULES["required_together"],
        required_if=[("auth", "token", ("kubeconfig", "token_service_account"))],
    )
    require_runnerkey(module)
    p = module.params
    try:
        report = runnerkey.setup(
            ca=load_ca(p) if p["ca_dir"] or p["ca_cert"] else None,
            kubeconfig=p["kubeconfig"],
            context=p["context"],
            approve=p["approve"],
            wait=wait_of(p),
            auth=p["auth"],
            token_service_account=p["token_service_account"],
            token_duration=p["token_duration"],
            config=p["config"],
            runner=runner_of(p),
            server=p["server"],
            user=p["user"],
            groups=p["groups"],
            out_dir=p["out_dir"],
            install_dir=p["install_dir"],
            namespace=p["namespace"],
            service_account=p["service_account"],
            renew_before=p["renew_before"],
            keep_key=p["keep_key"],
            dry_run=module.check_mode,
            **issue_args(p)
        )
    except runnerkey.RunnerkeyError as e:
        fail(module, e)
    result = result_of(module, report)
    result["config_backup"] = str(report["config_backup"] or "")
    result["key_replaced"] = report.get("key_replaced") or ""
    if module._diff and report["config_diff"]:
        result["diff"] = dict(prepared=report["config_diff"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
