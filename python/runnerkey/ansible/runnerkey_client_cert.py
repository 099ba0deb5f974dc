#!/usr/bin/python
"""Ansible module: ensure a key and a Kubernetes client certificate exist."""

from __future__ import annotations

DOCUMENTATION = r"""
module: runnerkey_client_cert
short_description: Ensure a private key and a client certificate for a Kubernetes user exist and are valid
description:
  - Issues (or re-issues) a client certificate for I(user) and I(groups), signed by the cluster CA,
    when it is missing, does not match the key, the user, the groups or the CA, or expires within
    I(renew_before_days). The key is generated only when missing (or with I(force)).
  - Supports check mode and diff. Key material is never returned or logged.
options:
  ca_dir: {description: Directory with ca.crt and ca.key (e.g. /etc/kubernetes/pki), type: path}
  ca_cert: {description: CA certificate (with ca_key), type: path}
  ca_key: {description: CA private key (with ca_cert), type: path}
  ca_passphrase: {description: Passphrase of an encrypted CA key, type: str, no_log: true}
  cert_path: {description: Client certificate to ensure, type: path, required: true}
  key_path: {description: Private key to ensure (mode 0600), type: path, required: true}
  ca_path: {description: Where to copy ca.crt for ca_file, type: path}
  user: {description: Kubernetes user (CN), type: str, required: true}
  groups: {description: Kubernetes groups (O), type: list, elements: str, default: []}
  algorithm: {description: Algorithm of a new key, type: str, default: ecdsa-p256}
  days: {description: Validity of a new certificate, type: int, default: 365}
  renew_before_days: {description: Re-issue when fewer days are left, type: int, default: 30}
  force: {description: New key and certificate regardless, type: bool, default: false}
  backup: {description: Keep a copy of a replaced certificate, type: bool, default: false}
  mode: {description: Mode of the key file, type: raw, default: "0600"}
"""

EXAMPLES = r"""
- name: Client certificate for the runner
  runnerkey_client_cert:
    ca_dir: /etc/kubernetes/pki
    user: gitlab-admin
    groups: [gitlab-runners]
    cert_path: /etc/ssl/kubernetes/gitlab-admin.crt
    key_path: /etc/ssl/kubernetes/gitlab-admin.key
    ca_path: /etc/ssl/kubernetes/ca.crt
"""

import os

from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]


def _state(cert):
    if cert is None:
        return "absent\n"
    return f"subject: {cert.subject}\nissuer: {cert.issuer}\nnot_after: {cert.not_after.isoformat()}\nfingerprint: {cert.fingerprint_sha256}\n"


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            ca_dir=dict(type="path"),
            ca_cert=dict(type="path"),
            ca_key=dict(type="path"),
            ca_passphrase=dict(type="str", no_log=True),
            cert_path=dict(type="path", required=True),
            key_path=dict(type="path", required=True, no_log=False),
            ca_path=dict(type="path"),
            user=dict(type="str", required=True),
            groups=dict(type="list", elements="str", default=[]),
            algorithm=dict(type="str", default="ecdsa-p256"),
            days=dict(type="int", default=365),
            renew_before_days=dict(type="int", default=30),
            force=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
            mode=dict(type="raw", default="0600"),
        ),
        required_one_of=[("ca_dir", "ca_cert")],
        required_together=[("ca_cert", "ca_key")],
        mutually_exclusive=[("ca_dir", "ca_cert")],
        supports_check_mode=True,
    )
    p = module.params
    try:
        import runnerkey
    except ImportError as e:  # pragma: no cover - depends on the target host
        module.fail_json(msg=f"the runnerkey Python package is required on the target: {e}")
        return
    try:
        if p["ca_dir"]:
            ca = runnerkey.CertificateAuthority.load_dir(p["ca_dir"], p["ca_passphrase"])
        else:
            ca = runnerkey.CertificateAuthority.load(p["ca_cert"], p["ca_key"], p["ca_passphrase"])
        key = None
        if os.path.exists(p["key_path"]) and not p["force"]:
            key = runnerkey.PrivateKey.load(p["key_path"])
        cert = None
        if os.path.exists(p["cert_path"]):
            try:
                cert = runnerkey.Certificate.load(p["cert_path"])
            except runnerkey.PemError:
                cert = None
        reasons = []
        if p["force"]:
            reasons.append("force")
        if key is None:
            reasons.append("no key")
        if cert is None:
            reasons.append("no certificate")
        elif key is not None:
            report = runnerkey.verify(ca.certificate, cert, key)
            reasons += [f"{code}: {msg}" for code, msg in report.problems]
            if cert.user != p["user"] or cert.groups != p["groups"]:
                reasons.append(f"identity {cert.user}/{cert.groups} differs from {p['user']}/{p['groups']}")
            if cert.days_left < p["renew_before_days"]:
                reasons.append(f"{cert.days_left} days left, renewing {p['renew_before_days']} days before expiry")
        ca_copy_needed = bool(p["ca_path"]) and not (
            os.path.exists(p["ca_path"]) and runnerkey.Certificate.load(p["ca_path"]) == ca.certificate
        )
        changed = bool(reasons) or ca_copy_needed
        result = dict(changed=changed, reasons=reasons, cert_path=p["cert_path"], key_path=p["key_path"],
                      user=p["user"], groups=p["groups"])
        new_cert = cert
        if reasons and not module.check_mode:
            if key is None:
                key = runnerkey.PrivateKey.generate(p["algorithm"])
                key.write(p["key_path"], overwrite=True)
            csr = runnerkey.CertificateRequest.create(key, user=p["user"], groups=p["groups"])
            new_cert = ca.sign(csr, days=p["days"])
            if cert is not None and p["backup"]:
                result["backup_file"] = module.backup_local(p["cert_path"])
            new_cert.write(p["cert_path"], overwrite=True)
        if ca_copy_needed and not module.check_mode:
            ca.certificate.write(p["ca_path"], overwrite=True)
        if not module.check_mode and os.path.exists(p["key_path"]):
            result["changed"] = module.set_mode_if_different(p["key_path"], p["mode"], result["changed"])
        if new_cert is not None and not (reasons and module.check_mode):
            result["not_after"] = new_cert.not_after.isoformat()
            result["days_left"] = new_cert.days_left
        if module._diff:
            after = "(a new certificate)\n" if reasons and module.check_mode else _state(new_cert)
            result["diff"] = dict(before=_state(cert), after=after, before_header=p["cert_path"], after_header=p["cert_path"])
    except runnerkey.RunnerkeyError as e:
        module.fail_json(msg=str(e), error=type(e).__name__)
        return
    module.exit_json(**result)


if __name__ == "__main__":
    main()
