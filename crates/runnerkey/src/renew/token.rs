//! Renewing a runner that authenticates with a service account token:
//! when its token is due (by the policy, on the token's `iat` and `exp`),
//! a new one for the same service account and the same lifetime from the
//! TokenRequest API, checked by authenticating with it, then written to
//! `bearer_token` — a format-preserving edit of config.toml, backed up,
//! locked, atomic. gitlab-runner reads it at its next config reload.

use std::time::Duration;

use time::OffsetDateTime;

use super::{OnlineCheck, RenewParams, RenewReport, Signer};
use crate::bearer_token::TokenClaims;
use crate::error::{Error, Result};
use crate::lifetime::rfc3339;
use crate::runner_config::{Change, KubeKey, RunnerConfig, SaveOptions};
use crate::service_account::ServiceAccountRef;
use crate::status::Credential;
use crate::token_request::TokenRequestParams;

pub(super) fn renew(
    params: &RenewParams,
    config: &RunnerConfig,
    label: String,
    token: &str,
    signer: Signer<'_>,
    now: OffsetDateTime,
) -> Result<RenewReport> {
    let Signer::CsrApi { context, .. } = signer else {
        return Err(Error::InvalidArgument(format!(
            "runner {label:?} authenticates with a bearer token: a CA cannot renew it; give a kubeconfig whose identity may create serviceaccounts/token"
        )));
    };
    let pin = crate::pin::load(&params.config, &label)?;
    let (claims, account) = match renewable_account(token, pin.as_ref()) {
        Ok(found) => found,
        Err(refusal) => return Err(refusal.into_error(label, String::new())),
    };
    let due = params.policy.token_due_at(&claims);
    let mut report = RenewReport {
        identity: account.user(),
        runner: label,
        credential: Credential::BearerToken,
        renewed: false,
        dry_run: params.dry_run,
        reason: String::new(),
        due_at: due,
        old_not_after: claims.expires_at,
        new_not_after: None,
        online: OnlineCheck::Skipped,
        files: vec![params.config.clone()],
        warnings: Vec::new(),
        clamped: false,
    };
    report.reason = match due {
        _ if params.force => "forced".into(),
        None => {
            report.reason =
                "the token states no end (a legacy Secret token): a forced renewal replaces it with a TokenRequest token".into();
            return Ok(report);
        }
        Some(due) if now < due => {
            report.reason = format!("not due until {}", rfc3339(due));
            return Ok(report);
        }
        Some(due) => format!("due since {}", rfc3339(due)),
    };
    if params.dry_run {
        report.renewed = true;
        return Ok(report);
    }
    // The account comes from the token in config.toml, which anyone who can
    // edit that file can write: only a token the cluster itself (the one
    // the kubeconfig names, not config.toml's host) takes for that account
    // names it; and the account must be the one expected, when one is.
    let subject = claims.subject.clone().unwrap_or_default();
    if let Err(refusal) = expected(&account, params.expect_service_account.as_ref()) {
        return Err(refusal.into_error(report.runner, subject));
    }
    match crate::token_request::vouch(&context, token, &subject, params.timeout)? {
        OnlineCheck::Authenticated { .. } => {}
        OnlineCheck::Refused { reason } | OnlineCheck::Unreachable { reason } => {
            return Err(crate::CsrApiProblem::TokenNotVouched { subject, reason }.into());
        }
        OnlineCheck::Skipped => {}
    }
    let lifetime = renewed_lifetime(&claims);
    let mut request = TokenRequestParams::new(account);
    request.duration = lifetime;
    request.timeout = params.timeout;
    let issued = request.run(*context)?;
    report.warnings.extend(issued.clamp_note());
    report.new_not_after = Some(issued.expires_at);
    // TokenRequest had the cluster that issued it vouch for it; config.toml's
    // host (which an edit could point anywhere) is not shown the new token.
    if params.online {
        report.online = OnlineCheck::Authenticated {
            user: issued.user.clone(),
        };
    }
    let mut edited = config.clone();
    edited
        .set_kubernetes(
            &params.runner,
            &[Change::set(
                KubeKey::BearerToken,
                issued.token.expose_secret(),
            )],
        )
        .map_err(|e| e.in_file(&params.config))?;
    let saved = edited.save(&SaveOptions::default())?;
    report.warnings.extend(saved.narrowed_note());
    report.renewed = true;
    Ok(report)
}

/// Why a bearer token in config.toml is not renewed for the service
/// account it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// An opaque token: no JWT claims.
    NotServiceAccountToken,
    /// Claims whose times cannot be trusted.
    Malformed(String),
    /// Claims naming no service account (the `sub`, if any).
    NoServiceAccount(Option<String>),
    /// Setup pinned another service account: the pinned one and the
    /// token's, each (namespace, name).
    PinnedToOther {
        pinned: ServiceAccountRef,
        found: ServiceAccountRef,
    },
    /// Setup pinned a client certificate (its identity, when the pin names one).
    PinnedToCertificate(Option<String>),
    /// Not the service account the caller expects.
    NotExpected(ServiceAccountRef),
}

impl Refusal {
    /// The error `renew` reports for runner `label`, `subject` the token's `sub`.
    fn into_error(self, label: String, subject: String) -> Error {
        match self {
            Refusal::NotServiceAccountToken => Error::InvalidArgument(format!(
                "runner {label:?}: its bearer_token is not a service account token (no JWT claims): renew replaces TokenRequest tokens only"
            )),
            Refusal::Malformed(m) => Error::InvalidArgument(format!(
                "runner {label:?}: its bearer_token cannot be judged: {m}"
            )),
            Refusal::NoServiceAccount(sub) => Error::InvalidArgument(format!(
                "runner {label:?}: its bearer_token names no service account (sub {:?})",
                sub.as_deref().unwrap_or("")
            )),
            Refusal::PinnedToOther { pinned, found } => Error::NotPinned {
                runner: label,
                pinned: format!("the service account {pinned}"),
                found: format!("its bearer_token is for {found}"),
            },
            Refusal::PinnedToCertificate(identity) => Error::NotPinned {
                runner: label,
                pinned: identity
                    .map(|i| format!("the client certificate {i}"))
                    .unwrap_or_else(|| "a client certificate".into()),
                found: "config.toml holds a bearer token".into(),
            },
            Refusal::NotExpected(want) => crate::CsrApiProblem::TokenNotVouched {
                subject,
                reason: format!("the runner's token must be for the service account {want}"),
            }
            .into(),
        }
    }
}

/// The service account (namespace, name) `token` may be renewed for, with
/// its claims: a service account token whose times can be judged, for the
/// account setup pinned (a token config.toml holds for another is not
/// renewed, whatever the cluster says of it).
pub(super) fn renewable_account(
    token: &str,
    pin: Option<&crate::pin::Pin>,
) -> std::result::Result<(TokenClaims, ServiceAccountRef), Refusal> {
    let claims = TokenClaims::read(token).ok_or(Refusal::NotServiceAccountToken)?;
    if let Some(m) = &claims.malformed {
        return Err(Refusal::Malformed(m.clone()));
    }
    let Some(account) = claims.service_account.clone() else {
        return Err(Refusal::NoServiceAccount(claims.subject.clone()));
    };
    if let Some(pin) = pin {
        match &pin.service_account {
            Some(pinned) if *pinned == account => {}
            Some(pinned) => {
                return Err(Refusal::PinnedToOther {
                    pinned: pinned.clone(),
                    found: account,
                });
            }
            None => {
                return Err(Refusal::PinnedToCertificate(
                    pin.identity().map(|i| i.to_string()),
                ));
            }
        }
    }
    Ok((claims, account))
}

/// Whether `account` is the expected one, when one is.
pub(super) fn expected(
    account: &ServiceAccountRef,
    expect: Option<&ServiceAccountRef>,
) -> std::result::Result<(), Refusal> {
    match expect {
        Some(want) if want != account => Err(Refusal::NotExpected(want.clone())),
        _ => Ok(()),
    }
}

/// The lifetime to ask for the new token: the old one's (`exp` − `iat`),
/// a day when it states none, never under 600 s (TokenRequest's minimum).
pub(super) fn renewed_lifetime(claims: &TokenClaims) -> Duration {
    match (claims.issued_at, claims.expires_at) {
        (Some(start), Some(end)) => Duration::try_from(end - start).unwrap_or_default(),
        _ => Duration::from_secs(86_400),
    }
    .max(Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bearer_token::tests::jwt;
    use crate::pin::{Pin, PinnedWay};

    fn sa_token(ns: &str, name: &str, iat: i64, exp: i64) -> String {
        jwt(&format!(
            r#"{{"sub":"system:serviceaccount:{ns}:{name}","iat":{iat},"exp":{exp}}}"#
        ))
    }

    fn pin(way: PinnedWay, sa: Option<(&str, &str)>, user: Option<&str>) -> Pin {
        Pin {
            config: "/etc/gitlab-runner/config.toml".into(),
            runner: "r".into(),
            way,
            user: user.map(Into::into),
            groups: vec!["runners".into()],
            ca_sha256: None,
            service_account: sa.map(|(n, a)| pair(n, a)),
            ca_key_seen: None,
        }
    }

    fn pair(ns: &str, name: &str) -> ServiceAccountRef {
        ServiceAccountRef::new(ns, name).unwrap()
    }

    #[test]
    fn a_service_account_token_without_pin_is_renewed_for_its_account() {
        let (claims, account) = renewable_account(
            &sa_token("ci", "runner", 1_700_000_000, 1_700_003_600),
            None,
        )
        .unwrap();
        assert_eq!(account, pair("ci", "runner"));
        assert_eq!(claims.expires_at.unwrap().unix_timestamp(), 1_700_003_600);
    }

    #[test]
    fn an_opaque_token_is_not_a_service_account_token() {
        let r = renewable_account("static-token", None).unwrap_err();
        assert_eq!(r, Refusal::NotServiceAccountToken);
    }

    #[test]
    fn claims_with_iat_after_exp_are_malformed() {
        let t = sa_token("ci", "runner", 1_700_003_600, 1_700_000_000);
        assert!(matches!(
            renewable_account(&t, None),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn a_user_token_names_no_service_account() {
        let t = jwt(r#"{"sub":"alice","iat":1700000000,"exp":1700003600}"#);
        assert_eq!(
            renewable_account(&t, None).unwrap_err(),
            Refusal::NoServiceAccount(Some("alice".into()))
        );
        let t = jwt(r#"{"iat":1700000000,"exp":1700003600}"#);
        assert_eq!(
            renewable_account(&t, None).unwrap_err(),
            Refusal::NoServiceAccount(None)
        );
    }

    #[test]
    fn the_pinned_account_is_renewed_and_another_is_not() {
        let t = sa_token("ci", "runner", 1_700_000_000, 1_700_003_600);
        let same = pin(PinnedWay::BearerToken, Some(("ci", "runner")), None);
        assert_eq!(
            renewable_account(&t, Some(&same)).unwrap().1,
            pair("ci", "runner")
        );
        // Same name, other namespace; same namespace, other name.
        for (ns, name) in [("other", "runner"), ("ci", "builder")] {
            let other = pin(PinnedWay::BearerToken, Some((ns, name)), None);
            assert_eq!(
                renewable_account(&t, Some(&other)).unwrap_err(),
                Refusal::PinnedToOther {
                    pinned: pair(ns, name),
                    found: pair("ci", "runner"),
                }
            );
        }
    }

    #[test]
    fn a_runner_pinned_to_a_certificate_keeps_no_token() {
        let t = sa_token("ci", "runner", 1_700_000_000, 1_700_003_600);
        let cert = pin(PinnedWay::ClientCertificate, None, Some("runner-a"));
        let Err(Refusal::PinnedToCertificate(Some(identity))) = renewable_account(&t, Some(&cert))
        else {
            panic!("a certificate pin must refuse the token");
        };
        assert!(identity.contains("runner-a"), "{identity}");
        let anonymous = pin(PinnedWay::ClientCertificate, None, None);
        assert_eq!(
            renewable_account(&t, Some(&anonymous)).unwrap_err(),
            Refusal::PinnedToCertificate(None)
        );
    }

    #[test]
    fn refusals_become_the_errors_renew_reports() {
        let e = Refusal::PinnedToOther {
            pinned: pair("ci", "a"),
            found: pair("ci", "b"),
        }
        .into_error("r".into(), String::new());
        assert!(matches!(e, Error::NotPinned { .. }), "{e:?}");
        let e = Refusal::PinnedToCertificate(None).into_error("r".into(), String::new());
        assert!(matches!(e, Error::NotPinned { .. }), "{e:?}");
        let e = Refusal::NotServiceAccountToken.into_error("r".into(), String::new());
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
        let e = Refusal::NotExpected(pair("ci", "a")).into_error("r".into(), "s".into());
        assert!(
            matches!(
                e,
                Error::CsrApi(crate::CsrApiProblem::TokenNotVouched { .. })
            ),
            "{e:?}"
        );
    }

    #[test]
    fn only_the_expected_account_is_renewed() {
        let account = pair("ci", "runner");
        assert_eq!(expected(&account, None), Ok(()));
        assert_eq!(expected(&account, Some(&pair("ci", "runner"))), Ok(()));
        for (ns, name) in [("ci", "other"), ("other", "runner")] {
            assert_eq!(
                expected(&account, Some(&pair(ns, name))),
                Err(Refusal::NotExpected(pair(ns, name)))
            );
        }
    }

    #[test]
    fn the_new_token_lives_as_long_as_the_old_one_but_at_least_600_s() {
        let claims = |t: &str| TokenClaims::read(t).unwrap();
        let hour = claims(&sa_token("ci", "r", 1_700_000_000, 1_700_003_600));
        assert_eq!(renewed_lifetime(&hour), Duration::from_secs(3600));
        let short = claims(&sa_token("ci", "r", 1_700_000_000, 1_700_000_060));
        assert_eq!(renewed_lifetime(&short), Duration::from_secs(600));
        let edge = claims(&sa_token("ci", "r", 1_700_000_000, 1_700_000_601));
        assert_eq!(renewed_lifetime(&edge), Duration::from_secs(601));
        let no_iat = claims(&jwt(
            r#"{"sub":"system:serviceaccount:ci:r","exp":1700003600}"#,
        ));
        assert_eq!(renewed_lifetime(&no_iat), Duration::from_secs(86_400));
        let legacy = claims(&jwt(r#"{"sub":"system:serviceaccount:ci:r"}"#));
        assert_eq!(renewed_lifetime(&legacy), Duration::from_secs(86_400));
    }
}
