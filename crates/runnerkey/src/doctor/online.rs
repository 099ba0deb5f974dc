//! The online part of doctor: connect as the runner does, then ask the API
//! server who the identity is, what it and the job pods may do, and whether
//! either is over-privileged.

use serde_json::json;

use super::report::UserInfo;
use super::{Ctx, Presented};
use crate::api_client::{ApiClient, Credentials, Endpoint, Response, TransportError};
use crate::cert::Certificate;
use crate::code::Code;
use crate::next_step::NextStep;

use crate::severity::Severity;

impl Ctx {
    pub(super) fn online(&mut self, host: &str, cas: &[Certificate], credentials: Credentials) {
        if self
            .d
            .findings
            .iter()
            .any(|f| matches!(f.code, Code::BadHost | Code::InsecureHost))
        {
            return;
        }
        let endpoint = match Endpoint::parse(host) {
            Ok(e) => e,
            Err(e) => {
                return self.find(
                    Code::BadHost,
                    Severity::Error,
                    e.chain(),
                    "set host to https://HOST:PORT".into(),
                );
            }
        };
        if !endpoint.https {
            return self.find(
                Code::InsecureHost,
                Severity::Error,
                format!("host {host} is plain http: credentials would travel in clear"),
                "use the API server's https:// URL".into(),
            );
        }
        let bearer = matches!(credentials, Credentials::BearerToken(_));
        let anonymous = matches!(credentials, Credentials::Anonymous);
        let client = match ApiClient::new(endpoint, cas, credentials, self.timeout)
            .map(|c| c.purpose("doctor"))
        {
            Ok(c) => c,
            Err(e) => {
                return self.find(
                    Code::ClientSetup,
                    Severity::Error,
                    e.chain(),
                    "check cert_file and key_file".into(),
                );
            }
        };
        if let Some(proxy) = client.proxy() {
            let url = proxy.url.clone();
            if proxy.scheme != "http" {
                // gitlab-runner (Go) can use it; this check cannot: say so
                // and stop, without calling the connection broken.
                return self.find(
                    Code::ProxyFailed,
                    Severity::Warning,
                    format!("Go's proxy rules send the runner through the {} proxy {url}, which this check cannot use: the online checks were skipped", proxy.scheme),
                    "check online from where the API server is reachable without that proxy, or exclude it with NO_PROXY while checking".into(),
                );
            }
            self.pass(
                Code::Proxy,
                format!("connecting through the proxy {url}, as the runner does (Go's HTTPS_PROXY/NO_PROXY rules)"),
            );
        }
        let version = match client.request("GET", "/version?timeout=32s", None) {
            Ok(r) => r,
            Err(e) => return self.transport(e, host, cas),
        };
        if !self.version_seen(&version, bearer, anonymous, host, cas) {
            return;
        }
        self.who_am_i(&client);
        self.permissions(&client);
        if self.jobs {
            self.deployer(&client);
        }
        self.privileges(&client);
    }

    /// Judges the answer to `GET /version`: whether the server took the
    /// credentials (`bearer`: a token; `anonymous`: none; else a client
    /// certificate) and is a Kubernetes API server. False: stop there.
    fn version_seen(
        &mut self,
        version: &Response,
        bearer: bool,
        anonymous: bool,
        host: &str,
        cas: &[Certificate],
    ) -> bool {
        match version.status {
            401 if bearer => {
                self.find(
                    Code::BearerTokenRejected,
                    Severity::Error,
                    "the API server answered 401 Unauthorized: it does not accept the bearer token"
                        .into(),
                    "issue a new token for the service account and set bearer_token".into(),
                );
                false
            }
            401 if anonymous => {
                self.find(
                    Code::AnonymousRejected,
                    Severity::Error,
                    "the API server answered 401 Unauthorized: no credentials were presented (no usable client certificate and key, no bearer token), and it refuses anonymous requests".into(),
                    "give the runner an identity: cert_file and key_file, or a bearer token".into(),
                );
                false
            }
            401 => {
                self.find(
                    Code::ClientCertRejected,
                    Severity::Error,
                    "the API server answered 401 Unauthorized: it did not accept the client certificate; likely it is not signed by the cluster's client CA (kube-apiserver's client CA file, usually /etc/kubernetes/pki/ca.crt), or it has expired".into(),
                    "issue the certificate from the cluster CA".into(),
                );
                self.then(NextStep::IssueCertificate { renew: true });
                false
            }
            200 => {
                let answer = version.json("a Kubernetes version object (gitVersion)");
                let Some(v) = answer
                    .as_ref()
                    .ok()
                    .and_then(|a| a["gitVersion"].as_str())
                    .map(str::to_string)
                else {
                    let why = match answer {
                        Err(e) => e.to_string(),
                        Ok(_) => "GET /version answered without a gitVersion".into(),
                    };
                    self.find(
                        Code::ApiError,
                        Severity::Error,
                        format!("{host}: {why}: it is not a Kubernetes API server"),
                        "point host at the API server (kube-apiserver, usually port 6443)".into(),
                    );
                    return false;
                };
                self.pass(
                    Code::ApiReachable,
                    format!(
                        "TLS to {host} verified against {}; API server {v}",
                        if cas.is_empty() {
                            "the system store"
                        } else {
                            "ca_file"
                        }
                    ),
                );
                self.d.server_version = Some(v);
                true
            }
            s => {
                self.find(
                    Code::ApiError,
                    Severity::Error,
                    format!("GET /version answered HTTP {s}"),
                    "check that host is the API server".into(),
                );
                false
            }
        }
    }

    fn who_am_i(&mut self, client: &ApiClient) {
        for version in ["v1", "v1beta1"] {
            let body = json!({"apiVersion": format!("authentication.k8s.io/{version}"), "kind": "SelfSubjectReview"});
            let path = format!("/apis/authentication.k8s.io/{version}/selfsubjectreviews");
            if !self.review_seen(client.request("POST", &path, Some(&body))) {
                return;
            }
        }
        self.review_not_served();
    }

    /// The identity was not confirmed: SelfSubjectReview is not served
    /// (documented as a warning).
    fn review_not_served(&mut self) {
        self.find(
            Code::SelfSubjectReview,
            Severity::Warning,
            "SelfSubjectReview is not served (Kubernetes before 1.27, or a proxy in front): the server did not confirm who the runner is".into(),
            "check the identity with kubectl auth whoami, or upgrade the API server".into(),
        );
    }

    /// Judges one answer to SelfSubjectReview: who the server takes the
    /// runner for, and whether that is the certificate's CN. True: not
    /// served at this version (404), ask the next.
    fn review_seen(&mut self, answer: std::result::Result<Response, TransportError>) -> bool {
        match answer {
            Ok(r) if r.status == 200 || r.status == 201 => {
                let answer = match r.json("a SelfSubjectReview") {
                    Ok(a) => a,
                    Err(e) => {
                        self.find(
                            Code::SelfSubjectReview,
                            Severity::Warning,
                            e.to_string(),
                            "nothing to do unless other checks fail".into(),
                        );
                        return false;
                    }
                };
                let info = &answer["status"]["userInfo"];
                let user = UserInfo {
                    username: info["username"].as_str().unwrap_or("").to_string(),
                    groups: info["groups"]
                        .as_array()
                        .map(|g| {
                            g.iter()
                                .filter_map(|v| v.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                self.pass(
                    Code::Authenticated,
                    format!(
                        "authenticated as user {:?}, groups {:?}",
                        user.username, user.groups
                    ),
                );
                if let Presented::ClientCertificate { user: cn, .. } = &self.d.presents
                    && *cn != user.username
                {
                    let msg = format!(
                        "the certificate's CN is {cn:?} but the API server maps it to {:?}",
                        user.username
                    );
                    self.find(
                        Code::IdentityDiffers,
                        Severity::Warning,
                        msg,
                        "check the API server's authentication configuration".into(),
                    );
                }
                self.d.authenticated_as = Some(user);
                false
            }
            Ok(r) if r.status == 404 => true,
            Ok(r) => {
                self.find(
                    Code::SelfSubjectReview,
                    Severity::Warning,
                    format!("SelfSubjectReview answered HTTP {}", r.status),
                    "nothing to do unless other checks fail".into(),
                );
                false
            }
            Err(e) => {
                self.find(
                    Code::SelfSubjectReview,
                    Severity::Warning,
                    format!("SelfSubjectReview failed: {}", e.detail()),
                    "retry".into(),
                );
                false
            }
        }
    }
}

#[cfg(test)]
mod tests;
