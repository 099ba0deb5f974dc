# -*- coding: utf-8 -*-
# Copyright: runnerkey developers
# MIT OR Apache-2.0
"""What the runnerkey modules share: importing the runnerkey package on the
managed host, loading the CA, and turning its errors into failures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import runnerkey

    HAS_RUNNERKEY = True
    IMPORT_ERROR = None
except ImportError:
    runnerkey = None
    HAS_RUNNERKEY = False
    IMPORT_ERROR = traceback.format_exc()

#: The CA options every module that signs takes.
CA_OPTIONS = dict(
    ca_dir=dict(type="path"),
    ca_cert=dict(type="path"),
    ca_key=dict(type="path", no_log=False),
    ca_passphrase=dict(type="str", no_log=True),
)

#: The options that talk to the cluster through a kubeconfig.
CLUSTER_OPTIONS = dict(
    kubeconfig=dict(type="path"),
    context=dict(type="str"),
    approve=dict(type="bool", default=False),
    wait=dict(type="raw", default="5m"),
)

#: The options that name one runner of config.toml.
RUNNER_OPTIONS = dict(
    config=dict(type="path", default="/etc/gitlab-runner/config.toml"),
    runner=dict(type="str"),
    runner_index=dict(type="int"),
)


def wait_of(params):
    """The task's wait as runnerkey takes it: seconds (a number) or a
    duration ("5m"); anything else is left to runnerkey to refuse."""
    wait = params["wait"]
    if isinstance(wait, (int, float)) and not isinstance(wait, bool):
        return float(wait)
    return str(wait)


def runner_of(params):
    """The runner the task names: its name, or its index."""
    return params["runner"] if params["runner"] is not None else params["runner_index"]


#: The options of a new key and certificate.
ISSUE_OPTIONS = dict(
    algorithm=dict(
        type="str",
        default="ecdsa-p256",
        choices=["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"],
    ),
    days=dict(type="int", default=365),
    force=dict(type="bool", default=False),
)

#: When a certificate is due: the policy renew renews by.
RENEWAL_OPTIONS = dict(
    renew_at=dict(type="float"),
    renew_before=dict(type="str"),
)

#: How the CA options combine.
CA_RULES = dict(
    required_one_of=[("ca_dir", "ca_cert")],
    required_together=[("ca_cert", "ca_key")],
    mutually_exclusive=[("ca_dir", "ca_cert")],
)


def require_runnerkey(module):
    """Fails the task when the runnerkey package is not on the host."""
    if not HAS_RUNNERKEY:
        module.fail_json(msg=missing_required_lib("runnerkey"), exception=IMPORT_ERROR)


def load_ca(params):
    """The CA from ca_dir, or ca_cert and ca_key."""
    if params["ca_dir"]:
        return runnerkey.CertificateAuthority.load_dir(params["ca_dir"], params["ca_passphrase"])
    return runnerkey.CertificateAuthority.load(params["ca_cert"], params["ca_key"], params["ca_passphrase"])


def fail(module, error):
    """Fails the task with runnerkey's message and the error's class name
    (and line, column or the available runners, when the error has them)."""
    extra = dict((k, getattr(error, k)) for k in ("line", "column", "available") if hasattr(error, k))
    module.fail_json(msg=str(error), error=type(error).__name__, **extra)


def issue_args(params, *groups):
    """The new-key-and-certificate options of the task (and those of the
    option groups given), as runnerkey's keyword arguments."""
    names = list(ISSUE_OPTIONS)
    for group in groups:
        names.extend(group)
    return dict((name, params[name]) for name in names)


def result_of(module, report):
    """The module result for a runnerkey report: its advice shown as Ansible
    warnings (a "warnings" key in a result is deprecated), "dry_run" left to
    check mode."""
    result = dict(report)
    result.pop("dry_run", None)
    result["advice"] = result.pop("warnings")
    for w in report["warnings"]:
        module.warn(w)
    return result
