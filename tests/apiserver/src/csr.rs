//! `certificates.k8s.io/v1` CertificateSigningRequests, as kube-apiserver
//! and kube-controller-manager's signer handle them for
//! `kubernetes.io/kube-apiserver-client`: create (the requester's user and
//! groups recorded in the spec), get, approve through the `approval`
//! subresource (RBAC: update on certificatesigningrequests/approval, approve
//! on signers), issue once approved (with `--signing-ca-cert/--signing-ca-key`,
//! lifetime from expirationSeconds, at least 10 minutes and at most
//! `--cluster-signing-duration`), delete, list and watch
//! (`?watch=true&fieldSelector=metadata.name=N`: newline-delimited
//! ADDED/MODIFIED/DELETED events, chunked, until `timeoutSeconds`). Never
//! auto-approved. Every change bumps the object's resourceVersion.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    version: AtomicU64,
    signer: Option<runnerkey::CertificateAuthority>,
    max_duration: Option<u64>,
    watch: bool,
    /// Hostile: every certificate lasts exactly this long, whatever was asked.
    forced_duration: Option<u64>,
    /// Hostile: watches never end and repeat the object every 100 ms.
    endless_watch: bool,
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
            version: AtomicU64::new(1),
            signer,
            max_duration: None,
            watch: true,
            forced_duration: None,
            endless_watch: false,
        }
    }

    /// Hostile signer: certificates last `seconds`, whatever was asked
    /// (`--signer-duration SECS`).
    pub fn with_forced_duration(mut self, seconds: Option<u64>) -> Self {
        self.forced_duration = seconds;
        self
    }

    /// Hostile watches: never ended by `timeoutSeconds`, and a MODIFIED
    /// event with the unchanged (pending) object every 100 ms
    /// (`--endless-watch`).
    pub fn with_endless_watch(mut self, endless: bool) -> Self {
        self.endless_watch = endless;
        self
    }

    /// Issued certificates last at most `seconds` (kube-controller-manager's
    /// `--cluster-signing-duration`).
    pub fn with_max_duration(mut self, seconds: Option<u64>) -> Self {
        self.max_duration = seconds;
        self
    }

    /// Whether watches are served (else 405, for the polling fallback).
    pub fn with_watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    fn bump(&self, obj: &mut Value) {
        let v = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        obj["metadata"]["resourceVersion"] = json!(v.to_string());
    }

    fn matching(&self, name: Option<&str>) -> BTreeMap<String, Value> {
        let objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        objects
            .iter()
            .filter(|(n, _)| name.is_none_or(|want| want == n.as_str()))
            .map(|(n, o)| (n.clone(), o.clone()))
            .collect()
    }

    /// Serves `GET …/certificatesigningrequests?watch=true…` on `out`:
    /// `false` (nothing written) for any other request. The connection is
    /// to be closed afterwards.
    pub fn watch(&self, rbac: &Rbac, user: &UserInfo, path: &str, out: &mut impl Write) -> bool {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let param = |k: &str| {
            query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.replace("%3D", "=").replace("%3d", "="))
        };
        if path != PATH || !matches!(param("watch").as_deref(), Some("true" | "1")) {
            return false;
        }
        let answer = |out: &mut dyn Write, code: u16, body: Value| {
            let text = body.to_string();
            let _ = write!(
                out,
                "HTTP/1.1 {code} Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = out.flush();
        };
        if !self.watch {
            let (code, body) = status(405, "MethodNotAllowed", "watch is off in this test server");
            answer(out, code, body);
            return true;
        }
        if !may(rbac, user, "watch", "certificatesigningrequests", "") {
            let (code, body) = forbidden(user, "watch", "certificatesigningrequests");
            answer(out, code, body);
            return true;
        }
        let name = param("fieldSelector")
            .and_then(|s| s.strip_prefix("metadata.name=").map(str::to_string));
        let since: u64 = param("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let until = Instant::now()
            + Duration::from_secs(if self.endless_watch {
                // Still bounded: a test server stops by itself.
                600
            } else {
                param("timeoutSeconds")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1800u64)
                    .min(1800)
            });
        if out
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            .and_then(|()| out.flush())
            .is_err()
        {
            return true;
        }
        let version = |o: &Value| -> u64 {
            o["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let mut seen: BTreeMap<String, Value> = BTreeMap::new();
        let mut first = true;
        while Instant::now() < until {
            let now = self.matching(name.as_deref());
            let mut events = Vec::new();
            for (n, o) in &now {
                let known = seen.get(n).map(version);
                let changed = match known {
                    None if first => since == 0 || version(o) > since,
                    None => true,
                    Some(v) => version(o) > v,
                };
                if changed {
                    let kind = if known.is_none() && (since == 0 || !first) {
                        "ADDED"
                    } else {
                        "MODIFIED"
                    };
                    events.push(json!({"type": kind, "object": o}));
                }
            }
            for (n, o) in &seen {
                if !now.contains_key(n) {
                    events.push(json!({"type": "DELETED", "object": o}));
                }
            }
            first = false;
            if self.endless_watch && events.is_empty() {
                events.extend(
                    now.values()
                        .map(|o| json!({"type": "MODIFIED", "object": o})),
                );
                std::thread::sleep(Duration::from_millis(80));
            }
            seen = now;
            for e in events {
                let line = format!("{e}\n");
                if write!(out, "{:x}\r\n{line}\r\n", line.len())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = out.write_all(b"0\r\n\r\n");
        let _ = out.flush();
        true
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
                        &format!(
                            "certificatesigningrequests.certificates.k8s.io \"{name}\" already exists"
                        ),
                    ));
                }
                obj["metadata"]["name"] = json!(name);
                obj["metadata"]["uid"] = json!(format!("00000000-0000-0000-0000-{n:012x}"));
                obj["spec"]["username"] = json!(user.username);
                obj["spec"]["groups"] = json!(user.groups);
                obj["status"] = json!({});
                self.bump(&mut obj);
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
                    match sign(signer, obj, self.max_duration, self.forced_duration) {
                        Ok(pem) => obj["status"]["certificate"] = json!(STANDARD.encode(pem)),
                        Err(e) => {
                            let failed = json!({"type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": e});
                            if let Some(c) = obj["status"]["conditions"].as_array_mut() {
                                c.push(failed);
                            }
                        }
                    }
                }
                self.bump(obj);
                (200, obj.clone())
            }
            ("GET", true, "") => {
                if !may(rbac, user, "list", "certificatesigningrequests", "") {
                    return Some(forbidden(user, "list", "certificatesigningrequests"));
                }
                let items: Vec<Value> = objects.values().cloned().collect();
                (
                    200,
                    json!({"kind": "CertificateSigningRequestList", "apiVersion": "certificates.k8s.io/v1",
                           "metadata": {"resourceVersion": self.version.load(Ordering::Relaxed).to_string()},
                           "items": items}),
                )
            }
            _ => status(405, "MethodNotAllowed", "not supported by the test server"),
        })
    }
}

/// What kube-controller-manager's kube-apiserver-client signer issues.
fn sign(
    signer: &runnerkey::CertificateAuthority,
    obj: &Value,
    max: Option<u64>,
    forced: Option<u64>,
) -> Result<String, String> {
    let pem = STANDARD
        .decode(obj["spec"]["request"].as_str().unwrap_or(""))
        .map_err(|e| e.to_string())?;
    // As kube-controller-manager reads it: the first block Go's
    // encoding/pem finds (runnerkey's port of it), whatever surrounds it.
    let block = match runnerkey::PemBlock::decode(&pem).0 {
        Some(b) if b.label() == "CERTIFICATE REQUEST" => b,
        _ => return Err("spec.request holds no CERTIFICATE REQUEST block first".into()),
    };
    let csr = runnerkey::CertificateRequest::from_der(block.contents()).map_err(|e| e.chain())?;
    let secs = obj["spec"]["expirationSeconds"]
        .as_u64()
        .unwrap_or(365 * 86_400)
        .max(600)
        .min(max.unwrap_or(u64::MAX));
    let secs = forced.unwrap_or(secs);
    let mut params = runnerkey::IssueParams::default();
    params.lifetime = runnerkey::Lifetime::from_duration(std::time::Duration::from_secs(secs));
    signer
        .sign(&csr, &params)
        .map(|i| i.certificate.to_pem())
        .map_err(|e| e.chain())
}
