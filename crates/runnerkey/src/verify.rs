//! Is this certificate accepted for client authentication by this CA now?
//! Every check runs, and every problem is reported, not only the first.

use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::identity::Identity;
use crate::key::PrivateKey;
use crate::lifetime::rfc3339;

/// One problem found, with a stable code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable identifier, e.g. `unknown-authority`, `expired`.
    pub code: &'static str,
    /// What is wrong, in plain words.
    pub message: String,
}

/// The outcome of [`verify_client_cert`].
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// True when no problem was found.
    pub ok: bool,
    /// The certificate's subject.
    pub subject: String,
    /// The Kubernetes identity the certificate carries.
    pub identity: Identity,
    /// The certificate's issuer.
    pub issuer: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whole days of validity left (negative once expired).
    pub days_left: i64,
    /// The CA that signed it, when one of the given CAs did.
    pub signed_by: Option<String>,
    /// Whether the key matches, when a key was given.
    pub key_matches: Option<bool>,
    /// Every problem found.
    pub problems: Vec<Problem>,
}

fn problem(code: &'static str, message: String) -> Problem {
    Problem { code, message }
}

/// Checks `cert` for TLS client authentication against the trusted `cas`
/// at `now` (the current time when `None`): that one of them signed it,
/// that rustls-webpki accepts the chain for client auth, its EKU, its
/// validity, the CA's validity, and with `key` that the key matches.
pub fn verify_client_cert(
    cas: &[Certificate],
    cert: &Certificate,
    key: Option<&PrivateKey>,
    now: Option<OffsetDateTime>,
) -> VerifyReport {
    let now = now.unwrap_or_else(OffsetDateTime::now_utc);
    let mut problems = Vec::new();

    let signer = cas.iter().find(|ca| {
        ca.x509().tbs_certificate().subject() == cert.x509().tbs_certificate().issuer()
            && cert.verify_signature(&ca.public_key()).is_ok()
    });
    match signer {
        Some(ca) if now > ca.not_after() => problems.push(problem(
            "ca-expired",
            format!(
                "the CA {} expired on {}",
                ca.subject(),
                rfc3339(ca.not_after())
            ),
        )),
        Some(_) => {}
        None => {
            let held: Vec<String> = cas.iter().map(Certificate::subject).collect();
            problems.push(problem(
                "unknown-authority",
                format!(
                    "not signed by the given CA: the certificate was issued by {:?}, the CA file holds {:?}",
                    cert.issuer(),
                    held
                ),
            ));
        }
    }
    if !cert.allows_client_auth() {
        problems.push(problem(
            "no-client-auth",
            format!(
                "extendedKeyUsage {:?} does not include clientAuth",
                cert.extended_key_usage().unwrap_or_default()
            ),
        ));
    }
    if cert.basic_constraints_ca() == Some(true) {
        problems.push(problem(
            "is-ca",
            "the certificate is a CA (CA:TRUE), not a client certificate".into(),
        ));
    }
    if now > cert.not_after() {
        problems.push(problem(
            "expired",
            format!("expired on {}", rfc3339(cert.not_after())),
        ));
    } else if now < cert.not_before() {
        problems.push(problem(
            "not-yet-valid",
            format!("not valid before {}", rfc3339(cert.not_before())),
        ));
    }
    if signer.is_some()
        && problems.is_empty()
        && let Err(e) = webpki_check(cas, cert)
    {
        problems.push(problem(
            "rejected",
            format!("rustls-webpki rejects it: {e}"),
        ));
    }
    let key_matches = key.map(|k| k.matches(&cert.public_key()));
    if key_matches == Some(false) {
        problems.push(problem(
            "key-mismatch",
            "the private key does not belong to this certificate".into(),
        ));
    }
    VerifyReport {
        ok: problems.is_empty(),
        subject: cert.subject(),
        identity: cert.identity(),
        issuer: cert.issuer(),
        not_after: rfc3339(cert.not_after()),
        days_left: cert.days_left(now),
        signed_by: signer.map(Certificate::subject),
        key_matches,
        problems,
    }
}

/// rustls-webpki's verdict for client auth, at a moment inside the
/// certificate's validity (time is checked separately).
fn webpki_check(cas: &[Certificate], cert: &Certificate) -> Result<(), String> {
    let ders: Vec<CertificateDer<'_>> = cas
        .iter()
        .map(|c| CertificateDer::from(c.to_der()))
        .collect();
    let anchors: Vec<_> = ders
        .iter()
        .filter_map(|d| webpki::anchor_from_trusted_cert(d).ok())
        .collect();
    let leaf_der = CertificateDer::from(cert.to_der());
    let leaf = webpki::EndEntityCert::try_from(&leaf_der).map_err(|e| format!("{e:?}"))?;
    let span: time::Duration = cert.not_after() - cert.not_before();
    let middle: OffsetDateTime = cert.not_before() + span / 2i32;
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        middle.unix_timestamp().max(0) as u64,
    ));
    leaf.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &[],
        time,
        webpki::KeyUsage::client_auth(),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| format!("{e:?}"))
}
