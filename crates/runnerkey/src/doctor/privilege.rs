//! The over-privilege audit of `doctor --online`: is the runner identity,
//! or the job pods' service account, cluster-admin-equivalent; which
//! dangerous grants beyond the profile does it hold; and which bindings
//! give it cluster-admin, so they can be named and deleted.

use serde::Serialize;

pub use crate::next_step::AdminBinding;
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
    match r.status {
        200 | 201 => r
            .json(&format!("a {kind}"))
            .map_err(|e| format!("{kind} failed: {e}"))?["status"]["allowed"]
            .as_bool()
            .ok_or_else(|| format!("{kind} answered without status.allowed")),
        403 => Err(format!("{kind} is forbidden for this identity (HTTP 403)")),
        404 => Err(format!("{kind} is not served (HTTP 404)")),
        s => Err(format!("{kind} answered HTTP {s}")),
    }
}

/// Is `who` cluster-admin-equivalent, and which dangerous grants does it
/// hold?
pub(super) fn audit(client: &ApiClient, who: &Who<'_>) -> PrivilegeAudit {
    let cluster_admin = match review(client, who, "", "*", "*", "*") {
        Ok(a) => a,
        Err(reason) => return PrivilegeAudit::CouldNotCheck { reason },
    };
    let mut dangerous_grants = Vec::new();
    if !cluster_admin {
        for (label, group, resource, verb) in DANGEROUS {
            match review(client, who, "", group, resource, verb) {
                Ok(true) => dangerous_grants.push((*label).to_string()),
                Ok(false) => {}
                Err(reason) => return PrivilegeAudit::CouldNotCheck { reason },
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

/// The bindings that give `user` (with `groups`) the ClusterRole
/// cluster-admin, or why they could not be listed.
pub(super) fn admin_bindings(
    client: &ApiClient,
    user: &str,
    groups: &[String],
) -> Result<Vec<AdminBinding>, String> {
    let mut out = Vec::new();
    for (kind, path) in [
        (
            "ClusterRoleBinding",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        ),
        (
            "RoleBinding",
            "/apis/rbac.authorization.k8s.io/v1/rolebindings",
        ),
    ] {
        let r = client.request("GET", path, None).map_err(|e| e.detail())?;
        if r.status != 200 {
            return Err(format!("listing {kind}s answered HTTP {}", r.status));
        }
        let list = r
            .json(&format!("a {kind}List"))
            .map_err(|e| format!("listing {kind}s: {e}"))?;
        for b in list["items"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let admin =
                b["roleRef"]["kind"] == "ClusterRole" && b["roleRef"]["name"] == "cluster-admin";
            let bound = b["subjects"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| subject_is(s, user, groups)));
            if admin && bound {
                out.push(AdminBinding {
                    kind: kind.to_string(),
                    namespace: b["metadata"]["namespace"].as_str().map(String::from),
                    name: b["metadata"]["name"].as_str().unwrap_or("").to_string(),
                });
            }
        }
    }
    Ok(out)
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
