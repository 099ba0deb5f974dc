//! The online part of doctor: connect as the runner does, then ask the API
//! server who the identity is, what it and the job pods may do, and whether
//! either is over-privileged.

use serde_json::json;

use super::privilege::{Who, review};
use super::report::{PermissionCheck, UserInfo};
use super::{Ctx, Presented};
use crate::api_client::{ApiClient, Credentials, Endpoint};
use crate::cert::Certificate;
use crate::code::Code;
use crate::next_step::{NextStep, RbacFor};
use crate::rbac::{ExecutorFeature, deployer_permissions, executor_permissions};
use crate::runner_config::lint::Severity;

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
        match version.status {
            401 if bearer => {
                return self.find(
                    Code::BearerTokenRejected,
                    Severity::Error,
                    "the API server answered 401 Unauthorized: it does not accept the bearer token"
                        .into(),
                    "issue a new token for the service account and set bearer_token".into(),
                );
            }
            401 if anonymous => {
                return self.find(
                    Code::AnonymousRejected,
                    Severity::Error,
                    "the API server answered 401 Unauthorized: no credentials were presented (no usable client certificate and key, no bearer token), and it refuses anonymous requests".into(),
                    "give the runner an identity: cert_file and key_file, or a bearer token".into(),
                );
            }
            401 => {
                self.find(
                    Code::ClientCertRejected,
                    Severity::Error,
                    "the API server answered 401 Unauthorized: it did not accept the client certificate; likely it is not signed by the cluster's client CA (kube-apiserver's client CA file, usually /etc/kubernetes/pki/ca.crt), or it has expired".into(),
                    "issue the certificate from the cluster CA".into(),
                );
                return self.then(NextStep::IssueCertificate { renew: true });
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
                    return self.find(
                        Code::ApiError,
                        Severity::Error,
                        format!("{host}: {why}: it is not a Kubernetes API server"),
                        "point host at the API server (kube-apiserver, usually port 6443)".into(),
                    );
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
            }
            s => {
                return self.find(
                    Code::ApiError,
                    Severity::Error,
                    format!("GET /version answered HTTP {s}"),
                    "check that host is the API server".into(),
                );
            }
        }
        self.who_am_i(&client);
        self.permissions(&client);
        if self.jobs {
            self.deployer(&client);
        }
        self.privileges(&client);
    }

    fn who_am_i(&mut self, client: &ApiClient) {
        for version in ["v1", "v1beta1"] {
            let body = json!({"apiVersion": format!("authentication.k8s.io/{version}"), "kind": "SelfSubjectReview"});
            let path = format!("/apis/authentication.k8s.io/{version}/selfsubjectreviews");
            match client.request("POST", &path, Some(&body)) {
                Ok(r) if r.status == 200 || r.status == 201 => {
                    let answer = match r.json("a SelfSubjectReview") {
                        Ok(a) => a,
                        Err(e) => {
                            return self.find(
                                Code::SelfSubjectReview,
                                Severity::Warning,
                                e.to_string(),
                                "nothing to do unless other checks fail".into(),
                            );
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
                    return;
                }
                Ok(r) if r.status == 404 => continue,
                Ok(r) => {
                    return self.find(
                        Code::SelfSubjectReview,
                        Severity::Warning,
                        format!("SelfSubjectReview answered HTTP {}", r.status),
                        "nothing to do unless other checks fail".into(),
                    );
                }
                Err(e) => {
                    return self.find(
                        Code::SelfSubjectReview,
                        Severity::Warning,
                        format!("SelfSubjectReview failed: {}", e.detail()),
                        "retry".into(),
                    );
                }
            }
        }
        // Documented as a warning: the identity was not confirmed.
        self.find(
            Code::SelfSubjectReview,
            Severity::Warning,
            "SelfSubjectReview is not served (Kubernetes before 1.27, or a proxy in front): the server did not confirm who the runner is".into(),
            "check the identity with kubectl auth whoami, or upgrade the API server".into(),
        );
    }

    fn permissions(&mut self, client: &ApiClient) {
        let ns = self.d.job_namespace.clone();
        let perms = executor_permissions(&ExecutorFeature::defaults());
        for p in perms {
            let allowed = match review(
                client,
                &Who::Myself,
                &ns,
                &p.api_group,
                &p.resource,
                &p.verb,
            ) {
                Ok(a) => a,
                Err(reason) => {
                    self.d.permissions.clear();
                    self.find(
                        Code::AccessReview,
                        Severity::Warning,
                        format!("could not check the executor's permissions: {reason}"),
                        "nothing is known either way; retry, or ask the API server as an admin"
                            .into(),
                    );
                    return self.then(NextStep::CheckAccessByHand { impersonate: None });
                }
            };
            self.d.permissions.push(PermissionCheck {
                permission: p,
                namespace: ns.clone(),
                allowed,
            });
        }
        let denied: Vec<String> = self
            .d
            .permissions
            .iter()
            .filter(|p| !p.allowed)
            .map(|p| p.permission.to_string())
            .collect();
        let total = self.d.permissions.len();
        if denied.is_empty() {
            self.pass(
                Code::ExecutorPermissions,
                format!("all {total} permissions the executor needs are granted in namespace {ns}"),
            );
        } else {
            let subject = match &self.d.presents {
                Presented::ClientCertificate { user, .. } => RbacFor::User { name: user.clone() },
                _ => RbacFor::Unknown,
            };
            self.find(
                Code::PermissionDenied,
                Severity::Error,
                format!(
                    "{} of {total} permissions the executor needs are denied in namespace {ns}: {}",
                    denied.len(),
                    denied.join(", ")
                ),
                format!("apply the executor profile for this identity in namespace {ns}"),
            );
            self.then(NextStep::ApplyProfile {
                subject,
                profile: "executor",
                namespace: Some(ns),
            });
        }
    }

    fn deployer(&mut self, client: &ApiClient) {
        let ns = self.d.job_namespace.clone();
        let user = self.d.job_identity.clone();
        let groups = vec![
            "system:serviceaccounts".to_string(),
            format!("system:serviceaccounts:{ns}"),
            "system:authenticated".to_string(),
        ];
        let who = Who::Other {
            user: &user,
            groups: &groups,
        };
        for p in deployer_permissions() {
            match review(client, &who, &ns, &p.api_group, &p.resource, &p.verb) {
                Ok(allowed) => self.d.deployer_permissions.push(PermissionCheck {
                    permission: p,
                    namespace: ns.clone(),
                    allowed,
                }),
                Err(reason) => {
                    self.d.deployer_permissions.clear();
                    self.d.deployer_note =
                        Some(format!("could not check what {user} may do: {reason}"));
                    self.find(
                        Code::JobPermissionsUnchecked,
                        Severity::Warning,
                        format!(
                            "could not check what the job pods' identity {user} may do: {reason}"
                        ),
                        "nothing is known either way; ask as an admin".into(),
                    );
                    return self.then(NextStep::CheckAccessByHand {
                        impersonate: Some(user),
                    });
                }
            }
        }
        let denied = self
            .d
            .deployer_permissions
            .iter()
            .filter(|p| !p.allowed)
            .count();
        if denied > 0 {
            let sa = self.d.job_service_account.clone();
            self.find(
                Code::JobPermissionsMissing,
                Severity::Warning,
                format!("the job pods' identity {user} lacks {denied} of the deployer profile's {} permissions: deploy jobs will be refused", self.d.deployer_permissions.len()),
                "apply the deployer profile for the job pods' service account".into(),
            );
            self.then(NextStep::ApplyProfile {
                subject: RbacFor::ServiceAccount {
                    namespace: ns,
                    name: sa,
                },
                profile: "deployer",
                namespace: None,
            });
        }
    }
}
