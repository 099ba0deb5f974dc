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
    let claims = TokenClaims::read(token).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "runner {label:?}: its bearer_token is not a service account token (no JWT claims): renew replaces TokenRequest tokens only"
        ))
    })?;
    if let Some(m) = &claims.malformed {
        return Err(Error::InvalidArgument(format!(
            "runner {label:?}: its bearer_token cannot be judged: {m}"
        )));
    }
    let account = claims.service_account.clone().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "runner {label:?}: its bearer_token names no service account (sub {:?})",
            claims.subject.as_deref().unwrap_or("")
        ))
    })?;
    // Setup's pin names the account: a token config.toml holds for another
    // is not renewed, whatever the cluster says of it.
    if let Some(pin) = crate::pin::load(&params.config, &label)? {
        match &pin.service_account {
            Some(pinned) if *pinned == account => {}
            Some(pinned) => {
                return Err(Error::NotPinned {
                    runner: label,
                    pinned: format!("the service account {pinned}"),
                    found: format!("its bearer_token is for {account}"),
                });
            }
            None => {
                return Err(Error::NotPinned {
                    runner: label,
                    pinned: pin
                        .identity()
                        .map(|i| format!("the client certificate {i}"))
                        .unwrap_or_else(|| "a client certificate".into()),
                    found: "config.toml holds a bearer token".into(),
                });
            }
        }
    }
    let due = params.policy.token_due_at(&claims);
    let mut report = RenewReport {
        identity: account.user(),
        runner: label,
        credential: Credential::BearerToken,
        renewed: false,
        dry_run: params.dry_run,
        reason: String::new(),
        due_at: due.map(rfc3339).unwrap_or_default(),
        old_not_after: claims.expires_at.map(rfc3339).unwrap_or_default(),
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
    if let Some(expected) = &params.expect_service_account
        && *expected != account
    {
        return Err(crate::CsrApiProblem::TokenNotVouched {
            subject,
            reason: format!("the runner's token must be for the service account {expected}"),
        }
        .into());
    }
    match crate::token_request::vouch(&context, token, &subject, params.timeout)? {
        OnlineCheck::Authenticated { .. } => {}
        OnlineCheck::Refused { reason } | OnlineCheck::Unreachable { reason } => {
            return Err(crate::CsrApiProblem::TokenNotVouched { subject, reason }.into());
        }
        OnlineCheck::Skipped => {}
    }
    let lifetime = match (claims.issued_at, claims.expires_at) {
        (Some(start), Some(end)) => Duration::try_from(end - start).unwrap_or_default(),
        _ => Duration::from_secs(86_400),
    }
    .max(Duration::from_secs(600));
    let mut request = TokenRequestParams::new(account);
    request.duration = lifetime;
    request.timeout = params.timeout;
    let issued = request.run(*context)?;
    report.warnings.extend(issued.clamp_note());
    report.new_not_after = Some(issued.expires_at.clone());
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
