//! `doctor`: why a runner cannot authenticate to the API server, and who it
//! is when it can. Offline, everything `runner-config lint` checks plus the
//! identity the runner presents and the one its job pods run as; online
//! (opt-in), a connection made exactly as the runner makes it, its failures
//! put in plain words, then SelfSubjectReview and SelfSubjectAccessReview.

mod privilege;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

pub use privilege::{AdminBinding, PrivilegeAudit};

use crate::api_client::{ApiClient, Credentials, Endpoint, ServerCertProblem, TransportError};
use crate::cert::Certificate;
use crate::error::Result;
use crate::key::PrivateKey;
use crate::lifetime::rfc3339;
use crate::public_key::colon_hex;
use crate::rbac::{ExecutorFeature, Permission, deployer_permissions, executor_permissions};
use crate::runner_config::lint::{Finding, LintOptions, Severity};
use crate::runner_config::{KubernetesSettings, RunnerConfig, RunnerInfo, RunnerSelector};
use privilege::{Who, admin_bindings, audit, review};

/// What to check.
#[derive(Clone, Debug)]
pub struct DoctorOptions {
    /// One runner (all kubernetes runners when `None`).
    pub runner: Option<RunnerSelector>,
    /// Also connect to the API server.
    pub online: bool,
    /// The whole online check's deadline, and each read's (default 10 s).
    pub timeout: Duration,
    /// The time to judge validity at (now when `None`).
    pub now: Option<OffsetDateTime>,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        Self {
            runner: None,
            online: false,
            timeout: Duration::from_secs(10),
            now: None,
        }
    }
}

/// How the runner authenticates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Presented {
    /// A client certificate: the Kubernetes user and groups it carries.
    ClientCertificate {
        /// CN.
        user: String,
        /// Every O.
        groups: Vec<String>,
    },
    /// A client certificate that could not be read.
    UnreadableCertificate,
    /// `bearer_token`.
    BearerToken,
    /// No host: in-cluster service account or kubeconfig.
    InCluster,
    /// A host but no credentials.
    Anonymous,
}

impl std::fmt::Display for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Presented::ClientCertificate { user, groups } if groups.is_empty() => {
                write!(f, "client certificate: user {user:?}, no groups")
            }
            Presented::ClientCertificate { user, groups } => {
                write!(f, "client certificate: user {user:?}, groups {groups:?}")
            }
            Presented::UnreadableCertificate => f.write_str("client certificate (unreadable)"),
            Presented::BearerToken => f.write_str("bearer token"),
            Presented::InCluster => {
                f.write_str("in-cluster service account or kubeconfig (host is empty)")
            }
            Presented::Anonymous => f.write_str("nothing: anonymous"),
        }
    }
}

/// Validity of one certificate the runner uses.
#[derive(Clone, Debug, Serialize)]
pub struct CertStatus {
    /// `cert_file` or `ca_file`.
    pub role: &'static str,
    /// The file.
    pub path: String,
    /// Subject.
    pub subject: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// Whole days left.
    pub days_left: i64,
}

/// A check that passed or failed (the ✓/✗ lines).
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Stable identifier.
    pub code: &'static str,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub message: String,
}

/// One permission and whether the cluster grants it.
#[derive(Clone, Debug, Serialize)]
pub struct PermissionCheck {
    /// The permission.
    #[serde(flatten)]
    pub permission: Permission,
    /// Namespace asked about.
    pub namespace: String,
    /// Granted.
    pub allowed: bool,
}

/// The user the API server says we are.
#[derive(Clone, Debug, Serialize)]
pub struct UserInfo {
    /// Username.
    pub username: String,
    /// Groups.
    pub groups: Vec<String>,
}

/// Everything found for one runner.
#[derive(Clone, Debug, Serialize)]
pub struct RunnerDiagnosis {
    /// Name (or `#index`).
    pub runner: String,
    /// Position among `[[runners]]`.
    pub index: usize,
    /// `host`.
    pub host: Option<String>,
    /// What the runner presents.
    pub presents: Presented,
    /// Namespace of the job pods.
    pub job_namespace: String,
    /// Service account of the job pods.
    pub job_service_account: String,
    /// Who `kubectl` inside a job is.
    pub job_identity: String,
    /// Certificates and their validity.
    pub certificates: Vec<CertStatus>,
    /// Whether the online checks ran.
    pub online: bool,
    /// The API server's gitVersion.
    pub server_version: Option<String>,
    /// SelfSubjectReview's answer.
    pub authenticated_as: Option<UserInfo>,
    /// Passed and failed checks, in order.
    pub checks: Vec<Check>,
    /// The executor profile's permissions in the job namespace.
    pub permissions: Vec<PermissionCheck>,
    /// The deployer profile's permissions for the job service account.
    pub deployer_permissions: Vec<PermissionCheck>,
    /// Why the deployer permissions could not be checked, if so.
    pub deployer_note: Option<String>,
    /// The runner identity's over-privilege audit (online).
    pub runner_privileges: Option<PrivilegeAudit>,
    /// The job pods' service account's over-privilege audit (online).
    pub job_privileges: Option<PrivilegeAudit>,
    /// Bindings that give the runner or the job pods cluster-admin.
    pub admin_bindings: Vec<AdminBinding>,
    /// Problems, with fixes.
    pub findings: Vec<Finding>,
}

/// The whole diagnosis.
#[derive(Clone, Debug, Serialize)]
pub struct DoctorReport {
    /// File-wide findings (unknown keys outside runners …).
    pub findings: Vec<Finding>,
    /// One entry per runner checked.
    pub runners: Vec<RunnerDiagnosis>,
}

impl DoctorReport {
    /// Whether any error-level finding was made.
    pub fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .chain(self.runners.iter().flat_map(|r| r.findings.iter()))
            .any(|f| f.severity == Severity::Error)
    }
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

struct Ctx<'a> {
    d: RunnerDiagnosis,
    k: &'a KubernetesSettings,
    timeout: Duration,
}

impl Ctx<'_> {
    fn find(&mut self, code: &'static str, severity: Severity, message: String, fix: String) {
        self.d.checks.push(Check {
            code,
            ok: false,
            message: message.clone(),
        });
        self.d.findings.push(Finding {
            code,
            severity,
            runner: Some(self.d.runner.clone()),
            key: None,
            line: None,
            message,
            fix,
        });
    }

    fn pass(&mut self, code: &'static str, message: String) {
        self.d.checks.push(Check {
            code,
            ok: true,
            message,
        });
    }

    fn transport(&mut self, e: TransportError, host: &str, cas: &[Certificate]) {
        match e {
            TransportError::Dns(m) => self.find("dns-failure", Severity::Error, format!("cannot resolve the API server's name: {m}"), "fix host, or the runner host's DNS".into()),
            TransportError::Refused(m) => self.find("connection-refused", Severity::Error, format!("connection refused: {m}"), "check host and port (kube-apiserver listens on 6443 by default) and that the API server runs".into()),
            TransportError::Timeout(m) => self.find("connection-timeout", Severity::Error, format!("no answer in time: {m}"), "check firewalls between the runner host and the API server".into()),
            TransportError::NotTls(m) => self.find("not-tls", Severity::Error, format!("something that is not a TLS server answered at {host} ({m})"), "point host at the API server's HTTPS port".into()),
            TransportError::Tls(m) => self.find("tls-error", Severity::Error, format!("TLS handshake failed: {m}"), "check that cert_file and key_file belong together and that the server accepts TLS 1.2+".into()),
            TransportError::Io(m) => self.find("connection-error", Severity::Error, format!("connection failed: {m}"), "check the network between runner and API server".into()),
            TransportError::Proxy(m) => self.find("proxy-failed", Severity::Error, format!("the proxy the runner would use (by Go's HTTPS_PROXY/NO_PROXY rules) failed: {m}"), "fix the proxy, or add the API server to NO_PROXY in the runner's environment".into()),
            TransportError::TooLarge(m) => self.find("response-too-large", Severity::Error, format!("the server's answer is too large: {m}"), "check that host is the API server".into()),
            TransportError::ServerCert { problem, chain } => self.server_cert(problem, &chain, host, cas),
        }
    }

    fn server_cert(
        &mut self,
        problem: ServerCertProblem,
        chain: &[Certificate],
        host: &str,
        cas: &[Certificate],
    ) {
        let leaf = chain.first();
        let leaf_subject = leaf.map(Certificate::subject).unwrap_or_else(|| "?".into());
        match problem {
            ServerCertProblem::UnknownIssuer => {
                let issuer = leaf.map(Certificate::issuer).unwrap_or_default();
                let aki = leaf
                    .and_then(Certificate::authority_key_id)
                    .map(|k| colon_hex(&k))
                    .unwrap_or_else(|| "none".into());
                let held = if cas.is_empty() {
                    "ca_file is empty, so the system trust store was used, and it does not hold the cluster CA".to_string()
                } else {
                    let list: Vec<String> = cas
                        .iter()
                        .map(|c| {
                            format!(
                                "{} (SKI {})",
                                c.subject(),
                                c.subject_key_id()
                                    .map(|k| colon_hex(&k))
                                    .unwrap_or_else(|| "none".into())
                            )
                        })
                        .collect();
                    format!("ca_file holds {}", list.join(", "))
                };
                self.find(
                    "tls-unknown-authority",
                    Severity::Error,
                    format!("x509: certificate signed by unknown authority: the API server's certificate {leaf_subject} was issued by {issuer} (AKI {aki}); {held}"),
                    format!("set ca_file to the CA {issuer} (on kubeadm clusters /etc/kubernetes/pki/ca.crt)"),
                );
            }
            ServerCertProblem::NotValidForName => {
                let sans = leaf.map(Certificate::subject_alt_names).unwrap_or_default();
                self.find(
                    "tls-name-mismatch",
                    Severity::Error,
                    format!("{host} is not among the API server certificate's names: {}", if sans.is_empty() { "(no SANs)".into() } else { sans.join(", ") }),
                    "use a host the certificate names, or add it to the API server's certSANs and renew its certificate".into(),
                );
            }
            ServerCertProblem::Expired => self.find(
                "tls-server-cert-expired",
                Severity::Error,
                format!(
                    "the API server's certificate {leaf_subject} expired on {}",
                    leaf.map(|c| rfc3339(c.not_after())).unwrap_or_default()
                ),
                "renew the API server's certificates (kubeadm certs renew all) and restart it"
                    .into(),
            ),
            ServerCertProblem::NotYetValid => self.find(
                "tls-server-cert-not-yet-valid",
                Severity::Error,
                format!(
                    "the API server's certificate {leaf_subject} is not valid before {}",
                    leaf.map(|c| rfc3339(c.not_before())).unwrap_or_default()
                ),
                "check the clocks of the runner host and the control plane".into(),
            ),
            ServerCertProblem::Other(m) => self.find(
                "tls-server-cert-invalid",
                Severity::Error,
                format!("the API server's certificate was refused: {m}"),
                "check the API server's certificate".into(),
            ),
        }
    }

    fn online(&mut self, host: &str, cas: &[Certificate], credentials: Credentials) {
        if self
            .d
            .findings
            .iter()
            .any(|f| matches!(f.code, "bad-host" | "insecure-host"))
        {
            return;
        }
        let endpoint = match Endpoint::parse(host) {
            Ok(e) => e,
            Err(e) => {
                return self.find(
                    "bad-host",
                    Severity::Error,
                    e.to_string(),
                    "set host to https://HOST:PORT".into(),
                );
            }
        };
        if !endpoint.https {
            return self.find(
                "insecure-host",
                Severity::Error,
                format!("host {host} is plain http: credentials would travel in clear"),
                "use the API server's https:// URL".into(),
            );
        }
        let bearer = matches!(credentials, Credentials::BearerToken(_));
        let client = match ApiClient::new(endpoint, cas, credentials, self.timeout) {
            Ok(c) => c,
            Err(e) => {
                return self.find(
                    "client-setup",
                    Severity::Error,
                    e.to_string(),
                    "check cert_file and key_file".into(),
                );
            }
        };
        if let Some(proxy) = client.proxy() {
            let url = proxy.url.clone();
            self.pass(
                "proxy",
                format!("connecting through the proxy {url}, as the runner does (Go's HTTPS_PROXY/NO_PROXY rules)"),
            );
        }
        let version = match client.request("GET", "/version?timeout=32s", None) {
            Ok(r) => r,
            Err(e) => return self.transport(e, host, cas),
        };
        match version.status {
            401 if bearer => return self.find("bearer-token-rejected", Severity::Error, "the API server answered 401 Unauthorized: it does not accept the bearer token".into(), "issue a new token (runnerkey rbac --with-token-secret) and set bearer_token".into()),
            401 => return self.find(
                "client-cert-rejected",
                Severity::Error,
                "the API server answered 401 Unauthorized: it did not accept the client certificate; likely it is not signed by the cluster's client CA (kube-apiserver --client-ca-file, usually /etc/kubernetes/pki/ca.crt), or it has expired".into(),
                "issue the certificate from the cluster CA: runnerkey issue --ca-dir /etc/kubernetes/pki …".into(),
            ),
            200 => {
                let v = version.json()["gitVersion"].as_str().unwrap_or("?").to_string();
                self.pass("api-reachable", format!("TLS to {host} verified against {}; API server {v}", if cas.is_empty() { "the system store" } else { "ca_file" }));
                self.d.server_version = Some(v);
            }
            s => return self.find("api-error", Severity::Error, format!("GET /version answered HTTP {s}"), "check that host is the API server".into()),
        }
        self.who_am_i(&client);
        self.permissions(&client);
        self.deployer(&client);
        self.privileges(&client);
    }

    /// The over-privilege audit of the runner identity and the job pods'
    /// service account, with the bindings that make either cluster-admin.
    fn privileges(&mut self, client: &ApiClient) {
        let runner = audit(client, &Who::Myself);
        let ns = self.d.job_namespace.clone();
        let job_user = self.d.job_identity.clone();
        let job_groups = vec![
            "system:serviceaccounts".to_string(),
            format!("system:serviceaccounts:{ns}"),
            "system:authenticated".to_string(),
        ];
        let job = audit(
            client,
            &Who::Other {
                user: &job_user,
                groups: &job_groups,
            },
        );
        let me = self
            .d
            .authenticated_as
            .as_ref()
            .map(|u| (u.username.clone(), u.groups.clone()));
        let mut bindings = Vec::new();
        let mut listing_error = None;
        let wants_bindings = [&runner, &job].iter().any(|a| {
            matches!(
                a,
                PrivilegeAudit::Checked {
                    cluster_admin: true,
                    ..
                }
            )
        });
        if wants_bindings {
            let mut subjects = vec![(job_user.clone(), job_groups.clone())];
            if let Some(me) = me {
                subjects.insert(0, me);
            }
            for (user, groups) in subjects {
                match admin_bindings(client, &user, &groups) {
                    Ok(found) => {
                        for b in found {
                            if !bindings.contains(&b) {
                                bindings.push(b);
                            }
                        }
                    }
                    Err(e) => listing_error = Some(e),
                }
            }
        }
        let deletes: Vec<String> = bindings.iter().map(AdminBinding::delete_command).collect();
        let cleanup = if deletes.is_empty() {
            match &listing_error {
                Some(e) => format!("find the binding to cluster-admin ({e}) and delete it"),
                None => "find the binding to cluster-admin (kubectl get clusterrolebindings,rolebindings -A -o wide) and delete it".into(),
            }
        } else {
            deletes.join(" && ")
        };
        let who = self.d.presents.to_string();
        for (label, result, code, dangerous_code, profile) in [
            (
                "the runner identity",
                &runner,
                "runner-cluster-admin",
                "runner-dangerous-grants",
                "executor",
            ),
            (
                "the job pods' identity",
                &job,
                "job-cluster-admin",
                "job-dangerous-grants",
                "deployer",
            ),
        ] {
            let subject = if label.starts_with("the runner") {
                who.clone()
            } else {
                job_user.clone()
            };
            match result {
                PrivilegeAudit::Checked { cluster_admin: true, .. } => self.find(
                    code,
                    Severity::Error,
                    format!("{label} ({subject}) is cluster-admin-equivalent: it may do anything to every object of the cluster"),
                    format!("apply the {profile} profile's RBAC first, then remove the cluster-admin grant: {cleanup}"),
                ),
                PrivilegeAudit::Checked { dangerous_grants, .. } if !dangerous_grants.is_empty() => self.find(
                    dangerous_code,
                    Severity::Warning,
                    format!("{label} ({subject}) holds grants beyond the {profile} profile: {}", dangerous_grants.join(", ")),
                    "remove the bindings that give them; the profile needs none of them".into(),
                ),
                PrivilegeAudit::Checked { .. } => self.pass(
                    code,
                    format!("{label} is not cluster-admin and holds no dangerous grant beyond the {profile} profile"),
                ),
                PrivilegeAudit::CouldNotCheck { reason } => self.find(
                    "privileges-unchecked",
                    Severity::Warning,
                    format!("could not check whether {label} is over-privileged: {reason}"),
                    "nothing is known either way; check the bindings with an admin's kubectl".into(),
                ),
            }
        }
        self.d.admin_bindings = bindings;
        self.d.runner_privileges = Some(runner);
        self.d.job_privileges = Some(job);
    }

    fn who_am_i(&mut self, client: &ApiClient) {
        for version in ["v1", "v1beta1"] {
            let body = json!({"apiVersion": format!("authentication.k8s.io/{version}"), "kind": "SelfSubjectReview"});
            let path = format!("/apis/authentication.k8s.io/{version}/selfsubjectreviews");
            match client.request("POST", &path, Some(&body)) {
                Ok(r) if r.status == 200 || r.status == 201 => {
                    let info = &r.json()["status"]["userInfo"];
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
                        "authenticated",
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
                            "identity-differs",
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
                        "self-subject-review",
                        Severity::Warning,
                        format!("SelfSubjectReview answered HTTP {}", r.status),
                        "nothing to do unless other checks fail".into(),
                    );
                }
                Err(e) => {
                    return self.find(
                        "self-subject-review",
                        Severity::Warning,
                        format!("SelfSubjectReview failed: {}", e.detail()),
                        "retry".into(),
                    );
                }
            }
        }
        self.d.checks.push(Check {
            code: "self-subject-review",
            ok: true,
            message: "SelfSubjectReview is not served (Kubernetes before 1.27): identity not confirmed by the server".into(),
        });
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
                    return self.find(
                        "access-review",
                        Severity::Warning,
                        format!("could not check the executor's permissions: {reason}"),
                        "nothing is known either way; retry, or check with an admin's kubectl auth can-i".into(),
                    );
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
                "executor-permissions",
                format!("all {total} permissions the executor needs are granted in namespace {ns}"),
            );
        } else {
            let who = match &self.d.presents {
                Presented::ClientCertificate { user, .. } => format!("--user {user}"),
                _ => "--service-account NS/NAME".into(),
            };
            self.find(
                "permission-denied",
                Severity::Error,
                format!(
                    "{} of {total} permissions the executor needs are denied in namespace {ns}: {}",
                    denied.len(),
                    denied.join(", ")
                ),
                format!(
                    "runnerkey rbac {who} --profile executor --namespace {ns} | kubectl apply -f -"
                ),
            );
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
                    return self.find(
                        "job-permissions-unchecked",
                        Severity::Warning,
                        format!("could not check what the job pods' identity {user} may do: {reason}"),
                        "nothing is known either way; check with an admin's kubectl auth can-i --as".into(),
                    );
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
                "job-permissions-missing",
                Severity::Warning,
                format!("the job pods' identity {user} lacks {denied} of the deployer profile's {} permissions: deploy jobs will be refused", self.d.deployer_permissions.len()),
                format!("runnerkey rbac --service-account {ns}/{sa} --profile deployer | kubectl apply -f -"),
            );
        }
    }
}

fn load_certs(path: Option<&str>) -> Option<Vec<Certificate>> {
    Certificate::load_all(Path::new(path?)).ok()
}

fn diagnose_runner(
    r: &RunnerInfo,
    findings: Vec<Finding>,
    options: &DoctorOptions,
    now: OffsetDateTime,
) -> RunnerDiagnosis {
    let empty = KubernetesSettings::default();
    let k = r.kubernetes.as_ref().unwrap_or(&empty);
    let label = r.name.clone().unwrap_or_else(|| format!("#{}", r.index));
    let chain = load_certs(nonempty(&k.cert_file)).filter(|c| !c.is_empty());
    let cert = chain.as_ref().and_then(|c| c.first().cloned());
    let cas = load_certs(nonempty(&k.ca_file)).unwrap_or_default();
    let presents = match (
        nonempty(&k.host),
        nonempty(&k.cert_file),
        &cert,
        nonempty(&k.bearer_token),
    ) {
        (None, _, _, _) => Presented::InCluster,
        (_, Some(_), Some(c), _) => {
            let id = c.identity();
            Presented::ClientCertificate {
                user: id.user,
                groups: id.groups,
            }
        }
        (_, Some(_), None, _) => Presented::UnreadableCertificate,
        (_, None, _, Some(_)) => Presented::BearerToken,
        _ => Presented::Anonymous,
    };
    let job_namespace = nonempty(&k.namespace).unwrap_or("default").to_string();
    let job_service_account = nonempty(&k.service_account)
        .unwrap_or("default")
        .to_string();
    let mut certificates = Vec::new();
    for (role, certs) in [
        ("cert_file", cert.iter().cloned().collect::<Vec<_>>()),
        ("ca_file", cas.clone()),
    ] {
        let path = if role == "cert_file" {
            k.cert_file.clone()
        } else {
            k.ca_file.clone()
        }
        .unwrap_or_default();
        for c in certs {
            certificates.push(CertStatus {
                role,
                path: path.clone(),
                subject: c.subject(),
                not_after: rfc3339(c.not_after()),
                days_left: c.days_left(now),
            });
        }
    }
    let mut ctx = Ctx {
        d: RunnerDiagnosis {
            runner: label,
            index: r.index,
            host: k.host.as_deref().map(crate::url::without_userinfo),
            presents,
            job_identity: format!("system:serviceaccount:{job_namespace}:{job_service_account}"),
            job_namespace,
            job_service_account,
            certificates,
            online: false,
            server_version: None,
            authenticated_as: None,
            checks: Vec::new(),
            permissions: Vec::new(),
            deployer_permissions: Vec::new(),
            deployer_note: None,
            runner_privileges: None,
            job_privileges: None,
            admin_bindings: Vec::new(),
            findings,
        },
        k,
        timeout: options.timeout,
    };
    let offline_errors = ctx
        .d
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if offline_errors == 0 {
        ctx.pass(
            "config",
            "the runner's kubernetes settings and files are consistent".into(),
        );
    }
    if options.online {
        match nonempty(&ctx.k.host).map(str::to_string) {
            None => ctx.pass("online-skipped", "host is empty: the runner uses in-cluster credentials; run doctor inside the cluster to check them".into()),
            Some(host) => {
                ctx.d.online = true;
                let credentials = match (&cert, nonempty(&ctx.k.key_file), nonempty(&ctx.k.bearer_token)) {
                    (Some(c), Some(key), _) => match PrivateKey::load(Path::new(key), None) {
                        Ok(key) => Credentials::ClientCertificate(
                            chain.clone().unwrap_or_else(|| vec![c.clone()]),
                            Box::new(key),
                        ),
                        Err(_) => Credentials::Anonymous,
                    },
                    (_, _, Some(t)) => Credentials::BearerToken(t.to_string()),
                    _ => Credentials::Anonymous,
                };
                ctx.online(&host, &cas, credentials);
            }
        }
    }
    ctx.d
}

/// Diagnoses the runners of `config` (see [`DoctorOptions`]).
pub fn diagnose(config: &RunnerConfig, options: &DoctorOptions) -> Result<DoctorReport> {
    let now = options.now.unwrap_or_else(OffsetDateTime::now_utc);
    let runners = config.runners()?;
    let selected: BTreeSet<usize> = match &options.runner {
        Some(s) => BTreeSet::from([config.select(s)?]),
        None => runners
            .iter()
            .filter(|r| r.executor.as_deref() == Some("kubernetes") || r.kubernetes.is_some())
            .map(|r| r.index)
            .collect(),
    };
    let mut report = DoctorReport {
        findings: Vec::new(),
        runners: Vec::new(),
    };
    // One runner asked for: lint only it (plus file-wide findings), so the
    // cost does not grow with the other runners.
    let all = config.lint(&LintOptions {
        runner: options.runner.clone(),
        now: Some(now),
    })?;
    let (file_wide, per_runner): (Vec<Finding>, Vec<Finding>) =
        all.into_iter().partition(|f| f.runner.is_none());
    report.findings = file_wide;
    for r in runners.iter().filter(|r| selected.contains(&r.index)) {
        let label = r.name.clone().unwrap_or_else(|| format!("#{}", r.index));
        let mine = per_runner
            .iter()
            .filter(|f| f.runner.as_deref() == Some(label.as_str()))
            .cloned()
            .collect();
        report.runners.push(diagnose_runner(r, mine, options, now));
    }
    Ok(report)
}
