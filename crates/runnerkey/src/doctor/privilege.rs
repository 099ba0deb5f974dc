//! The over-privilege audit of `doctor --online`: is the runner identity,
//! or the job pods' service account, cluster-admin-equivalent; which
//! dangerous grants beyond the profile does it hold; and which bindings
//! give it cluster-admin, so they can be named and deleted.

use serde::Serialize;

pub use crate::next_step::{AdminBinding, BindingKind};
use serde_json::{Value, json};

use crate::api_client::ApiClient;

/// Grants that let an identity take over the cluster or read every secret,
/// none of which runnerkey's profiles include (all at cluster scope).
const DANGEROUS: &[(&str, &str, &str, &str)] = &[
    ("read secrets in every namespace", "", "secrets", "list"),
    (
        "create ClusterRoleBindings",
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "create",
    ),
    (
        "create RoleBindings in every namespace",
        "rbac.authorization.k8s.io",
        "rolebindings",
        "create",
    ),
    (
        "bind any ClusterRole",
        "rbac.authorization.k8s.io",
        "clusterroles",
        "bind",
    ),
    (
        "escalate ClusterRoles",
        "rbac.authorization.k8s.io",
        "clusterroles",
        "escalate",
    ),
    (
        "escalate Roles in every namespace",
        "rbac.authorization.k8s.io",
        "roles",
        "escalate",
    ),
    ("impersonate users", "", "users", "impersonate"),
    ("impersonate groups", "", "groups", "impersonate"),
    (
        "impersonate service accounts",
        "",
        "serviceaccounts",
        "impersonate",
    ),
    (
        "approve CertificateSigningRequests",
        "certificates.k8s.io",
        "certificatesigningrequests/approval",
        "update",
    ),
    (
        "proxy to every kubelet (nodes/proxy)",
        "",
        "nodes/proxy",
        "get",
    ),
];

/// Whom to ask about.
pub(super) enum Who<'a> {
    /// The identity the client authenticates as (SelfSubjectAccessReview).
    Myself,
    /// Another user (SubjectAccessReview).
    Other {
        /// User name.
        user: &'a str,
        /// Groups.
        groups: &'a [String],
    },
}

/// What the audit found for one identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PrivilegeAudit {
    /// Answered.
    Checked {
        /// May do everything everywhere (`*` on `*.*` at cluster scope).
        cluster_admin: bool,
        /// Dangerous grants it holds beyond its profile.
        dangerous_grants: Vec<String>,
    },
    /// The API server did not answer the question (forbidden, not served,
    /// server error, timeout): nothing is known, nothing is denied.
    CouldNotCheck {
        /// Why.
        reason: String,
        /// The API server refused the question (HTTP 403): the asking
        /// identity may not review others (profile `auditor` allows it).
        forbidden: bool,
    },
}

/// One access review: `Ok(allowed)`, or why there is no answer.
pub(super) fn review(
    client: &ApiClient,
    who: &Who<'_>,
    namespace: &str,
    group: &str,
    resource: &str,
    verb: &str,
) -> Result<bool, String> {
    let (resource, sub) = resource.split_once('/').unwrap_or((resource, ""));
    let attributes = json!({"namespace": namespace, "verb": verb, "group": group, "resource": resource, "subresource": sub});
    let (path, body) = match who {
        Who::Myself => (
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                   "spec": {"resourceAttributes": attributes}}),
        ),
        Who::Other { user, groups } => (
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                   "spec": {"user": user, "groups": groups, "resourceAttributes": attributes}}),
        ),
    };
    let kind = body["kind"].as_str().unwrap_or_default().to_string();
    let r = client
        .request("POST", path, Some(&body))
        .map_err(|e| format!("{kind} failed: {}", e.detail()))?;
    let answer = match r.status {
        200 | 201 => r
            .json(&format!("a {kind}"))
            .map_err(|e| format!("{kind} failed: {e}")),
        _ => Ok(Value::Null),
    };
    review_answer(&kind, r.status, answer)
}

/// What an access review's answer (`status`, and the body when it is 200
/// or 201) says: `Ok(allowed)`, or why there is no answer.
pub(super) fn review_answer(
    kind: &str,
    status: u16,
    body: Result<Value, String>,
) -> Result<bool, String> {
    match status {
        200 | 201 => body?["status"]["allowed"]
            .as_bool()
            .ok_or_else(|| format!("{kind} answered without status.allowed")),
        403 => Err(format!("{kind} is forbidden for this identity (HTTP 403)")),
        404 => Err(format!("{kind} is not served (HTTP 404)")),
        s => Err(format!("{kind} answered HTTP {s}")),
    }
}

/// An unanswered review as an audit outcome.
pub(super) fn could_not_check(reason: String) -> PrivilegeAudit {
    PrivilegeAudit::CouldNotCheck {
        forbidden: reason.contains("(HTTP 403)"),
        reason,
    }
}

/// Is `who` cluster-admin-equivalent, and which dangerous grants does it
/// hold?
pub(super) fn audit(client: &ApiClient, who: &Who<'_>) -> PrivilegeAudit {
    let cluster_admin = match review(client, who, "", "*", "*", "*") {
        Ok(a) => a,
        Err(reason) => return could_not_check(reason),
    };
    let mut dangerous_grants = Vec::new();
    if !cluster_admin {
        for (label, group, resource, verb) in DANGEROUS {
            match review(client, who, "", group, resource, verb) {
                Ok(true) => dangerous_grants.push((*label).to_string()),
                Ok(false) => {}
                Err(reason) => return could_not_check(reason),
            }
        }
    }
    PrivilegeAudit::Checked {
        cluster_admin,
        dangerous_grants,
    }
}

/// A binding subject, as RBAC matches it.
pub(super) fn subject_is(subject: &Value, user: &str, groups: &[String]) -> bool {
    let name = subject["name"].as_str().unwrap_or("");
    match subject["kind"].as_str() {
        Some("User") => name == user,
        Some("Group") => groups.iter().any(|g| g == name),
        Some("ServiceAccount") => {
            let ns = subject["namespace"].as_str().unwrap_or("");
            user == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

/// The ClusterRoles that grant everything (`*` verbs on `*` resources in
/// `*` groups): cluster-admin, and any other found in a ClusterRoleList.
pub(super) fn admin_roles(cluster_roles: Option<&Value>) -> Vec<String> {
    let mut names = vec!["cluster-admin".to_string()];
    let has = |v: &Value, what: &str| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(what)))
    };
    for role in cluster_roles
        .and_then(|l| l["items"].as_array())
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let everything = role["rules"].as_array().is_some_and(|rules| {
            rules.iter().any(|r| {
                has(&r["verbs"], "*") && has(&r["resources"], "*") && has(&r["apiGroups"], "*")
            })
        });
        let name = role["metadata"]["name"].as_str().unwrap_or("");
        if everything && !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// The bindings of a `kind` list (`ClusterRoleBinding` or `RoleBinding`)
/// that bind one of `admin_roles` (ClusterRoles) to `user` (with
/// `groups`).
pub(super) fn bindings_granting(
    kind: BindingKind,
    list: &Value,
    admin_roles: &[String],
    user: &str,
    groups: &[String],
) -> Vec<AdminBinding> {
    let mut out = Vec::new();
    for b in list["items"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let admin = b["roleRef"]["kind"] == "ClusterRole"
            && admin_roles
                .iter()
                .any(|r| b["roleRef"]["name"].as_str() == Some(r));
        let bound = b["subjects"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| subject_is(s, user, groups)));
        if admin && bound {
            out.push(AdminBinding {
                kind,
                namespace: b["metadata"]["namespace"].as_str().map(String::from),
                name: b["metadata"]["name"].as_str().unwrap_or("").to_string(),
            });
        }
    }
    out
}

/// The bindings lists the audit reads: ClusterRoleBindings, RoleBindings
/// (both needed; profile `auditor` may read them) and, when this identity
/// may, ClusterRoles (to recognise roles other than cluster-admin that
/// grant everything).
pub(super) struct BindingLists {
    lists: Vec<(BindingKind, Value)>,
    admin_roles: Vec<String>,
}

impl BindingLists {
    /// Reads them, or says why they could not be read.
    pub(super) fn fetch(client: &ApiClient) -> Result<Self, String> {
        let get = |path: &str, what: &str| -> Result<Value, String> {
            let r = client.request("GET", path, None).map_err(|e| e.detail())?;
            if r.status != 200 {
                return Err(format!("listing {what}s answered HTTP {}", r.status));
            }
            r.json(&format!("a {what}List"))
                .map_err(|e| format!("listing {what}s: {e}"))
        };
        let mut lists = Vec::new();
        for (kind, path) in [
            (
                BindingKind::ClusterRoleBinding,
                "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            ),
            (
                BindingKind::RoleBinding,
                "/apis/rbac.authorization.k8s.io/v1/rolebindings",
            ),
        ] {
            lists.push((kind, get(path, kind.as_str())?));
        }
        let roles = get(
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            "ClusterRole",
        )
        .ok();
        Ok(Self {
            lists,
            admin_roles: admin_roles(roles.as_ref()),
        })
    }

    /// The bindings that make `user` (with `groups`) cluster-admin.
    pub(super) fn granting(&self, user: &str, groups: &[String]) -> Vec<AdminBinding> {
        self.lists
            .iter()
            .flat_map(|(kind, list)| {
                bindings_granting(*kind, list, &self.admin_roles, user, groups)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    #[test]
    fn bindings_match_users_groups_and_service_accounts_as_rbac_does() {
        let groups = vec!["runners".to_string(), "system:authenticated".to_string()];
        assert!(subject_is(
            &json!({"kind": "User", "name": "u"}),
            "u",
            &groups
        ));
        assert!(!subject_is(
            &json!({"kind": "User", "name": "v"}),
            "u",
            &groups
        ));
        assert!(subject_is(
            &json!({"kind": "Group", "name": "runners"}),
            "u",
            &groups
        ));
        let sa = "system:serviceaccount:default:default";
        assert!(subject_is(
            &json!({"kind": "ServiceAccount", "name": "default", "namespace": "default"}),
            sa,
            &[]
        ));
        assert!(!subject_is(
            &json!({"kind": "ServiceAccount", "name": "default", "namespace": "ci"}),
            sa,
            &[]
        ));
    }
}
