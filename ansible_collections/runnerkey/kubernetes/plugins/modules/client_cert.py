#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: runnerkey developers
# MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: client_cert
short_description: Keep a Kubernetes client key and certificate valid
version_added: 0.1.0
description:
  - Ensures a private key, a client certificate for O(user) and O(groups)
    signed by the cluster CA, and a copy of the CA certificate.
  - An existing key and certificate are kept, untouched, when the certificate
    belongs to the key, carries the identity, is accepted by the CA and is not
    due for renewal by the policy C(runnerkey renew) uses (O(renew_at),
    O(renew_before)). Otherwise a certificate is issued for the existing key
    (or a new key, when there is none or with O(force)).
  - The decision is the one C(runnerkey issue --keep-valid) makes. Key
    material is never returned or logged; the key is mode 0600 from its
    first byte and its directory, when created, 0700.
author:
  - runnerkey developers (@runnerkey)
extends_documentation_fragment:
  - runnerkey.kubernetes.ca
  - runnerkey.kubernetes.ca.ISSUE
  - runnerkey.kubernetes.ca.RENEWAL
options:
  cert_path:
    description: The client certificate to ensure (C(cert_file) in config.toml).
    type: path
    required: true
  key_path:
    description: The private key to ensure (C(key_file)), mode 0600.
    type: path
    required: true
  ca_path:
    description: Where the CA certificate goes (C(ca_file)).
    type: path
    required: true
  user:
    description: The Kubernetes user (the certificate's CN).
    type: str
    required: true
  groups:
    description: The Kubernetes groups (the certificate's O values).
    type: list
    elements: str
    default: []
  allow_system_masters:
    description: Permit the groups C(system:masters), C(kubeadm:cluster-admins) and C(system:nodes).
    type: bool
    default: false
notes:
  - Supports check mode and diff.
"""

EXAMPLES = r"""
- name: Client certificate for the runner, renewed after two thirds of its life
  runnerkey.kubernetes.client_cert:
    ca_dir: /etc/kubernetes/pki
    user: gitlab-runner:{{ inventory_hostname }}
    groups: [gitlab-runners]
    cert_path: /etc/gitlab-runner/kubernetes/runner.crt
    key_path: /etc/gitlab-runner/kubernetes/runner.key
    ca_path: /etc/gitlab-runner/kubernetes/ca.crt
"""

RETURN = r"""
issued:
  description: Whether a new certificate was (or in check mode would be) issued.
  type: bool
  returned: success
  sample: true
subject:
  description: The certificate's subject.
  type: str
  returned: success
  sample: CN=gitlab-admin, O=gitlab-runners
not_after:
  description: The certificate's end (RFC 3339).
  type: str
  returned: success
  sample: "2027-11-27T01:50:32Z"
note:
  description: Why the certificate was kept or issued.
  type: str
  returned: success
  sample: "kept: valid, for the same identity and CA"
files:
  description: Key, certificate and CA certificate, with what happened to each.
  type: list
  elements: dict
  returned: success
  sample: [{"path": "/etc/gitlab-runner/kubernetes/runner.key", "action": "created", "mode": "600", "purpose": "key_file"}]
advice:
  description: Advice from issuing (long validity, clamped to the CA's end).
  type: list
  elements: str
  returned: success
  sample: []
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runnerkey.kubernetes.plugins.module_utils.support import (
    CA_OPTIONS,
    CA_RULES,
    ISSUE_OPTIONS,
    RENEWAL_OPTIONS,
    fail,
    issue_args,
    load_ca,
    require_runnerkey,
    result_of,
    runnerkey,
)


def _state(path):
    """What the diff shows of a certificate file."""
    if not os.path.exists(path):
        return "absent\n"
    try:
        cert = runnerkey.Certificate.load(path)
    except runnerkey.RunnerkeyError as e:
        return "unreadable: %s\n" % e
    return "subject: %s\nnot_after: %s\nfingerprint: %s\n" % (
        cert.subject,
        cert.not_after.isoformat(),
        cert.fingerprint_sha256,
    )


def main():
    argument_spec = dict(
        cert_path=dict(type="path", required=True),
        key_path=dict(type="path", required=True, no_log=False),
        ca_path=dict(type="path", required=True),
        user=dict(type="str", required=True),
        groups=dict(type="list", elements="str", default=[]),
        allow_system_masters=dict(type="bool", default=False),
    )
    argument_spec.update(CA_OPTIONS)
    argument_spec.update(ISSUE_OPTIONS)
    argument_spec.update(RENEWAL_OPTIONS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **CA_RULES)
    require_runnerkey(module)
    p = module.params
    try:
        before = _state(p["cert_path"])
        report = load_ca(p).ensure(
            cert_path=p["cert_path"],
            key_path=p["key_path"],
            ca_path=p["ca_path"],
            user=p["user"],
            groups=p["groups"],
            allow_system_masters=p["allow_system_masters"],
            dry_run=module.check_mode,
            **issue_args(p, RENEWAL_OPTIONS)
        )
    except runnerkey.RunnerkeyError as e:
        fail(module, e)
    result = result_of(module, report)
    if module._diff and report["changed"]:
        after = "subject: %s\nnot_after: %s\n" % (report["subject"], report["not_after"])
        if not module.check_mode:
            after = _state(p["cert_path"])
        result["diff"] = dict(before=before, after=after, before_header=p["cert_path"], after_header=p["cert_path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
