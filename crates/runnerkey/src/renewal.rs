//! When a client certificate is due for renewal: once it has lived a
//! fraction of its lifetime (2/3 by default; kubelet's certificate manager
//! renews between 70 and 90 %), moved earlier by a jitter of up to 5 % of
//! the lifetime that is fixed per certificate, so a fleet issued at once
//! does not renew at once, and the status and the renewal agree on the
//! date; or, when given, once it is within a fixed time of its end.

use std::time::Duration;

use time::OffsetDateTime;

use crate::bearer_token::TokenClaims;
use crate::cert::Certificate;
use crate::error::Result;

/// When to renew.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct RenewalPolicy {
    /// The fraction of the lifetime after which to renew (0 < at < 1).
    pub at: f64,
    /// Renew within this of the end, whatever the fraction says.
    pub before: Option<Duration>,
    /// The largest jitter, as a fraction of the lifetime (renewal moves
    /// earlier by up to this much, by a per-certificate amount).
    pub jitter: f64,
}

impl Default for RenewalPolicy {
    /// Two thirds of the lifetime, minus up to 5 % of it.
    fn default() -> Self {
        Self {
            at: 2.0 / 3.0,
            before: None,
            jitter: 0.05,
        }
    }
}

impl RenewalPolicy {
    /// Renewal at the fraction `at` of the lifetime (strictly between 0
    /// and 1), with the default jitter.
    pub fn at(at: f64) -> Result<Self> {
        if !(at > 0.0 && at < 1.0) {
            return Err(crate::lifetime::LifetimeProblem::RenewalPoint { at }.into());
        }
        Ok(Self {
            at,
            ..Self::default()
        })
    }

    /// The policy a renewal is asked for with: the fraction `at` (default
    /// two thirds) and, as text (`30d`, `12h`), the window `before` the
    /// end — what `--renew-at`/`--renew-before` and Python's
    /// `renew_at`/`renew_before` give.
    pub fn from_options(at: Option<f64>, before: Option<&str>) -> Result<Self> {
        let mut policy = match at {
            Some(at) => Self::at(at)?,
            None => Self::default(),
        };
        if let Some(before) = before {
            policy.before = Some(before.parse::<crate::lifetime::Lifetime>()?.as_duration());
        }
        Ok(policy)
    }

    /// When `cert` is due.
    pub fn due_at(&self, cert: &Certificate) -> OffsetDateTime {
        self.due(cert.not_before(), cert.not_after(), unit_jitter(cert))
    }

    /// When a bearer token issued at `claims.issued_at` and ending at
    /// `claims.expires_at` is due (its jitter fixed by the token);
    /// `None` when the token states no lifetime.
    pub fn token_due_at(&self, claims: &TokenClaims) -> Option<OffsetDateTime> {
        if claims.malformed.is_some() {
            return None;
        }
        let end = claims.expires_at?;
        match claims.issued_at {
            Some(start) => Some(self.due(start, end, claims.unit_jitter())),
            // No lifetime to take a fraction of: due ten minutes (or the
            // renew-before window) before the end.
            None => {
                let before = self
                    .before
                    .and_then(|b| time::Duration::try_from(b).ok())
                    .unwrap_or(time::Duration::ZERO)
                    .max(time::Duration::minutes(10));
                Some(end.checked_sub(before).unwrap_or(end))
            }
        }
    }

    fn due(&self, start: OffsetDateTime, end: OffsetDateTime, unit: f64) -> OffsetDateTime {
        let life = end - start;
        // A policy built field by field may hold NaN (RenewalPolicy::at
        // refuses it): due at once, the side that cannot leave a
        // certificate to expire.
        let fraction = self.at - self.jitter * unit;
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        let by_fraction = start + life * fraction;
        let due = match self.before {
            // A window reaching back past what can be represented: due
            // from the start.
            Some(b) => {
                let by_end = time::Duration::try_from(b)
                    .ok()
                    .and_then(|b| end.checked_sub(b))
                    .unwrap_or(start);
                by_fraction.min(by_end)
            }
            None => by_fraction,
        };
        // Whole seconds, as certificates state their times.
        due.replace_nanosecond(0).unwrap_or(due)
    }

    /// Whether `cert` is due at `now`.
    pub fn is_due(&self, cert: &Certificate, now: OffsetDateTime) -> bool {
        now >= self.due_at(cert)
    }
}

/// A number in [0, 1) fixed by the certificate (its SHA-256).
fn unit_jitter(cert: &Certificate) -> f64 {
    let hex: String = cert
        .sha256_fingerprint()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(13)
        .collect();
    u64::from_str_radix(&hex, 16).map_or(0.0, |n| n as f64 / (1u64 << 52) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::CaParams;
    use crate::identity::Identity;
    use crate::issue::IssueParams;
    use crate::lifetime::Lifetime;
    use crate::{CertificateAuthority, KeyAlgorithm};

    fn cert(days: u32, user: &str) -> Certificate {
        let ca = CertificateAuthority::generate(&CaParams {
            algorithm: KeyAlgorithm::EcdsaP256,
            ..CaParams::default()
        })
        .unwrap();
        let params = IssueParams {
            lifetime: Lifetime::days(days),
            ..IssueParams::default()
        };
        ca.issue(
            &Identity::new(user, Vec::<String>::new()).unwrap(),
            KeyAlgorithm::EcdsaP256,
            &params,
        )
        .unwrap()
        .1
        .certificate
    }

    #[test]
    fn options_give_the_policy_or_say_what_is_wrong() {
        assert_eq!(
            RenewalPolicy::from_options(None, None).unwrap(),
            RenewalPolicy::default()
        );
        let p = RenewalPolicy::from_options(Some(0.75), Some("30d")).unwrap();
        assert_eq!(
            (p.at, p.before),
            (0.75, Some(Duration::from_secs(30 * 86_400)))
        );
        assert!(matches!(
            RenewalPolicy::from_options(Some(1.5), None),
            Err(crate::Error::Lifetime(
                crate::LifetimeProblem::RenewalPoint { .. }
            ))
        ));
        assert!(matches!(
            RenewalPolicy::from_options(None, Some("soon")),
            Err(crate::Error::Lifetime(_))
        ));
    }

    #[test]
    fn a_policy_built_field_by_field_with_nan_is_due_at_once_not_a_panic() {
        let c = cert(30, "u");
        for (at, jitter) in [
            (f64::NAN, 0.05),
            (2.0 / 3.0, f64::NAN),
            (f64::INFINITY, 0.0),
        ] {
            let policy = RenewalPolicy {
                at,
                jitter,
                ..RenewalPolicy::default()
            };
            let due = policy.due_at(&c);
            assert!(
                due >= c.not_before() && due <= c.not_after(),
                "{at} {jitter}"
            );
        }
        let nan = RenewalPolicy {
            at: f64::NAN,
            ..RenewalPolicy::default()
        };
        assert_eq!(nan.due_at(&c), c.not_before());
    }

    #[test]
    fn due_between_three_fifths_and_two_thirds_of_the_lifetime() {
        let policy = RenewalPolicy::default();
        let mut dues = std::collections::BTreeSet::new();
        for i in 0..20 {
            let c = cert(90, &format!("u{i}"));
            let life = c.not_after() - c.not_before();
            let due = policy.due_at(&c) - c.not_before();
            assert!(
                due <= life * (2.0 / 3.0) && due >= life * (2.0 / 3.0 - 0.05),
                "{due}"
            );
            assert_eq!(
                policy.due_at(&c),
                policy.due_at(&c),
                "fixed per certificate"
            );
            dues.insert(due.whole_seconds());
        }
        assert!(dues.len() > 15, "a fleet spreads out: {dues:?}");
    }

    #[test]
    fn a_token_is_due_by_its_iat_and_exp_and_one_without_exp_never() {
        use base64::Engine;
        let jwt = |claims: &str| {
            let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
            format!("{}.{}.sig", b("{}"), b(claims))
        };
        let policy = RenewalPolicy::default();
        let claims = TokenClaims::read(&jwt(
            r#"{"sub":"system:serviceaccount:a:b","iat":1000000,"exp":1086400}"#,
        ))
        .unwrap();
        let due = policy.token_due_at(&claims).unwrap().unix_timestamp();
        // Between 0.6166… and 2/3 of a day after iat.
        assert!(
            (1_000_000 + 53_280..=1_000_000 + 57_600).contains(&due),
            "{due}"
        );
        let legacy = TokenClaims::read(&jwt(r#"{"sub":"system:serviceaccount:a:b"}"#)).unwrap();
        assert_eq!(policy.token_due_at(&legacy), None);
    }

    #[test]
    fn before_the_end_wins_when_earlier_and_bad_fractions_are_refused() {
        let c = cert(90, "u");
        let policy = RenewalPolicy {
            before: Some(Duration::from_secs(60 * 86_400)),
            ..RenewalPolicy::default()
        };
        assert_eq!(policy.due_at(&c), c.not_after() - time::Duration::days(60));
        assert!(policy.is_due(&c, c.not_after() - time::Duration::days(59)));
        assert!(!RenewalPolicy::default().is_due(&c, c.not_before() + time::Duration::days(1)));
        let huge = RenewalPolicy {
            before: Some(Duration::from_secs(u64::MAX / 4)),
            ..RenewalPolicy::default()
        };
        assert!(huge.is_due(&c, c.not_before()), "an endless window: due");
        for bad in [0.0, 1.0, -0.5, f64::NAN, 2.0] {
            assert!(
                matches!(
                    RenewalPolicy::at(bad),
                    Err(crate::Error::Lifetime(
                        crate::lifetime::LifetimeProblem::RenewalPoint { .. }
                    ))
                ),
                "{bad}"
            );
        }
    }
}
