//! The cluster's CertificateSigningRequest API, spoken directly: submit a
//! request for the `kubernetes.io/kube-apiserver-client` signer, approve it
//! when asked and allowed (only when it asks for exactly the identity
//! expected), wait for the certificate, check it, delete the object. The
//! key never leaves this host, and no CA key is needed anywhere.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::api_client::{ApiClient, Credentials, Endpoint, TransportError};
use crate::cert::Certificate;
use crate::csr::CertificateRequest;
pub use crate::error::csr_api::CsrApiProblem;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::k8s_csr::{K8sCsr, K8sCsrParams};
use crate::key::PrivateKey;
use crate::kube_context::{ContextCredentials, KubeContext};

mod approval;
mod issued;
mod wait;

use approval::approve;
pub(crate) use approval::judge;
pub use approval::{Refusal, RefusalReason, approve_csr};

/// What a submission reports as it goes, for a progress line (the
/// request's name at once, so that a person can approve it).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// A new request was created.
    Submitted {
        /// Its name.
        name: &'a str,
    },
    /// A request kept from an earlier run is waited for again.
    Adopted {
        /// Its name.
        name: &'a str,
    },
}

/// A request to submit, or one submitted before to wait for again.
pub(crate) enum Request<'a> {
    /// Submit this request.
    New(&'a CertificateRequest),
    /// Wait again for the request submitted before under this name and UID.
    Adopt {
        /// The object's name.
        name: &'a str,
        /// Its UID.
        uid: &'a str,
    },
}

pub(crate) const PATH: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

/// A client for the API server a kubeconfig context names. Refuses a
/// context that turns off server certificate checks, and one whose user
/// needs a credential plugin.
pub(crate) fn client(
    context: KubeContext,
    timeout: Duration,
    overall: Duration,
) -> Result<(ApiClient, String)> {
    let insecure = context.insecure_skip_tls_verify;
    if insecure && !context.accept_insecure {
        return Err(CsrApiProblem::Insecure {
            source_name: context.source,
        }
        .into());
    }
    let credentials = match context.credentials {
        ContextCredentials::ClientCertificate { chain, key, .. } => {
            Credentials::ClientCertificate(chain, key)
        }
        ContextCredentials::Token { token, .. } => Credentials::BearerToken(token),
        ContextCredentials::Plugin { what } => {
            return Err(CsrApiProblem::Plugin {
                source_name: context.source,
                what,
            }
            .into());
        }
        ContextCredentials::Anonymous => Credentials::Anonymous,
    };
    let endpoint = Endpoint::parse(&context.server)?;
    if !endpoint.https || endpoint.scheme_missing {
        return Err(Error::BadUrl {
            field: "server",
            value: crate::url::without_userinfo(&context.server),
            reason: "is not https://: credentials would travel in clear, and the answers would prove nothing",
        });
    }
    Ok((
        ApiClient::with_options(
            endpoint,
            &context.cas,
            credentials,
            timeout,
            overall,
            insecure,
        )?
        .purpose("kubeconfig"),
        context.server,
    ))
}

pub(crate) fn api(e: TransportError, server: &str) -> Error {
    CsrApiProblem::Unreachable {
        server: server.to_string(),
        source: e.failure(),
    }
    .into()
}

pub(crate) fn refused(answer: &crate::api_client::Response, what: &'static str) -> Error {
    CsrApiProblem::Answered {
        what,
        status: answer.status,
        reason: answer.reason(),
        message: answer.message().chars().take(400).collect(),
    }
    .into()
}

/// How to submit.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SubmitParams {
    /// The object's name; `None` with `generate_name` lets the server pick.
    pub name: Option<String>,
    /// A name prefix for the server to complete.
    pub generate_name: Option<String>,
    /// Requested validity (`expirationSeconds`; the signer may shorten it).
    pub expiration: Option<Duration>,
    /// Approve it too (needs the permission to approve).
    pub approve: bool,
    /// How long to wait for the certificate.
    pub wait: Duration,
    /// Time between two looks at the object.
    pub poll: Duration,
    /// Each request's deadline.
    pub timeout: Duration,
    /// Leave a request still pending when the wait ends (for an approver
    /// who comes later); otherwise it is deleted.
    pub leave_pending: bool,
}

impl Default for SubmitParams {
    fn default() -> Self {
        Self {
            name: None,
            generate_name: Some("runnerkey-".into()),
            expiration: None,
            approve: false,
            wait: crate::defaults::CSR_WAIT_DURATION,
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
            leave_pending: true,
        }
    }
}

/// What the submission gave.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Submitted {
    /// The object's name.
    pub name: String,
    /// Whether this run approved it.
    pub approved_here: bool,
    /// The issued certificate, checked.
    #[serde(skip)]
    pub certificate: Certificate,
    /// Its notBefore and notAfter as the signer set them (RFC 3339 on the
    /// wire).
    #[serde(with = "crate::lifetime::serde_rfc3339")]
    pub not_before: OffsetDateTime,
    /// notAfter.
    #[serde(with = "crate::lifetime::serde_rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whether the object was deleted afterwards.
    pub deleted: bool,
    /// The signer issued it for less than the `expiration` asked (it
    /// clamps to its `--cluster-signing-duration`).
    pub clamped: bool,
}

impl SubmitParams {
    /// Submits `csr` (made for `key`, which stays here) through `context`,
    /// approves it when asked, waits for the certificate, checks that it
    /// belongs to `key`, is a client certificate for exactly `csr`'s
    /// identity and is accepted by the context's CA, and deletes the object.
    pub fn run(
        &self,
        context: KubeContext,
        csr: &CertificateRequest,
        key: &PrivateKey,
    ) -> Result<Submitted> {
        let expected = csr.signable_identity()?;
        self.run_request(
            context,
            Request::New(csr),
            &expected,
            key,
            &mut |_, _, _| Ok(()),
        )
    }

    /// [`SubmitParams::run`] for a new request or one submitted before;
    /// `on_request(name, uid, adopted)` is told the request's name at once.
    pub(crate) fn run_request(
        &self,
        context: KubeContext,
        request: Request<'_>,
        expected: &Identity,
        key: &PrivateKey,
        on_request: &mut dyn FnMut(&str, &str, bool) -> Result<()>,
    ) -> Result<Submitted> {
        let cas = context.cas.clone();
        let (wait, timeout) = (
            crate::lifetime::capped(self.wait),
            crate::lifetime::capped(self.timeout),
        );
        let (client, server) = client(context, timeout, wait + timeout * 3)?;
        let (name, uid) = match request {
            Request::New(csr) => {
                let (name, uid) = self.create(&client, &server, csr)?;
                on_request(&name, &uid, false)?;
                (name, uid)
            }
            Request::Adopt { name, uid } => {
                adopt(&client, &server, name, uid, key)?;
                on_request(name, uid, true)?;
                (name.to_string(), uid.to_string())
            }
        };
        let mut result = self.finish(&client, &server, &name, &uid, expected, key, &cas);
        // Still pending when the wait ended: left for an approver (the
        // controller removes it after a day). Otherwise deleted, so an
        // issued certificate does not sit in the API for an hour.
        let pending = self.leave_pending
            && matches!(
                &result,
                Err(Error::CsrApi(CsrApiProblem::StillPending { .. }))
            );
        if pending && let Err(Error::CsrApi(CsrApiProblem::StillPending { kept, .. })) = &mut result
        {
            *kept = true;
        }
        let deleted = !pending
            && client
                .request("DELETE", &format!("{PATH}/{name}"), None)
                .is_ok_and(|r| r.status == 200 || r.status == 202 || r.status == 404);
        let (certificate, approved_here) = result?;
        let clamped = issued::judge_lifetime(&certificate, self.expiration, &cas)?;
        Ok(Submitted {
            clamped,
            name,
            approved_here,
            not_before: certificate.not_before(),
            not_after: certificate.not_after(),
            certificate,
            deleted,
        })
    }

    /// Creates the object for `csr`: its name and UID.
    fn create(
        &self,
        client: &ApiClient,
        server: &str,
        csr: &CertificateRequest,
    ) -> Result<(String, String)> {
        let mut params = K8sCsrParams::new(self.name.clone().unwrap_or_else(|| "x".into()));
        params.expiration = self.expiration;
        params.allow_system_masters = false;
        let object = K8sCsr::new(csr, &params)?;
        let mut body: Value = serde_json::from_str(&object.to_json()?)
            .map_err(|e| Error::der("CertificateSigningRequest object", e))?;
        if self.name.is_none() {
            let prefix = self
                .generate_name
                .clone()
                .unwrap_or_else(|| "runnerkey-".into());
            if let Some(meta) = body["metadata"].as_object_mut() {
                meta.remove("name");
                meta.insert("generateName".into(), json!(prefix));
            }
        }
        let created = client
            .request("POST", PATH, Some(&body))
            .map_err(|e| api(e, server))?;
        if created.status != 201 && created.status != 200 {
            return Err(refused(&created, "creating the CertificateSigningRequest"));
        }
        let created_status = created.status;
        let created = created
            .json("the CertificateSigningRequest created")
            .map_err(|e| e.answered("creating the CertificateSigningRequest", created_status))?;
        let name = created["metadata"]["name"]
            .as_str()
            .ok_or_else(|| {
                Error::from(CsrApiProblem::Answered {
                    what: "creating the CertificateSigningRequest",
                    status: created_status,
                    reason: String::new(),
                    message: "the created object has no name".into(),
                })
            })?
            .to_string();
        let uid = created["metadata"]["uid"]
            .as_str()
            .unwrap_or("")
            .to_string();
        Ok((name, uid))
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        client: &ApiClient,
        server: &str,
        name: &str,
        uid: &str,
        expected: &Identity,
        key: &PrivateKey,
        cas: &[Certificate],
    ) -> Result<(Certificate, bool)> {
        let mut approved_here = false;
        if self.approve {
            approve(client, server, name, Some(expected), false)?;
            approved_here = true;
        }
        let wait = wait::Wait {
            client,
            server,
            name,
            uid,
            deadline: Instant::now() + crate::lifetime::capped(self.wait),
            wait: self.wait,
            poll: crate::lifetime::capped(self.poll),
            timeout: self.timeout,
        };
        let cert = wait.certificate(|value| issued::judge_object(value, key, expected, cas))?;
        Ok((cert, approved_here))
    }
}

/// Checks that the request `name` submitted before (UID `uid`) is still
/// there, for `key`, and neither denied nor failed: it may be waited for
/// again.
fn adopt(client: &ApiClient, server: &str, name: &str, uid: &str, key: &PrivateKey) -> Result<()> {
    let not = |reason: &str| -> Error {
        CsrApiProblem::NotAdoptable {
            name: name.into(),
            reason: reason.into(),
        }
        .into()
    };
    let got = client
        .request("GET", &format!("{PATH}/{name}"), None)
        .map_err(|e| api(e, server))?;
    if got.status == 404 {
        return Err(not(
            "it no longer exists (approvers' cleaner removes a pending request after a day)",
        ));
    }
    if got.status != 200 {
        return Err(refused(&got, "reading the CertificateSigningRequest"));
    }
    let value = got
        .json("a CertificateSigningRequest")
        .map_err(|e| e.answered("reading the CertificateSigningRequest", got.status))?;
    match issued::adoptable(&value, uid, key) {
        Err(issued::NotAdoptable::NotACsr(e)) => Err(e),
        Err(n) => Err(not(&n.to_string())),
        Ok(()) => Ok(()),
    }
}
