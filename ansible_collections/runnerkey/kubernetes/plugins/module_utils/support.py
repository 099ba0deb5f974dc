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
