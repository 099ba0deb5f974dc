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
  - An existing key and certificate are kept when the certificate belongs
    to the key, carries the identity, is accepted by the CA and has more
    than O(renew_before) left. Otherwise a certificate is issued for the
    existing key (or a new key, when there is none or with O(force)).
  - The decision is the one C(runnerkey issue --keep-valid) makes. Key
    material is never returned or logged; the key is mode 0600 from its
    first byte and its directory, when created, 0700.
author:
  - runnerkey developers (@runnerkey)
requirements:
  - runnerkey (Python package) on the managed host
options:
  ca_dir:
    description: Directory with the cluster CA's C(ca.crt) and C(ca.key) (e.g. C(/etc/kubernetes/pki)).
    type: path
  ca_cert:
    description: The cluster CA certificate (with O(ca_key)).
    type: path
  ca_key:
    description: The cluster CA private key (with O(ca_cert)).
    type: path
  ca_passphrase:
    description: Passphrase of an encrypted CA key.
    type: str
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
  algorithm:
    description: Algorithm of a new key.
    type: str
    default: ecdsa-p256
    choices: [ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, ed25519]
  days:
    description: Validity of a new certificate in days.
    type: int
    default: 365
  renew_before:
    description: Re-issue a certificate that expires within this duration (e.g. C(30d), C(720h)).
    type: str
    default: 30d
  force:
    description: A new key and certificate even when the existing ones are fine.
    type: bool
    default: false
  allow_system_masters:
    description: Permit the groups C(system:masters), C(kubeadm:cluster-admins) and C(system:nodes).
    type: bool
    default: false
notes:
  - Supports check mode and diff.
"""

EXAMPLES = r"""
- name: Client certificate for the runner, renewed 30 days before it ends
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
    fail,
    load_ca,
    require_runnerkey,
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
        algorithm=dict(
            type="str",
            default="ecdsa-p256",
            choices=["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"],
        ),
        days=dict(type="int", default=365),
        renew_before=dict(type="str", default="30d"),
        force=dict(type="bool", default=False),
        allow_system_masters=dict(type="bool", default=False),
    )
    argument_spec.update(CA_OPTIONS)
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
            algorithm=p["algorithm"],
            days=p["days"],
            renew_before=p["renew_before"],
            force=p["force"],
            allow_system_masters=p["allow_system_masters"],
            dry_run=module.check_mode,
        )
    except runnerkey.RunnerkeyError as e:
        fail(module, e)
    result = dict(report)
    result.pop("dry_run", None)
    # Ansible shows them as warnings (below); a "warnings" key in the
    # result is deprecated.
    result["advice"] = result.pop("warnings")
    for w in report["warnings"]:
        module.warn(w)
    if module._diff and report["changed"]:
        after = "subject: %s\nnot_after: %s\n" % (report["subject"], report["not_after"])
        if not module.check_mode:
            after = _state(p["cert_path"])
        result["diff"] = dict(before=before, after=after, before_header=p["cert_path"], after_header=p["cert_path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
