//! `certificates.k8s.io/v1` CertificateSigningRequests, as kube-apiserver
//! and kube-controller-manager's signer handle them for
//! `kubernetes.io/kube-apiserver-client`: create (the requester's user and
//! groups recorded in the spec), get, approve through the `approval`
//! subresource (RBAC: update on certificatesigningrequests/approval, approve
//! on signers), issue once approved (with `--signing-ca-cert/--signing-ca-key`,
//! lifetime from expirationSeconds, at least 10 minutes), delete. Never
//! auto-approved.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::rbac::{Attributes, Rbac, UserInfo};
use crate::status;

const PATH: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

/// The stored requests and the signer.
pub struct Store {
    objects: Mutex<BTreeMap<String, Value>>,
    next: AtomicU64,
    signer: Option<runnerkey::CertificateAuthority>,
}

fn may(rbac: &Rbac, user: &UserInfo, verb: &str, resource: &str, subresource: &str) -> bool {
    rbac.allows(
        user,
        &Attributes {
            namespace: String::new(),
            verb: verb.into(),
            group: "certificates.k8s.io".into(),
            resource: resource.into(),
            subresource: subresource.into(),
        },
    )
}

fn forbidden(user: &UserInfo, verb: &str, what: &str) -> (u16, Value) {
    status(
        403,
        "Forbidden",
        &format!(
            "{what} is forbidden: User \"{}\" cannot {verb} it",
            user.username
        ),
    )
}

impl Store {
    /// A store signing with `signer` (none: requests are never issued).
    pub fn new(signer: Option<runnerkey::CertificateAuthority>) -> Self {
        Self {
            objects: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(1),
            signer,
        }
    }

    /// Answers a request under the CSR path; `None` for any other path.
    pub fn handle(
        &self,
        rbac: &Rbac,
        user: &UserInfo,
        method: &str,
        path: &str,
        req: &Value,
    ) -> Option<(u16, Value)> {
        let rest = path.strip_prefix(PATH)?;
        let mut parts = rest.trim_start_matches('/').splitn(2, '/');
        let name = parts.next().unwrap_or("").to_string();
        let sub = parts.next().unwrap_or("");
        let what = format!("certificatesigningrequests.certificates.k8s.io \"{name}\"");
        let mut objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        Some(match (method, name.is_empty(), sub) {
            ("POST", true, "") => {
                if !may(rbac, user, "create", "certificatesigningrequests", "") {
                    return Some(forbidden(user, "create", "certificatesigningrequests"));
                }
                let mut obj = req.clone();
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                let name = match obj["metadata"]["name"].as_str() {
                    Some(n) if !n.is_empty() => n.to_string(),
                    _ => match obj["metadata"]["generateName"].as_str() {
                        Some(p) => format!("{p}{n:05x}"),
                        None => {
                            return Some(status(
                                422,
                                "Invalid",
                                "name or generateName is required",
                            ));
                        }
                    },
                };
                if objects.contains_key(&name) {
                    return Some(status(
                        409,
                        "AlreadyExists",
                        &format!("{what} already exists"),
                    ));
                }
                obj["metadata"]["name"] = json!(name);
                obj["metadata"]["uid"] = json!(format!("00000000-0000-0000-0000-{n:012x}"));
                obj["spec"]["username"] = json!(user.username);
                obj["spec"]["groups"] = json!(user.groups);
                obj["status"] = json!({});
                objects.insert(name, obj.clone());
                (201, obj)
            }
            ("GET", false, "") => {
                if !may(rbac, user, "get", "certificatesigningrequests", "") {
                    return Some(forbidden(user, "get", &what));
                }
                match objects.get(&name) {
                    Some(o) => (200, o.clone()),
                    None => status(404, "NotFound", &format!("{what} not found")),
                }
            }
            ("DELETE", false, "") => {
                if !may(rbac, user, "delete", "certificatesigningrequests", "") {
                    return Some(forbidden(user, "delete", &what));
                }
                match objects.remove(&name) {
                    Some(_) => (
                        200,
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
                    ),
                    None => status(404, "NotFound", &format!("{what} not found")),
                }
            }
            ("PUT", false, "approval") => {
                if !may(
                    rbac,
                    user,
                    "update",
                    "certificatesigningrequests",
                    "approval",
                ) || !may(rbac, user, "approve", "signers", "")
                {
                    return Some(forbidden(user, "approve", &what));
                }
                let Some(obj) = objects.get_mut(&name) else {
                    return Some(status(404, "NotFound", &format!("{what} not found")));
                };
                obj["status"]["conditions"] = req["status"]["conditions"].clone();
                let approved = obj["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Approved"));
                if approved && let Some(signer) = &self.signer {
                    match sign(signer, obj) {
                        Ok(pem) => obj["status"]["certificate"] = json!(STANDARD.encode(pem)),
                        Err(e) => {
                            let failed = json!({"type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": e});
                            if let Some(c) = obj["status"]["conditions"].as_array_mut() {
                                c.push(failed);
                            }
                        }
                    }
                }
                (200, obj.clone())
            }
            _ => status(405, "MethodNotAllowed", "not supported by the test server"),
        })
    }
}

/// What kube-controller-manager's kube-apiserver-client signer issues.
fn sign(signer: &runnerkey::CertificateAuthority, obj: &Value) -> Result<String, String> {
    let pem = STANDARD
        .decode(obj["spec"]["request"].as_str().unwrap_or(""))
        .map_err(|e| e.to_string())?;
    let csr = runnerkey::CertificateRequest::from_pem(&pem).map_err(|e| e.chain())?;
    let secs = obj["spec"]["expirationSeconds"]
        .as_u64()
        .unwrap_or(365 * 86_400)
        .max(600);
    let mut params = runnerkey::IssueParams::default();
    params.lifetime = runnerkey::Lifetime::from_duration(std::time::Duration::from_secs(secs));
    signer
        .sign(&csr, &params)
        .map(|i| i.certificate.to_pem())
        .map_err(|e| e.chain())
}
