#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: runnerkey developers
# MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: renew
short_description: Renew a gitlab-runner's Kubernetes identity (certificate or token) when it is due
version_added: 0.1.0
description:
  - What C(runnerkey renew) does, as a task. The runner's certificate is renewed when it has
    lived O(renew_at) of its lifetime (less a jitter of up to 5 % fixed per certificate) or is
    within O(renew_before) of its end, or with O(force); otherwise nothing changes.
  - Always a new key; the same user, groups and lifetime. Signed by the CA at hand
    (O(ca_dir), or O(ca_cert) and O(ca_key)) or by the cluster through its CSR API with
    O(kubeconfig). The new pair is checked against C(ca_file) and, when the API server
    answers, by authenticating with it; a pair the server refuses is not installed and the
    task fails. The switch is atomic under the paths config.toml names; the previous pair is
    kept; config.toml is not touched.
  - A runner that authenticates with a service account token (C(bearer_token)) gets a new
    token from the TokenRequest API with O(kubeconfig), written to C(bearer_token) (backed up,
    locked); the token's C(iat) and C(exp) decide when it is due.
author:
  - runnerkey developers (@runnerkey)
extends_documentation_fragment:
  - runnerkey.kubernetes.ca
  - runnerkey.kubernetes.ca.RUNNER
  - runnerkey.kubernetes.ca.CLUSTER
options:
  config:
    description: gitlab-runner's config.toml.
    type: path
    default: /etc/gitlab-runner/config.toml
  renew_at:
    description: The fraction of the lifetime after which the certificate is due.
    type: float
    default: 0.6666666666666666
  renew_before:
    description: Also due within this duration of the end (e.g. C(30d)).
    type: str
  force:
    description: Renew even when not due.
    type: bool
    default: false
  online:
    description: Authenticate with the new pair before switching, when the API server answers.
    type: bool
    default: true
  expect_service_account:
    description:
      - For a token runner, the service account C(NAMESPACE/NAME) its token must be for; a token
        for any other (config.toml may have been edited) is not renewed.
    type: str
notes:
  - Supports check mode (nothing is signed or written; the decision is returned).
"""

EXAMPLES = r"""
- name: Renew the runner's certificate when due (daily from cron or a timer is enough)
  runnerkey.kubernetes.renew:
    runner: my-runner
    ca_dir: /etc/kubernetes/pki

- name: Roll renewals across the fleet, a few hosts at a time, through the cluster's APIs
  runnerkey.kubernetes.renew:
    runner: "{{ inventory_hostname }}"
    kubeconfig: /etc/gitlab-runner/kubernetes/admin.conf
    approve: true
  no_log: true
"""

RETURN = r"""
credential:
  description: What the runner authenticates with (C(client-certificate) or C(bearer-token)).
  type: str
  returned: success
renewed:
  description: Whether a new pair (or token) is (or in check mode would be) in place.
  type: bool
  returned: success
failed:
  description:
    - The library's verdict that the run failed its purpose (the new pair refused online, or cut
      short by the CA's end); the module then fails.
  type: bool
  returned: always
reason:
  description: Why it was or was not renewed.
  type: str
  returned: success
  sample: not due until 2027-07-01T00:00:00Z
due_at:
  description: When the certificate in place was or is due (null for a token that states no end).
  type: str
  returned: success
new_not_after:
  description: The new certificate's end.
  type: str
  returned: when renewed
online:
  description: What authenticating with the new pair found (C(result) skipped, unreachable, authenticated or refused).
  type: dict
  returned: success
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runnerkey.kubernetes.plugins.module_utils.support import (
    CA_OPTIONS,
    CLUSTER_OPTIONS,
    RUNNER_OPTIONS,
    fail,
    load_ca,
    require_runnerkey,
    result_of,
    runner_of,
    wait_of,
    runnerkey,
)


def main():
    argument_spec = dict(
        renew_at=dict(type="float", default=2.0 / 3.0),
        renew_before=dict(type="str"),
        force=dict(type="bool", default=False),
        online=dict(type="bool", default=True),
        expect_service_account=dict(type="str", no_log=False),
    )
    argument_spec.update(CA_OPTIONS)
    argument_spec.update(CLUSTER_OPTIONS)
    argument_spec.update(RUNNER_OPTIONS)
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_one_of=[("runner", "runner_index"), ("ca_dir", "ca_cert", "kubeconfig")],
        mutually_exclusive=[("runner", "runner_index"), ("ca_dir", "ca_cert", "kubeconfig")],
        required_together=[("ca_cert", "ca_key")],
    )
    require_runnerkey(module)
    p = module.params
    try:
        ca = load_ca(p) if p["ca_dir"] or p["ca_cert"] else None
        report = runnerkey.renew(
            config=p["config"],
            runner=runner_of(p),
            ca=ca,
            kubeconfig=p["kubeconfig"],
            context=p["context"],
            approve=p["approve"],
            wait=wait_of(p),
            renew_at=p["renew_at"],
            renew_before=p["renew_before"],
            force=p["force"],
            online=p["online"],
            expect_service_account=p["expect_service_account"],
            dry_run=module.check_mode,
        )
    except runnerkey.RunnerkeyError as e:
        fail(module, e)
    result = result_of(module, report)
    result["files"] = [str(f) for f in report["files"]]
    result["changed"] = bool(report["renewed"])
    if report["failed"]:
        module.fail_json(msg="the renewal did not give a usable pair: %s" % report["online"], **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
