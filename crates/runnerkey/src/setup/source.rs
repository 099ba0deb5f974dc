//! Setup's source: how the runner authenticates (a client certificate or
//! a service account token) crossed with who signs or issues it (the CA at
//! hand, the cluster's CSR API, TokenRequest, or a request completed with a
//! certificate signed elsewhere), judged here once for the CLI, Python and
//! Ansible.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use super::{CertSource, SetupParams, SetupReport, Signed};
use crate::CertificateAuthority;
use crate::error::{Error, Result};
use crate::kube_context::KubeContext;
use crate::service_account::ServiceAccountRef;
use crate::token_request::TokenRequestParams;

/// How a runner set up by setup authenticates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Auth {
    /// A client certificate and key (`cert_file`, `key_file`).
    #[default]
    Certificate,
    /// A service account token (`bearer_token`).
    Token,
}

impl Auth {
    /// `certificate` or `token`.
    pub fn name(self) -> &'static str {
        match self {
            Auth::Certificate => "certificate",
            Auth::Token => "token",
        }
    }
}

impl FromStr for Auth {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        [Auth::Certificate, Auth::Token]
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| Error::Unknown {
                what: "auth",
                value: s.chars().take(80).collect(),
                choices: vec!["certificate", "token"],
            })
    }
}

/// Where setup gets the runner's credential.
#[non_exhaustive]
pub enum SetupSource<'a> {
    /// A client certificate signed here with the cluster CA.
    Ca(&'a CertificateAuthority),
    /// A client certificate through the cluster's CSR API with the
    /// context's identity (approved too with `approve`, waited for up to
    /// `wait`).
    CsrApi {
        /// The identity that submits (and maybe approves).
        context: KubeContext,
        /// Approve the request too.
        approve: bool,
        /// How long to wait for the certificate.
        wait: Duration,
    },
    /// A service account token from TokenRequest with the context's
    /// identity.
    Token {
        /// The identity that may create the account's tokens.
        context: KubeContext,
        /// The runner's own service account and the lifetime asked for.
        request: TokenRequestParams,
    },
    /// A request made earlier (`setup --request`), completed with the
    /// certificate signed elsewhere.
    Complete {
        /// The cluster CA certificate (public).
        ca_cert: PathBuf,
        /// The signed certificate.
        signed: Signed<'a>,
    },
}

/// What a caller of setup holds, to choose the [`SetupSource`] from.
#[non_exhaustive]
pub struct SourceChoice<'a> {
    /// How the runner is to authenticate.
    pub auth: Auth,
    /// The cluster CA with its key, when it is at hand.
    pub ca: Option<&'a CertificateAuthority>,
    /// A kubeconfig context, when one was given.
    pub context: Option<KubeContext>,
    /// With a context and a certificate: approve the request too.
    pub approve: bool,
    /// With a context and a certificate: how long to wait.
    pub wait: Duration,
    /// With [`Auth::Token`]: the runner's own service account (a name in
    /// the params' namespace).
    pub token_service_account: Option<String>,
    /// With [`Auth::Token`]: the token's lifetime asked for.
    pub token_duration: Duration,
}

impl<'a> SourceChoice<'a> {
    /// Nothing chosen yet: a certificate, the default wait and token
    /// lifetime.
    pub fn new(auth: Auth) -> Self {
        Self {
            auth,
            ca: None,
            context: None,
            approve: false,
            wait: crate::defaults::CSR_WAIT_DURATION,
            token_service_account: None,
            token_duration: crate::defaults::TOKEN_DURATION_DURATION,
        }
    }

    /// The source for `params`: a token needs a context and the runner's
    /// service account (and no CA: a CA cannot issue tokens); a
    /// certificate needs the CA or a context, not both.
    pub fn choose(self, params: &SetupParams) -> Result<SetupSource<'a>> {
        match (self.auth, self.ca, self.context) {
            (Auth::Token, None, Some(context)) => {
                let name = self.token_service_account.ok_or_else(|| {
                    Error::InvalidArgument(
                        "token authentication needs the runner's own service account (a service account name)".into(),
                    )
                })?;
                let mut request =
                    TokenRequestParams::new(ServiceAccountRef::new(params.namespace.clone(), name)?);
                request.duration = self.token_duration;
                Ok(SetupSource::Token { context, request })
            }
            (Auth::Token, _, _) => Err(Error::InvalidArgument(
                "token authentication needs a kubeconfig (an identity that may create the service account's tokens), not a CA".into(),
            )),
            (Auth::Certificate, Some(ca), None) => Ok(SetupSource::Ca(ca)),
            (Auth::Certificate, None, Some(context)) => Ok(SetupSource::CsrApi {
                context,
                approve: self.approve,
                wait: self.wait,
            }),
            (Auth::Certificate, _, _) => Err(Error::InvalidArgument(
                "give the cluster CA (with its key) or a kubeconfig (to go through the CSR API), one of them".into(),
            )),
        }
    }
}

impl SetupParams {
    /// The whole setup from `source`.
    pub fn setup(&self, source: SetupSource<'_>) -> Result<SetupReport> {
        match source {
            SetupSource::Ca(ca) => self.run(CertSource::Ca(ca)),
            SetupSource::CsrApi {
                context,
                approve,
                wait,
            } => self.through_csr_api(context, approve, wait),
            SetupSource::Token { context, request } => self.with_token(context, &request),
            SetupSource::Complete { ca_cert, signed } => self.complete(&ca_cert, signed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CaParams;
    use crate::runner_config::RunnerSelector;

    #[test]
    fn auth_by_name_and_every_combination_judged_once() {
        assert_eq!("token".parse::<Auth>().unwrap(), Auth::Token);
        assert!("tokens".parse::<Auth>().is_err());
        let params = SetupParams::new(
            "/nonexistent/config.toml",
            RunnerSelector::Index(0),
            "https://k:6443",
        )
        .unwrap();
        let ca = CertificateAuthority::generate(&CaParams::default()).unwrap();
        let mut with_ca = SourceChoice::new(Auth::Certificate);
        with_ca.ca = Some(&ca);
        assert!(matches!(with_ca.choose(&params), Ok(SetupSource::Ca(_))));
        assert!(
            SourceChoice::new(Auth::Certificate)
                .choose(&params)
                .is_err()
        );
        let mut token_with_ca = SourceChoice::new(Auth::Token);
        token_with_ca.ca = Some(&ca);
        let e = token_with_ca.choose(&params).err().unwrap().to_string();
        assert!(e.contains("needs a kubeconfig"), "{e}");
    }
}
