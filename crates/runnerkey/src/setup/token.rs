//! `setup --auth token`: the runner authenticates with a service account
//! token from the TokenRequest API, written to `bearer_token` (the only
//! form gitlab-runner takes with `host` set), with `ca_file` for the
//! cluster CA and no client certificate. A token still good by the renewal
//! policy is kept, so a second run changes nothing.

use time::OffsetDateTime;

use super::{SetupParams, SetupPaths, SetupReport, Source, check_executor};
use crate::bearer_token::TokenClaims;
use crate::cert::Certificate;
use crate::error::Result;
use crate::kube_context::KubeContext;
use crate::lifetime::rfc3339;
use crate::rbac::RbacSubject;
use crate::renewal::RenewalPolicy;
use crate::runner_config::{Change, KubeKey, RunnerConfig};
use crate::secret::Secret;
use crate::service_account::ServiceAccountRef;
use crate::token_request::TokenRequestParams;

/// The token setup writes, and what to say about it.
pub(super) struct TokenSource {
    pub ca: Certificate,
    pub token: Secret,
    pub summary: String,
    pub note: String,
    pub warnings: Vec<String>,
    /// The runner's own service account.
    pub account: ServiceAccountRef,
}

impl TokenSource {
    /// The runner's service account, for its RBAC.
    pub fn subject(&self) -> RbacSubject {
        RbacSubject::ServiceAccount(self.account.clone())
    }
}

/// `host`, `ca_file`, `bearer_token`, the job pods' namespace and service
/// account; no `cert_file` or `key_file` (a token replaces them).
pub(super) fn config_changes(params: &SetupParams, paths: &SetupPaths, token: &str) -> Vec<Change> {
    vec![
        Change::set(KubeKey::Host, params.server.clone()),
        Change::unset(KubeKey::CertFile),
        Change::unset(KubeKey::KeyFile),
        Change::set(
            KubeKey::CaFile,
            paths.installed.ca_file.display().to_string(),
        ),
        Change::set(KubeKey::BearerToken, token.to_string()),
        Change::set(KubeKey::Namespace, params.namespace.clone()),
        Change::set(KubeKey::ServiceAccount, params.service_account.clone()),
    ]
}

impl SetupParams {
    /// The whole setup with token auth, from `context` (an admin
    /// kubeconfig): the service account `request` names (created when
    /// missing), a token for it from the TokenRequest API (kept while the
    /// runner's current token for that account is not due by the default
    /// [`RenewalPolicy`]), the cluster CA from the kubeconfig, `rbac.yaml`
    /// binding the executor's rights to that service account, then the
    /// config edit and checks [`SetupParams::run`] does.
    pub fn with_token(
        &self,
        context: KubeContext,
        request: &TokenRequestParams,
    ) -> Result<SetupReport> {
        let ca = super::cluster_ca(&context)?;
        let config = RunnerConfig::load(&self.config)?;
        check_executor(&config, self)?;
        let index = config.select(&self.runner)?;
        let current = config
            .runners()?
            .into_iter()
            .find(|r| r.index == index)
            .and_then(|r| r.kubernetes)
            .and_then(|k| k.bearer_token)
            .filter(|t| !t.is_empty());
        let user = request.service_account.user();
        let now = OffsetDateTime::now_utc();
        let kept = current.filter(|t| {
            !self.force
                && TokenClaims::read(t.expose_secret()).is_some_and(|c| {
                    c.subject.as_deref() == Some(user.as_str())
                        && RenewalPolicy::default()
                            .token_due_at(&c)
                            .is_some_and(|due| now < due)
                })
        });
        let mut warnings = Vec::new();
        if request.service_account.name() == self.service_account
            && request.service_account.namespace() == self.namespace
        {
            warnings.push(format!(
                "the job pods run as the runner's own service account {user}: a job can do what the runner does (create pods, read secrets); give the jobs a service account of their own"
            ));
        }
        let (token, summary, note) = match kept {
            Some(token) => {
                let end = TokenClaims::read(token.expose_secret())
                    .and_then(|c| c.expires_at)
                    .map(rfc3339)
                    .unwrap_or_default();
                (
                    token,
                    format!("{user} valid until {end}"),
                    "kept: the runner's token for this service account is not due for renewal"
                        .to_string(),
                )
            }
            None if self.dry_run => (
                Secret::new("<a new token>"),
                user.clone(),
                "would be requested from the cluster (TokenRequest); a dry run sends nothing"
                    .into(),
            ),
            None => {
                let mut request = request.clone();
                request.create_service_account = true;
                let issued = request.run(context)?;
                if issued.created_service_account {
                    warnings.push(format!(
                        "created the service account {} for the runner",
                        request.service_account
                    ));
                }
                warnings.extend(issued.clamp_note());
                (
                    issued.token,
                    format!("{} valid until {}", issued.user, rfc3339(issued.expires_at)),
                    "requested from the cluster (TokenRequest)".to_string(),
                )
            }
        };
        super::run(
            self,
            Source::Token(Box::new(TokenSource {
                ca,
                token,
                summary,
                note,
                warnings,
                account: request.service_account.clone(),
            })),
        )
    }
}
