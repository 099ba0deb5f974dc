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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CaParams, KeyAlgorithm, Lifetime};

    const DAY: u64 = 86_400;

    struct World {
        ca: CertificateAuthority,
        key: PrivateKey,
        dir: tempfile::TempDir,
        now: OffsetDateTime,
    }

    fn world() -> World {
        let ca = CertificateAuthority::generate(&CaParams {
            algorithm: KeyAlgorithm::EcdsaP256,
            ..CaParams::default()
        })
        .unwrap();
        World {
            ca,
            key: PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
            dir: tempfile::tempdir().unwrap(),
            now: OffsetDateTime::now_utc(),
        }
    }

    fn who(groups: &[&str]) -> Identity {
        Identity::new("runner", groups.iter().copied()).unwrap()
    }

    fn issue(days: u64) -> IssueParams {
        IssueParams {
            lifetime: Lifetime::from_duration(Duration::from_secs(days * DAY)),
            ..IssueParams::default()
        }
    }

    impl World {
        fn path(&self) -> std::path::PathBuf {
            self.dir.path().join("runner.crt")
        }

        /// Writes a certificate for `identity` and `key` from `ca`, 30 days.
        fn existing(&self, ca: &CertificateAuthority, identity: &Identity, key: &PrivateKey) {
            let c = ca
                .sign_public_key(identity, key.public_key(), &issue(30))
                .unwrap();
            std::fs::write(self.path(), c.certificate.to_pem()).unwrap();
        }

        /// Whether setup issues (`true`) or keeps, renewing 7 days before the end.
        fn issues(&self, identity: &Identity, force: bool, at: OffsetDateTime) -> bool {
            let policy = due_before_end(Duration::from_secs(7 * DAY));
            let d = keep_or_issue(
                &self.ca,
                identity,
                &self.key,
                &self.path(),
                &policy,
                force,
                &issue(30),
                at,
            )
            .unwrap();
            d.issued
        }
    }

    #[test]
    fn without_a_certificate_one_is_issued() {
        let w = world();
        assert!(w.issues(&who(&["a"]), false, w.now));
    }

    #[test]
    fn a_valid_certificate_for_the_same_identity_is_kept_unless_forced() {
        let w = world();
        w.existing(&w.ca, &who(&["a", "b"]), &w.key);
        assert!(!w.issues(&who(&["a", "b"]), false, w.now));
        // Groups are a set: another order is the same identity.
        assert!(!w.issues(&who(&["b", "a"]), false, w.now));
        assert!(w.issues(&who(&["a", "b"]), true, w.now));
    }

    #[test]
    fn another_identity_key_or_ca_is_replaced() {
        let w = world();
        w.existing(&w.ca, &who(&["a"]), &w.key);
        assert!(w.issues(&who(&["a", "admins"]), false, w.now));
        let other_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        w.existing(&w.ca, &who(&["a"]), &other_key);
        assert!(w.issues(&who(&["a"]), false, w.now));
        let other_ca = CertificateAuthority::generate(&CaParams {
            algorithm: KeyAlgorithm::EcdsaP256,
            ..CaParams::default()
        })
        .unwrap();
        w.existing(&other_ca, &who(&["a"]), &w.key);
        assert!(w.issues(&who(&["a"]), false, w.now));
    }

    #[test]
    fn a_certificate_in_its_renewal_window_is_replaced() {
        let w = world();
        w.existing(&w.ca, &who(&["a"]), &w.key);
        let day = |n: i64| w.now + time::Duration::days(n);
        assert!(!w.issues(&who(&["a"]), false, day(22)));
        assert!(w.issues(&who(&["a"]), false, day(24)));
    }
}
