//! Keep or re-issue: whether the runner's existing certificate may stay.

use std::path::Path;

use time::OffsetDateTime;

use super::SetupParams;
use crate::cert::Certificate;
use crate::key::PrivateKey;
use crate::lifetime::rfc3339;
use crate::verify::verify_client_cert;

/// The existing certificate, when it may be kept: it belongs to the key,
/// carries the identity, is accepted by the CA, and has more than
/// `renew_before` left.
pub(super) fn keepable(
    params: &SetupParams,
    path: &Path,
    key: &PrivateKey,
    ca: &Certificate,
    now: OffsetDateTime,
) -> std::result::Result<Certificate, String> {
    let cert = Certificate::load(path).map_err(|_| "no usable certificate yet".to_string())?;
    if !key.matches(&cert.public_key()) {
        return Err("the existing certificate does not belong to the key".into());
    }
    if cert.identity() != params.identity {
        return Err(format!(
            "the existing certificate is for {}, not {}",
            cert.identity(),
            params.identity
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
    let left = cert.not_after() - now;
    if left < time::Duration::try_from(params.renew_before).unwrap_or(time::Duration::ZERO) {
        return Err(format!(
            "the existing certificate expires on {}, within the renewal window",
            rfc3339(cert.not_after())
        ));
    }
    Ok(cert)
}
