#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: runnerkey developers
# MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: credentials
short_description: Install a runner's key, certificate and CA certificate as one unit
version_added: 0.1.0
description:
  - Installs a key, client certificate and CA certificate made elsewhere (on the control
    plane, by M(runnerkey.kubernetes.client_cert)) into the runner host's credential
    directory O(dir) - C(NAME.key) (0600), C(NAME.crt) and C(ca.crt) - as one unit, the way
    C(runnerkey renew) does - a new version written and synced in full, then switched in by
    one atomic rename. A run killed at any instant leaves the old set or the new one.
  - Nothing changes when O(dir) holds them already, or holds a pair of its own (renewed on the
    host by C(runnerkey renew)) that belongs together, is for O(user) and O(groups), is
    accepted by the offered CA certificate and is not due (O(renew_at), O(renew_before)). A
    pushed pair never undoes a renewal on the host; a different CA certificate is switched
    in with the host's pair.
  - The offered pair must itself be valid. Key material is never returned or logged.
author:
  - runnerkey developers (@runnerkey)
extends_documentation_fragment:
  - runnerkey.kubernetes.ca.RENEWAL
options:
  dir:
    description: The credential directory (created 0700 when missing).
    type: path
    required: true
  name:
    description: Base name of the key and certificate files.
    type: str
    default: runner
  key:
    description: The private key, PEM text.
    type: str
    required: true
  cert:
    description: The client certificate (and any intermediates after it), PEM text.
    type: str
    required: true
  ca:
    description: The cluster CA certificate, PEM text.
    type: str
    required: true
  user:
    description: The user (CN) the pair must be for (default the offered certificate's).
    type: str
  groups:
    description: With O(user), the groups (O) the pair must carry, exactly these.
    type: list
    elements: str
    default: []
requirements:
  - runnerkey (Python package) on the managed host
notes:
  - Supports check mode.
"""

EXAMPLES = r"""
- name: Install the pair the control plane keeps valid
  runnerkey.kubernetes.credentials:
    dir: /etc/gitlab-runner/kubernetes
    user: gitlab-runner:{{ inventory_hostname }}
    groups: [gitlab-runners]
    key: "{{ staged.results[0].content | b64decode }}"
    cert: "{{ staged.results[1].content | b64decode }}"
    ca: "{{ staged.results[2].content | b64decode }}"
"""

RETURN = r"""
action:
  description: >-
    C(installed) (the offered set), C(ca-updated) (the host's pair kept, with the offered CA
    certificate), C(kept) (the host's own pair, still good) or C(unchanged).
  type: str
  returned: success
  sample: kept
note:
  description: Why.
  type: str
  returned: success
  sample: "kept: the installed pair (renewed on this host) is valid for the same identity and not due"
subject:
  description: The subject of the certificate the directory holds.
  type: str
  returned: success
  sample: CN=gitlab-runner:runner-01, O=gitlab-runners
not_after:
  description: Its end (RFC 3339).
  type: str
  returned: success
  sample: "2027-11-27T01:50:32Z"
files:
  description: The key, certificate and CA certificate paths.
  type: list
  elements: str
  returned: success
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runnerkey.kubernetes.plugins.module_utils.support import (
    RENEWAL_OPTIONS,
    fail,
    require_runnerkey,
    runnerkey,
)


def main():
    argument_spec = dict(
        dir=dict(type="path", required=True),
        name=dict(type="str", default="runner"),
        key=dict(type="str", required=True, no_log=True),
        cert=dict(type="str", required=True),
        ca=dict(type="str", required=True),
        user=dict(type="str"),
        groups=dict(type="list", elements="str", default=[]),
    )
    argument_spec.update(RENEWAL_OPTIONS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require_runnerkey(module)
    p = module.params
    try:
        report = runnerkey.install_credentials(
            p["dir"],
            name=p["name"],
            key=p["key"],
            cert=p["cert"],
            ca=p["ca"],
            user=p["user"],
            groups=p["groups"],
            renew_at=p["renew_at"],
            renew_before=p["renew_before"],
            dry_run=module.check_mode,
        )
    except runnerkey.RunnerkeyError as e:
        fail(module, e)
    result = dict(report)
    result.pop("dry_run", None)
    result["files"] = [str(f) for f in report["files"]]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
