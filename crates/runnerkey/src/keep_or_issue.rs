//! Keep or re-issue: the one decision whether a runner's existing
//! certificate may stay, shared by `setup` and [`EnsureParams`]
//! (`issue --keep-valid`, Python `CertificateAuthority.ensure`, the
//! Ansible module `client_cert`).
//!
//! [`EnsureParams`]: crate::EnsureParams

use std::path::Path;
use std::time::Duration;

use time::OffsetDateTime;

use crate::CertificateAuthority;
use crate::cert::Certificate;
use crate::error::Result;
use crate::identity::Identity;
use crate::issue::IssueParams;
use crate::key::PrivateKey;
use crate::lifetime::rfc3339;
use crate::renewal::RenewalPolicy;
use crate::verify::verify_client_cert;

/// The policy "due within `before` of the end", and nothing else (what
/// `setup` keeps a certificate by).
pub(crate) fn due_before_end(before: Duration) -> RenewalPolicy {
    RenewalPolicy {
        at: 1.0,
        before: Some(before),
        jitter: 0.0,
    }
}

/// What was decided for the certificate.
pub(crate) struct Decision {
    /// The certificate the files will hold: the kept one or a new one.
    pub certificate: Certificate,
    /// Whether it is new.
    pub issued: bool,
    /// Why it was kept or issued.
    pub note: String,
    /// Advice from issuing (long validity, clamped to the CA).
    pub warnings: Vec<String>,
}

/// Keeps the certificate at `path` when it may stay (see [`keepable`])
/// and `force` is not set; otherwise signs a new one for `key`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn keep_or_issue(
    ca: &CertificateAuthority,
    identity: &Identity,
    key: &PrivateKey,
    path: &Path,
    renewal: &RenewalPolicy,
    force: bool,
    issue: &IssueParams,
    now: OffsetDateTime,
) -> Result<Decision> {
    let why = match keepable(identity, renewal, path, key, ca.certificate(), now) {
        _ if force => "forced".to_string(),
        Ok(certificate) => {
            return Ok(Decision {
                certificate,
                issued: false,
                note: "kept: valid, for the same identity and CA".into(),
                warnings: Vec::new(),
            });
        }
        Err(why) => why,
    };
    let issued = ca.sign_public_key(
        identity,
        key.public_key(),
        &IssueParams {
            now: Some(now),
            ..issue.clone()
        },
    )?;
    Ok(Decision {
        certificate: issued.certificate,
        issued: true,
        note: format!("issued ({why})"),
        warnings: issued.warnings,
    })
}

/// The existing certificate, when it may be kept: it belongs to the key,
/// carries the identity, is accepted by the CA, and is not due by
/// `renewal` (the policy `renew` renews by).
pub(crate) fn keepable(
    identity: &Identity,
    renewal: &RenewalPolicy,
    path: &Path,
    key: &PrivateKey,
    ca: &Certificate,
    now: OffsetDateTime,
) -> std::result::Result<Certificate, String> {
    let cert = Certificate::load(path).map_err(|_| "no usable certificate yet".to_string())?;
    if !key.matches(&cert.public_key()) {
        return Err("the existing certificate does not belong to the key".into());
    }
    // Groups are a set to Kubernetes: another order is the same identity.
    if !cert.is_for(identity) {
        return Err(format!(
            "the existing certificate is for {}, not {identity}",
            cert.subject_reading(),
        ));
    }
    let report = verify_client_cert(std::slice::from_ref(ca), &cert, Some(key), Some(now));
    if !report.ok {
        return Err(format!(
            "the existing certificate is not accepted: {}",
            report
                .problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if renewal.is_due(&cert, now) {
        return Err(format!(
            "the existing certificate is in its renewal window: due since {}, it expires on {}",
            rfc3339(renewal.due_at(&cert)),
            rfc3339(cert.not_after())
        ));
    }
    Ok(cert)
}
