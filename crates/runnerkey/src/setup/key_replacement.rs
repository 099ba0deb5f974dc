//! Whether setup replaces the runner's existing key instead of keeping it:
//! the key of a blog identity — a certificate made by hand with `openssl
//! x509 -req` (X.509 v1), or one in use longer than the lifetime setup
//! issues now — has been around too long, on too many disks, to be trusted
//! for another identity. Keeping it would also leave "destroy the old key"
//! impossible. `keep_key` keeps it anyway.

use std::path::Path;

use time::OffsetDateTime;

use super::{SetupParams, SetupPaths};
use crate::cert::Certificate;
use crate::lifetime::rfc3339;

/// Why the key at `paths.key` is replaced (`None`: it is kept, or there is
/// none): judged on the certificate beside it at `paths.cert`.
pub(super) fn reason(
    params: &SetupParams,
    paths: &SetupPaths,
    now: OffsetDateTime,
) -> Option<String> {
    if params.keep_key || std::fs::symlink_metadata(&paths.key).is_err() {
        return None;
    }
    let cert = Certificate::load(&paths.cert).ok()?;
    judge(&cert, &paths.cert, params, now)
}

/// The verdict on one existing certificate.
fn judge(
    cert: &Certificate,
    path: &Path,
    params: &SetupParams,
    now: OffsetDateTime,
) -> Option<String> {
    if cert.version() < 3 {
        return Some(format!(
            "the existing certificate {} is X.509 v{} (made by hand, as the blog recipe does): its key gets a new one (--keep-key keeps it)",
            path.display(),
            cert.version()
        ));
    }
    let limit = now - params.lifetime.as_duration();
    (cert.not_before() < limit).then(|| {
        format!(
            "the existing key has been in use since {} (certificate {}), longer than the {} setup issues now: it gets a new one (--keep-key keeps it)",
            rfc3339(cert.not_before()),
            path.display(),
            params.lifetime
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{CaParams, CertificateAuthority};
    use crate::identity::Identity;
    use crate::issue::IssueParams;
    use crate::key::KeyAlgorithm;
    use crate::lifetime::Lifetime;
    use crate::runner_config::RunnerSelector;

    fn params() -> SetupParams {
        SetupParams::new(
            "/nonexistent/config.toml",
            RunnerSelector::Name("r".into()),
            "https://127.0.0.1:6443",
        )
        .unwrap()
    }

    fn issued(days: u32) -> Certificate {
        let ca = CertificateAuthority::generate(&CaParams {
            algorithm: KeyAlgorithm::EcdsaP256,
            ..CaParams::default()
        })
        .unwrap();
        let p = IssueParams {
            lifetime: Lifetime::days(days),
            ..IssueParams::default()
        };
        let id = Identity::new("u", Vec::<String>::new()).unwrap();
        ca.issue(&id, KeyAlgorithm::EcdsaP256, &p)
            .unwrap()
            .1
            .certificate
    }

    #[test]
    fn a_key_in_use_longer_than_the_lifetime_setup_issues_is_replaced_a_younger_one_kept() {
        let p = params();
        let path = Path::new("/x/u.crt");
        let cert = issued(1000);
        let later = OffsetDateTime::now_utc() + time::Duration::days(400);
        let why = judge(&cert, path, &p, later).expect("in use 400 days > 365");
        assert!(
            why.contains("in use since") && why.contains("/x/u.crt"),
            "{why}"
        );
        let soon = OffsetDateTime::now_utc() + time::Duration::days(10);
        assert_eq!(judge(&cert, path, &p, soon), None);
    }

    #[test]
    fn an_x509_v1_certificate_has_its_key_replaced() {
        let v1 = Certificate::load(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/pki/openssl-ca-x509v1-no-extensions.crt.pem"),
        )
        .unwrap();
        assert_eq!(v1.version(), 1);
        let why = judge(&v1, Path::new("/x/u.crt"), &params(), v1.not_before()).unwrap();
        assert!(why.contains("X.509 v1"), "{why}");
    }
}
