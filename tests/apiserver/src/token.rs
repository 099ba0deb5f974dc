//! ServiceAccounts and their TokenRequests, as kube-apiserver serves them:
//! `GET`/`POST /api/v1/namespaces/NS/serviceaccounts[/NAME]` and
//! `POST …/serviceaccounts/NAME/token` (RBAC: create on
//! `serviceaccounts/token` in NS; `expirationSeconds` at least 600, capped
//! by `--service-account-max-token-expiration SECS`, default 3600). The
//! token is JWT-shaped like kube-apiserver's (header, claims with `sub`,
//! `iat`, `exp` and the `kubernetes.io` claim, a signature); it
//! authenticates as `system:serviceaccount:NS:NAME` with the groups
//! `system:serviceaccounts`, `system:serviceaccounts:NS` until `exp`, and
//! no longer once its service account is deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::rbac::{Attributes, Rbac, UserInfo};
use crate::status;

/// Service accounts and the tokens issued for them.
pub struct Tokens {
    accounts: Mutex<BTreeSet<(String, String)>>,
    issued: Mutex<BTreeMap<String, (String, String, i64)>>,
    max_expiration: u64,
    next: AtomicU64,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Tokens {
    /// `accounts` as `NS/NAME`; tokens last at most `max_expiration` seconds.
    pub fn new(accounts: &[String], max_expiration: u64) -> Self {
        Self {
            accounts: Mutex::new(
                accounts
                    .iter()
                    .filter_map(|a| a.split_once('/'))
                    .map(|(n, s)| (n.to_string(), s.to_string()))
                    .collect(),
            ),
            issued: Mutex::new(BTreeMap::new()),
            max_expiration,
            next: AtomicU64::new(1),
        }
    }

    /// The service account a token stands for, while it is valid.
    pub fn authenticate(&self, token: &str) -> Option<UserInfo> {
        let issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        let (ns, name, exp) = issued.get(token)?;
        let accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if now() >= *exp || !accounts.contains(&(ns.clone(), name.clone())) {
            return None;
        }
        Some(UserInfo {
            username: format!("system:serviceaccount:{ns}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{ns}"),
                "system:authenticated".into(),
            ],
        })
    }

    /// Answers a request under `/api/v1/namespaces/NS/serviceaccounts`;
    /// `None` for any other path.
    pub fn handle(
        &self,
        rbac: &Rbac,
        user: &UserInfo,
        method: &str,
        path: &str,
        req: &Value,
    ) -> Option<(u16, Value)> {
        let rest = path.strip_prefix("/api/v1/namespaces/")?;
        let mut parts = rest.split('/');
        let ns = parts.next()?.to_string();
        let Some(kind) = parts.next() else {
            // This server keeps no namespaces: every one exists.
            return (method == "GET").then(|| {
                (
                    200,
                    json!({"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": ns}, "status": {"phase": "Active"}}),
                )
            });
        };
        if kind != "serviceaccounts" {
            return None;
        }
        let name = parts.next().unwrap_or("").to_string();
        let sub = parts.next().unwrap_or("");
        let may = |verb: &str, subresource: &str| {
            rbac.allows(
                user,
                &Attributes {
                    namespace: ns.clone(),
                    verb: verb.into(),
                    group: String::new(),
                    resource: "serviceaccounts".into(),
                    subresource: subresource.into(),
                },
            )
        };
        let forbidden = |verb: &str, what: &str| {
            status(
                403,
                "Forbidden",
                &format!(
                    "{what} is forbidden: User \"{}\" cannot {verb} resource \"{what}\" in API group \"\" in the namespace \"{ns}\"",
                    user.username
                ),
            )
        };
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let exists = accounts.contains(&(ns.clone(), name.clone()));
        let not_found = || {
            status(
                404,
                "NotFound",
                &format!("serviceaccounts \"{name}\" not found"),
            )
        };
        let account = |name: &str| {
            json!({"kind": "ServiceAccount", "apiVersion": "v1",
                   "metadata": {"name": name, "namespace": ns}})
        };
        Some(match (method, name.is_empty(), sub) {
            ("GET", false, "") => {
                if !may("get", "") {
                    return Some(forbidden("get", "serviceaccounts"));
                }
                if exists {
                    (200, account(&name))
                } else {
                    not_found()
                }
            }
            ("POST", true, "") => {
                if !may("create", "") {
                    return Some(forbidden("create", "serviceaccounts"));
                }
                let Some(new) = req["metadata"]["name"].as_str().filter(|n| !n.is_empty()) else {
                    return Some(status(422, "Invalid", "metadata.name: Required value"));
                };
                if !accounts.insert((ns.clone(), new.to_string())) {
                    return Some(status(
                        409,
                        "AlreadyExists",
                        &format!("serviceaccounts \"{new}\" already exists"),
                    ));
                }
                (201, account(new))
            }
            ("DELETE", false, "") => {
                if !may("delete", "") {
                    return Some(forbidden("delete", "serviceaccounts"));
                }
                if accounts.remove(&(ns.clone(), name.clone())) {
                    (200, account(&name))
                } else {
                    not_found()
                }
            }
            ("POST", false, "token") => {
                if !may("create", "token") {
                    return Some(forbidden("create", "serviceaccounts/token"));
                }
                if !exists {
                    return Some(not_found());
                }
                let asked = req["spec"]["expirationSeconds"].as_u64().unwrap_or(3600);
                if asked < 600 {
                    return Some(status(
                        422,
                        "Invalid",
                        "spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes",
                    ));
                }
                let seconds = asked.min(self.max_expiration) as i64;
                let (iat, n) = (now(), self.next.fetch_add(1, Ordering::Relaxed));
                let exp = iat + seconds;
                let header = json!({"alg": "RS256", "kid": "runnerkey-test"});
                let claims = json!({
                    "aud": ["https://kubernetes.default.svc.cluster.local"],
                    "exp": exp, "iat": iat, "nbf": iat,
                    "iss": "https://kubernetes.default.svc.cluster.local",
                    "jti": format!("{n:08x}"),
                    "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": format!("{n:08x}")}},
                    "sub": format!("system:serviceaccount:{ns}:{name}"),
                });
                let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
                let token = format!(
                    "{}.{}.{}",
                    part(&header),
                    part(&claims),
                    URL_SAFE_NO_PAD.encode(format!("signature-{n}-{iat}"))
                );
                self.issued
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(token.clone(), (ns.clone(), name.clone(), exp));
                let expires = time::OffsetDateTime::from_unix_timestamp(exp)
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default();
                (
                    201,
                    json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                           "metadata": {"name": name, "namespace": ns},
                           "spec": {"audiences": ["https://kubernetes.default.svc.cluster.local"], "expirationSeconds": seconds},
                           "status": {"token": token, "expirationTimestamp": expires}}),
                )
            }
            _ => status(405, "MethodNotAllowed", "not supported by the test server"),
        })
    }
}
