//! Judging what the CSR API gave: the object seen while waiting, a request
//! submitted before and adopted, the issued certificate's identity and
//! lifetime. Pure: the answers come in as values.

use std::time::Duration;

use serde_json::Value;

use super::CsrApiProblem;
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::k8s_csr::K8sCsr;
use crate::key::PrivateKey;
use crate::verify::verify_client_cert;

/// Ten minutes of slack: the signer's backdating and the clocks.
const SLACK: i64 = 600;

/// What the object `value` says of the certificate for `key`: `Ok(None)`
/// while pending or approved but not issued; the certificate when issued
/// for `key` and checked ([`check_issued`]); else why it never will be.
pub(super) fn judge_object(
    value: &Value,
    key: &PrivateKey,
    expected: &Identity,
    cas: &[Certificate],
) -> Result<Option<Certificate>> {
    let object = K8sCsr::parse(&value.to_string())?;
    match object.issued_certificate(key) {
        Ok(cert) => {
            check_issued(&cert, expected, cas)?;
            Ok(Some(cert))
        }
        Err(Error::CsrNotIssued { state, .. }) if state.may_issue() => Ok(None),
        Err(Error::KeyMismatch { .. }) => Err(CsrApiProblem::WrongKey.into()),
        Err(e) => Err(e),
    }
}

/// The issued certificate must be a client certificate for exactly the
/// identity asked for, accepted by the cluster CA.
pub(super) fn check_issued(
    cert: &Certificate,
    expected: &Identity,
    cas: &[Certificate],
) -> Result<()> {
    if !cert.is_for(expected) {
        return Err(CsrApiProblem::WrongIdentity {
            issued: cert.subject_reading().to_string(),
            expected: expected.to_string(),
        }
        .into());
    }
    if !cas.is_empty() {
        let report = verify_client_cert(cas, cert, None, None);
        if !report.ok {
            return Err(CsrApiProblem::NotAccepted {
                problems: report.problems.iter().map(|p| p.message.clone()).collect(),
            }
            .into());
        }
    }
    Ok(())
}

/// Why a request submitted before may not be waited for again.
#[derive(Debug, thiserror::Error)]
pub(super) enum NotAdoptable {
    /// The answer is not a CertificateSigningRequest at all.
    #[error(transparent)]
    NotACsr(Error),
    /// Its name now belongs to another object (another UID).
    #[error("another request has taken its name")]
    Replaced,
    /// Its PKCS#10 request cannot be read.
    #[error("its request cannot be read ({0})")]
    Unreadable(String),
    /// It was made for another key than the one kept.
    #[error("it is for another key than the one kept")]
    OtherKey,
    /// It was denied or failed (`denied`/`failed`, the condition's message).
    #[error("it was {0}: {1}")]
    Ended(String, String),
}

/// Whether the object `value` is still the request with UID `uid`, for
/// `key`, and neither denied nor failed.
pub(super) fn adoptable(
    value: &Value,
    uid: &str,
    key: &PrivateKey,
) -> std::result::Result<(), NotAdoptable> {
    if value["metadata"]["uid"].as_str() != Some(uid) {
        return Err(NotAdoptable::Replaced);
    }
    let request = K8sCsr::parse(&value.to_string())
        .map_err(NotAdoptable::NotACsr)?
        .certificate_request()
        .map_err(|e| NotAdoptable::Unreadable(e.chain()))?;
    if !request.public_key().is_ok_and(|k| key.matches(&k)) {
        return Err(NotAdoptable::OtherKey);
    }
    if let Some(c) = value["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Denied" || c["type"] == "Failed")
    {
        return Err(NotAdoptable::Ended(
            c["type"].as_str().unwrap_or("").to_lowercase(),
            c["message"].as_str().unwrap_or("").to_string(),
        ));
    }
    Ok(())
}

/// Judges the issued certificate's lifetime against `asked` (the
/// `expirationSeconds` sent, if any) and its CA among `cas`: an error when
/// it lasts longer than asked (beyond the slack), than the API can ask for
/// again (2^31−1 s), or than its CA — stored, every later renewal (which
/// asks for the same lifetime) would fail. Else whether the signer clamped
/// it (issued for less than asked, beyond the slack).
pub(super) fn judge_lifetime(
    certificate: &Certificate,
    asked: Option<Duration>,
    cas: &[Certificate],
) -> Result<bool> {
    let issued_for = (certificate.not_after() - certificate.not_before()).whole_seconds();
    let too_long = |limit: String| {
        Error::from(CsrApiProblem::SignerTooLong {
            not_after: certificate.not_after(),
            limit,
        })
    };
    if let Some(asked) = asked
        && issued_for > asked.as_secs() as i64 + SLACK
    {
        return Err(too_long(format!(
            "the {} s asked for (expirationSeconds)",
            asked.as_secs()
        )));
    }
    if issued_for > i64::from(i32::MAX) {
        return Err(too_long(
            "the longest lifetime the CSR API can ask for (2^31-1 s, about 68 years)".into(),
        ));
    }
    if let Some(ca) = cas
        .iter()
        .filter(|ca| ca.subject() == certificate.issuer())
        .find(|ca| certificate.not_after() > ca.not_after())
    {
        return Err(too_long(format!(
            "its CA's end ({})",
            crate::lifetime::rfc3339(ca.not_after())
        )));
    }
    Ok(asked.is_some_and(|asked| issued_for + SLACK < asked.as_secs() as i64))
}

#[cfg(test)]
mod tests;
