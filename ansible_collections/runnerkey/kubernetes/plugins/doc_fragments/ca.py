# -*- coding: utf-8 -*-
# Copyright: runnerkey developers
# MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The options of every module that signs with the cluster CA, and of
    every module that names one runner of config.toml."""

    DOCUMENTATION = r"""
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
requirements:
  - runnerkey (Python package) on the managed host
"""

    RUNNER = r"""
options:
  runner:
    description: The runner's name.
    type: str
  runner_index:
    description: The runner's 0-based position among C([[runners]]) (for duplicate names).
    type: int
requirements:
  - runnerkey (Python package) on the managed host
"""

    CLUSTER = r"""
options:
  kubeconfig:
    description:
      - Talk to the cluster with this kubeconfig's identity instead of signing with a CA at
        hand - through the CSR API, or for a token through the TokenRequest API.
    type: path
  context:
    description: The kubeconfig context (default the current one).
    type: str
  approve:
    description: With O(kubeconfig), approve the certificate request too (when that identity may).
    type: bool
    default: false
  wait:
    description:
      - With O(kubeconfig), how long to wait for approval and the certificate - a number of
        seconds (C(300), C(2.5)) or a duration (C(90s), C(5m), C(1h30m)), as C(runnerkey --wait) takes.
    type: raw
    default: 5m
"""

    ISSUE = r"""
options:
  algorithm:
    description: Algorithm of a new key.
    type: str
    default: ecdsa-p256
    choices: [ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, ed25519]
  days:
    description: Validity of a new certificate in days.
    type: int
    default: 365
  force:
    description: A new key and certificate even when the existing ones are fine.
    type: bool
    default: false
"""

    RENEWAL = r"""
options:
  renew_at:
    description:
      - A certificate is due for renewal after this fraction of its lifetime, less a jitter of
        up to 5% fixed per certificate - the policy C(runnerkey renew) renews by (default 2/3).
    type: float
  renew_before:
    description: Also due within this duration of its end (e.g. C(7d), C(168h)).
    type: str
"""
