//! The defaults, in one place: the library's `new()`/`Default`s use the
//! typed values, the CLI's flags (`default_value = runnerkey::defaults::…`),
//! Python's signatures and `runnerkey.DEFAULTS`, and the Ansible modules'
//! argument specs (a test compares them) the texts. A unit test checks that
//! each text reads as its typed value.

use std::time::Duration;

use crate::key_algorithm::KeyAlgorithm;

/// The runner's Kubernetes user (certificate CN).
pub const USER: &str = "gitlab-admin";
/// Where setup writes the key, certificate, CA, RBAC and kubeconfig.
pub const OUT_DIR: &str = "/etc/ssl/kubernetes";
/// The job pods' namespace.
pub const NAMESPACE: &str = "gitlab-runner";
/// The job pods' service account.
pub const JOB_SERVICE_ACCOUNT: &str = "gitlab-deployer";
/// A new key's algorithm.
pub const KEY_ALGORITHM: KeyAlgorithm = KeyAlgorithm::EcdsaP256;
/// [`KEY_ALGORITHM`]'s name.
pub const KEY_ALGORITHM_NAME: &str = KEY_ALGORITHM.name();
/// A client certificate's lifetime, in days.
pub const CERT_DAYS: u32 = 365;
/// Setup re-issues a certificate that ends within this.
pub const RENEW_BEFORE: &str = "30d";
pub(crate) const RENEW_BEFORE_DURATION: Duration = Duration::from_secs(30 * 86_400);
/// A TokenRequest token's lifetime asked for.
pub const TOKEN_DURATION: &str = "24h";
pub(crate) const TOKEN_DURATION_DURATION: Duration = Duration::from_secs(86_400);
/// How long to wait for a CertificateSigningRequest's approval and
/// certificate.
pub const CSR_WAIT: &str = "5m";
pub(crate) const CSR_WAIT_DURATION: Duration = Duration::from_secs(300);
/// How long an online check (doctor, renew) may take.
pub const ONLINE_TIMEOUT: &str = "10s";
pub(crate) const ONLINE_TIMEOUT_DURATION: Duration = Duration::from_secs(10);
/// Each request's deadline in the TokenRequest flow and the approver.
pub const REQUEST_TIMEOUT: &str = "30s";
pub(crate) const REQUEST_TIMEOUT_DURATION: Duration = Duration::from_secs(30);

/// Every default as `(name, text)`, as Python's `runnerkey.DEFAULTS`
/// shows them.
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("user", USER.into()),
        ("out_dir", OUT_DIR.into()),
        ("namespace", NAMESPACE.into()),
        ("job_service_account", JOB_SERVICE_ACCOUNT.into()),
        ("algorithm", KEY_ALGORITHM_NAME.into()),
        ("days", CERT_DAYS.to_string()),
        ("renew_before", RENEW_BEFORE.into()),
        ("token_duration", TOKEN_DURATION.into()),
        ("wait", CSR_WAIT.into()),
        ("online_timeout", ONLINE_TIMEOUT.into()),
        ("request_timeout", REQUEST_TIMEOUT.into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifetime::{Lifetime, Timeout};

    #[test]
    fn each_default_text_reads_as_its_typed_value() {
        let lifetime = |t: &str| t.parse::<Lifetime>().unwrap().as_duration();
        assert_eq!(lifetime(RENEW_BEFORE), RENEW_BEFORE_DURATION);
        assert_eq!(lifetime(TOKEN_DURATION), TOKEN_DURATION_DURATION);
        let timeout = |t: &str| Timeout::parse("t", t).unwrap().as_duration();
        assert_eq!(timeout(CSR_WAIT), CSR_WAIT_DURATION);
        assert_eq!(timeout(ONLINE_TIMEOUT), ONLINE_TIMEOUT_DURATION);
        assert_eq!(timeout(REQUEST_TIMEOUT), REQUEST_TIMEOUT_DURATION);
        assert_eq!(
            KEY_ALGORITHM_NAME.parse::<KeyAlgorithm>().unwrap(),
            KEY_ALGORITHM
        );
        assert_eq!(Lifetime::default(), Lifetime::days(CERT_DAYS));
        crate::identity::Identity::new(USER, Vec::<String>::new()).unwrap();
        crate::ServiceAccountRef::new(NAMESPACE, JOB_SERVICE_ACCOUNT).unwrap();
        assert_eq!(all().len(), 11);
    }
}
