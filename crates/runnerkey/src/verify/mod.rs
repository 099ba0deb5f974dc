//! Is this certificate (or chain) accepted for client authentication by
//! this CA now, the way kube-apiserver (Go `crypto/x509`) decides, and is
//! it a risk? Every check runs, and every problem is reported, not only the
//! first.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::code::Code;
use crate::identity::{PRIVILEGED_GROUPS, SYSTEM_MASTERS, SubjectReading};
use crate::key::PrivateKey;
use crate::lifetime::rfc3339;
use crate::severity::Severity;

/// The longest validity that is not worth a warning: a year, with a day of
/// slack for backdating.
pub const LONG_VALIDITY_DAYS: i64 = 366;

/// How many issuers a chain may climb before it is given up on.
const MAX_CHAIN_DEPTH: usize = 8;

/// One problem found, with a stable code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// Stable identifier, e.g. `unknown-authority`, `expired`.
    pub code: Code,
    /// Errors make the certificate unusable or dangerous; warnings are
    /// accepted by the API server but worth fixing.
    pub severity: Severity,
    /// What is wrong, in plain words.
    pub message: String,
}

/// The outcome of [`verify_client_chain`].
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// True when no error-level problem was found (warnings may remain).
    pub ok: bool,
    /// The certificate's subject.
    pub subject: String,
    /// The Kubernetes identity the API server reads from it (last CN, every
    /// O), and what makes it ambiguous; as data `{"user": …, "groups": …}`.
    #[serde(serialize_with = "user_and_groups")]
    pub identity: SubjectReading,
    /// Every CN in the subject, in order; the last is the user.
    pub common_names: Vec<String>,
    /// The X.509 version (1 or 3).
    pub version: u8,
    /// The certificate's issuer.
    pub issuer: String,
    /// How many certificates were presented (leaf plus intermediates).
    pub chain_length: usize,
    /// End of validity (RFC 3339 on the wire).
    #[serde(with = "crate::lifetime::serde_rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days of validity left (negative once expired).
    pub days_left: i64,
    /// The CA that anchors the chain, when one of the given CAs does.
    pub signed_by: Option<String>,
    /// Whether the key matches, when a key was given.
    pub key_matches: Option<bool>,
    /// Every problem found.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Adds the problems of the private key file at `path` (see
    /// [`key_file_problems`]) and decides `ok` again.
    pub fn with_key_file(mut self, path: &Path, owner: Option<u32>) -> Self {
        self.problems.extend(key_file_problems(path, owner));
        self.ok = self.problems.iter().all(|p| p.severity != Severity::Error);
        self
    }

    /// The problems of `severity`.
    pub fn problems_of(&self, severity: Severity) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(move |p| p.severity == severity)
    }
}

fn error(code: Code, message: String) -> Problem {
    Problem {
        code,
        severity: Severity::Error,
        message,
    }
}

fn warning(code: Code, message: String) -> Problem {
    Problem {
        code,
        severity: Severity::Warning,
        message,
    }
}

/// Checks a single certificate; see [`verify_client_chain`].
pub fn verify_client_cert(
    cas: &[Certificate],
    cert: &Certificate,
    key: Option<&PrivateKey>,
    now: Option<OffsetDateTime>,
) -> VerifyReport {
    verify_client_chain(cas, std::slice::from_ref(cert), key, now)
}

/// The issuer of `cert` among `candidates`: same name, and its key made the
/// signature.
fn issuer_among<'a>(cert: &Certificate, candidates: &'a [Certificate]) -> Option<&'a Certificate> {
    candidates.iter().find(|c| {
        c.x509().tbs_certificate().subject() == cert.x509().tbs_certificate().issuer()
            && cert.verify_signature(&c.public_key()).is_ok()
    })
}

/// Climbs from the leaf through the presented intermediates to one of the
/// trusted CAs, as Go's `Certificate.Verify` does: the anchor, the
/// intermediates used, or `None` when no CA is reached.
fn build_path<'a>(
    cas: &'a [Certificate],
    chain: &'a [Certificate],
) -> Option<(&'a Certificate, Vec<&'a Certificate>)> {
    let intermediates = &chain[1..];
    let mut current = chain.first()?;
    // Go trusts a certificate that is itself in the root pool as it is.
    if let Some(same) = cas.iter().find(|c| *c == current) {
        return Some((same, Vec::new()));
    }
    // Go's CheckSignatureFrom: a v3 issuer must say CA:TRUE (a root too).
    let signing: Vec<&Certificate> = cas
        .iter()
        .filter(|c| c.version() == 1 || c.basic_constraints_ca() == Some(true))
        .collect();
    let mut used = Vec::new();
    for _ in 0..MAX_CHAIN_DEPTH {
        if let Some(ca) = signing.iter().copied().find(|c| {
            c.x509().tbs_certificate().subject() == current.x509().tbs_certificate().issuer()
                && current.verify_signature(&c.public_key()).is_ok()
        }) {
            return Some((ca, used));
        }
        let next = issuer_among(current, intermediates)?;
        if used.contains(&next) {
            return None;
        }
        used.push(next);
        current = next;
    }
    None
}

/// Checks `chain` (the client certificate first, then any intermediates it
/// is sent with) for TLS client authentication against the trusted `cas`
/// at `now` (the current time when `None`), as kube-apiserver does: a path
/// to one of the CAs, clientAuth in the EKU (or no EKU), validity of every
/// certificate on the path, rustls-webpki's verdict for v3 certificates
/// (X.509 v1 leaves, which Go accepts and webpki does not, are checked by
/// signature), and with `key` that the key matches. Risks are reported
/// too: `system:masters`, other `system:` groups, CA:TRUE, a subject with
/// several CNs, validity over a year, v1.
pub fn verify_client_chain(
    cas: &[Certificate],
    chain: &[Certificate],
    key: Option<&PrivateKey>,
    now: Option<OffsetDateTime>,
) -> VerifyReport {
    let now = now.unwrap_or_else(OffsetDateTime::now_utc);
    let cert = &chain[0];
    let mut problems = Vec::new();

    let path = build_path(cas, chain);
    match &path {
        Some((ca, used)) => {
            for issuer in used.iter().copied().chain(std::iter::once(*ca)) {
                if now > issuer.not_after() {
                    problems.push(error(
                        Code::CaExpired,
                        format!(
                            "the issuer {} expired on {}",
                            issuer.subject(),
                            rfc3339(issuer.not_after())
                        ),
                    ));
                }
            }
            // Go's key-usage nesting: every certificate on the path that
            // states an EKU must allow clientAuth (or any usage).
            for issuer in used.iter().copied().chain(std::iter::once(*ca)) {
                if !issuer.allows_client_auth() {
                    problems.push(error(
                        Code::NoClientAuth,
                        format!(
                            "the issuer {} limits its extendedKeyUsage to {:?}, without clientAuth: Go refuses the chain (incompatible key usage)",
                            issuer.subject(),
                            issuer.extended_key_usage().unwrap_or_default()
                        ),
                    ));
                }
            }
            for i in used {
                if i.basic_constraints_ca() != Some(true) {
                    problems.push(error(
                        Code::IntermediateNotCa,
                        format!(
                            "the intermediate {} is not a CA (no CA:TRUE): Go refuses the chain",
                            i.subject()
                        ),
                    ));
                }
            }
        }
        None => {
            let held: Vec<String> = cas.iter().map(Certificate::subject).collect();
            let sent = if chain.len() > 1 {
                format!(" (with {} intermediate(s))", chain.len() - 1)
            } else {
                String::new()
            };
            // Go reports a SHA-1 signature from a CA of the right name as
            // "signed by unknown authority (possibly because of "x509: cannot
            // verify signature: insecure algorithm SHA1-RSA" …)".
            let alg = cert.signature_algorithm_oid();
            let sha1 = [
                ("1.2.840.113549.1.1.5", "SHA1-RSA"),
                ("1.2.840.10045.4.1", "ECDSA-SHA1"),
                ("1.2.840.10040.4.3", "DSA-SHA1"),
            ]
            .into_iter()
            .find(|(oid, _)| alg == *oid);
            let message = match sha1 {
                Some((_, name)) if cas.iter().any(|c| c.subject() == cert.issuer()) => format!(
                    "signed by unknown authority (possibly because of \"x509: cannot verify signature: insecure algorithm {name}\" while trying to verify candidate authority certificate {:?}): Go refuses SHA-1 signatures; re-issue it",
                    cert.issuer()
                ),
                _ if held.contains(&cert.issuer()) => format!(
                    "not signed by the given CA: the certificate{sent} was issued by a CA named {:?} too, but with another key (a CA made anew under the same name)",
                    cert.issuer()
                ),
                _ => format!(
                    "not signed by the given CA: the certificate{sent} was issued by {:?}, the CA file holds {:?}",
                    cert.issuer(),
                    held
                ),
            };
            problems.push(error(Code::UnknownAuthority, message));
        }
    }
    if let Err(e) = cert.public_key().key_type() {
        problems.push(error(
            Code::UnsupportedKey,
            format!(
                "{}: Go's crypto/x509 refuses this key type, so the API server cannot read the certificate",
                e.root()
            ),
        ));
    }
    if !cert.allows_client_auth() {
        problems.push(error(
            Code::NoClientAuth,
            format!(
                "extendedKeyUsage {:?} does not include clientAuth",
                cert.extended_key_usage().unwrap_or_default()
            ),
        ));
    }
    // The API server accepts a CA:TRUE client certificate: a risk, not a
    // refusal.
    if cert.basic_constraints_ca() == Some(true) {
        problems.push(warning(
            Code::IsCa,
            "the certificate is a CA (CA:TRUE): whoever holds its key can mint any identity; a client certificate must be CA:FALSE".into(),
        ));
    }
    if now > cert.not_after() {
        problems.push(error(
            Code::Expired,
            format!("expired on {}", rfc3339(cert.not_after())),
        ));
    } else if now < cert.not_before() {
        problems.push(error(
            Code::NotYetValid,
            format!("not valid before {}", rfc3339(cert.not_before())),
        ));
    }
    if path.is_some()
        && cert.version() >= 3
        && problems.iter().all(|p| p.severity != Severity::Error)
        && let Err(e) = webpki_check(cas, chain)
    {
        problems.push(error(
            Code::Rejected,
            format!("rustls-webpki rejects it: {e}"),
        ));
    }
    let key_matches = key.map(|k| k.matches(&cert.public_key()));
    if key_matches == Some(false) {
        problems.push(error(
            Code::KeyMismatch,
            "the private key does not belong to this certificate".into(),
        ));
    }
    problems.extend(risks(cert));
    VerifyReport {
        ok: problems.iter().all(|p| p.severity != Severity::Error),
        subject: cert.subject(),
        identity: cert.subject_reading(),
        common_names: cert.subject_reading().common_names,
        version: cert.version(),
        issuer: cert.issuer(),
        chain_length: chain.len(),
        not_after: cert.not_after(),
        days_left: cert.days_left(now),
        signed_by: path.map(|(ca, _)| ca.subject()),
        key_matches,
        problems,
    }
}

/// What makes an otherwise accepted client certificate dangerous or worth
/// re-issuing.
fn risks(cert: &Certificate) -> Vec<Problem> {
    let mut out = Vec::new();
    let reading = cert.subject_reading();
    for p in &reading.problems {
        out.push(error(Code::AmbiguousSubject, p.to_string()));
    }
    for g in &reading.groups {
        if g == SYSTEM_MASTERS {
            out.push(error(
                Code::SystemMasters,
                "the certificate carries group system:masters: it bypasses RBAC entirely and cannot be revoked until it expires".into(),
            ));
        } else if let Some((_, reason)) = PRIVILEGED_GROUPS.iter().find(|(name, _)| name == g) {
            out.push(warning(
                Code::SystemGroup,
                format!("the certificate carries group {g:?}: {reason}"),
            ));
        } else if g.starts_with("system:") {
            out.push(warning(
                Code::SystemGroup,
                format!("the certificate carries the reserved group {g:?}, which Kubernetes components use"),
            ));
        }
    }
    let days = (cert.not_after() - cert.not_before()).whole_days();
    if days > LONG_VALIDITY_DAYS {
        out.push(warning(
            Code::LongValidity,
            format!(
                "valid for {days} days: a leaked client certificate cannot be revoked, so keep lifetimes to a year or less"
            ),
        ));
    }
    if cert.version() < 3 {
        out.push(warning(
            Code::V1Certificate,
            "an X.509 v1 certificate without extensions (no extendedKeyUsage, no key identifiers), as `openssl x509 -req` makes: the API server accepts it, but re-issue it as a v3 client certificate".into(),
        ));
    }
    out
}

/// Problems with a private key file's mode and owner: readable by group
/// or others is an error; owned by another user than `owner` (the runner's
/// user, when known) is a warning.
pub fn key_file_problems(path: &Path, owner: Option<u32>) -> Vec<Problem> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        out.push(error(
            Code::KeyFilePermissions,
            format!(
                "{} is accessible by group or others (mode {mode:o}): any local user can take the identity",
                path.display()
            ),
        ));
    }
    if let Some(uid) = owner
        && meta.uid() != uid
    {
        out.push(warning(
            Code::KeyFileOwner,
            format!(
                "{} is owned by uid {}, not by the runner's user (uid {uid}, the owner of config.toml)",
                path.display(),
                meta.uid()
            ),
        ));
    }
    out
}

/// rustls-webpki's verdict for client auth, at a moment inside the
/// certificate's validity (time is checked separately).
fn webpki_check(cas: &[Certificate], chain: &[Certificate]) -> Result<(), String> {
    let ders: Vec<CertificateDer<'_>> = cas
        .iter()
        .map(|c| CertificateDer::from(c.to_der()))
        .collect();
    let anchors: Vec<_> = ders
        .iter()
        .filter_map(|d| webpki::anchor_from_trusted_cert(d).ok())
        .collect();
    let intermediates: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .map(|c| CertificateDer::from(c.to_der()))
        .collect();
    let cert = &chain[0];
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
        &intermediates,
        time,
        webpki::KeyUsage::client_auth(),
        None,
        None,
    )
    .map(|_| ())
    .or_else(|e| match e {
        // Stricter than Go's crypto/x509, which the API server runs: it
        // takes a CA:TRUE leaf, and anyExtendedKeyUsage for clientAuth (both
        // are reported as risks or checked above).
        webpki::Error::CaUsedAsEndEntity => Ok(()),
        webpki::Error::RequiredEkuNotFoundContext(_) if cert.allows_client_auth() => Ok(()),
        e => Err(format!("{e:?}")),
    })
}

/// A reading as data: its user and groups only (the report lists the
/// subject's problems among its own).
fn user_and_groups<S: serde::Serializer>(
    r: &SubjectReading,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut s = serializer.serialize_struct("Identity", 2)?;
    s.serialize_field("user", &r.user)?;
    s.serialize_field("groups", &r.groups)?;
    s.end()
}

#[cfg(test)]
mod tests;
