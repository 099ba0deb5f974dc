//! The audit's classification on answers recorded from a real
//! kube-apiserver (v1.3x): the blog recipe's two bindings beside the
//! cluster's own.

use serde_json::{Value, json};

use crate::doctor::privilege::{
    AdminBinding, BindingKind, PrivilegeAudit, admin_roles, bindings_granting, review_answer,
};
use crate::next_step::delete_command;

fn cluster_role_bindings() -> Value {
    json!({"kind": "ClusterRoleBindingList", "apiVersion": "rbac.authorization.k8s.io/v1", "items": [
        {"metadata": {"name": "cluster-admin"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]},
        {"metadata": {"name": "gitlab-admin"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "gitlab-admin"}]},
        {"metadata": {"name": "default-admin"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]},
        {"metadata": {"name": "ci-everything"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "everything"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "runners"}]},
        {"metadata": {"name": "runnerkey-auditor-gitlab-admin"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "runnerkey-auditor"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "gitlab-admin"}]},
        {"metadata": {"name": "system:basic-user"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:basic-user"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]}
    ]})
}

fn role_bindings() -> Value {
    json!({"kind": "RoleBindingList", "items": [
        {"metadata": {"name": "ci-admin", "namespace": "ci"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}]},
        {"metadata": {"name": "gitlab-runner-executor-gitlab-admin", "namespace": "ci"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "gitlab-runner-executor"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "gitlab-admin"}]}
    ]})
}

fn cluster_roles() -> Value {
    json!({"kind": "ClusterRoleList", "items": [
        {"metadata": {"name": "cluster-admin"},
         "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]},
        {"metadata": {"name": "everything"}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
        {"metadata": {"name": "view-all"}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}]}
    ]})
}

fn names(found: &[AdminBinding]) -> Vec<String> {
    found.iter().map(|b| b.to_string()).collect()
}

#[test]
fn the_blog_bindings_are_found_for_the_runner_and_for_default_default() {
    let roles = admin_roles(Some(&cluster_roles()));
    assert_eq!(roles, ["cluster-admin", "everything"]);
    let runner_groups = vec!["runners".to_string(), "system:authenticated".to_string()];
    let crb = cluster_role_bindings();
    let found = bindings_granting(
        BindingKind::ClusterRoleBinding,
        &crb,
        &roles,
        "gitlab-admin",
        &runner_groups,
    );
    assert_eq!(
        names(&found),
        [
            "ClusterRoleBinding gitlab-admin",
            "ClusterRoleBinding ci-everything"
        ]
    );
    let sa_groups = vec![
        "system:serviceaccounts".to_string(),
        "system:serviceaccounts:default".to_string(),
        "system:authenticated".to_string(),
    ];
    let found = bindings_granting(
        BindingKind::ClusterRoleBinding,
        &crb,
        &roles,
        "system:serviceaccount:default:default",
        &sa_groups,
    );
    assert_eq!(names(&found), ["ClusterRoleBinding default-admin"]);
    // Without the ClusterRoles (the auditor may not read them), the
    // cluster-admin bindings are still named.
    let only_admin = admin_roles(None);
    let found = bindings_granting(
        BindingKind::ClusterRoleBinding,
        &crb,
        &only_admin,
        "gitlab-admin",
        &runner_groups,
    );
    assert_eq!(names(&found), ["ClusterRoleBinding gitlab-admin"]);
    let found = bindings_granting(
        BindingKind::RoleBinding,
        &role_bindings(),
        &roles,
        "system:serviceaccount:ci:deployer",
        &[],
    );
    assert_eq!(names(&found), ["RoleBinding ci-admin in ci"]);
    assert!(
        bindings_granting(
            BindingKind::RoleBinding,
            &role_bindings(),
            &roles,
            "gitlab-admin",
            &[]
        )
        .is_empty()
    );
}

#[test]
fn one_delete_command_names_every_binding() {
    let b = |name: &str, ns: Option<&str>| AdminBinding {
        kind: if ns.is_some() {
            BindingKind::RoleBinding
        } else {
            BindingKind::ClusterRoleBinding
        },
        namespace: ns.map(String::from),
        name: name.into(),
    };
    assert_eq!(
        delete_command(&[b("gitlab-admin", None), b("default-admin", None)]),
        "kubectl delete clusterrolebinding gitlab-admin default-admin"
    );
    assert_eq!(
        delete_command(&[b("a", None), b("x", Some("ci")), b("y", Some("ci"))]),
        "kubectl delete clusterrolebinding a && kubectl delete rolebinding -n ci x y"
    );
}

#[test]
fn review_answers_are_allowed_denied_or_could_not_check() {
    let allowed = json!({"kind": "SubjectAccessReview", "status": {"allowed": true, "reason": "RBAC: allowed by ClusterRoleBinding \"default-admin\""}});
    let denied = json!({"kind": "SubjectAccessReview", "status": {"allowed": false}});
    assert_eq!(
        review_answer("SubjectAccessReview", 201, Ok(allowed)),
        Ok(true)
    );
    assert_eq!(
        review_answer("SubjectAccessReview", 201, Ok(denied)),
        Ok(false)
    );
    let forbidden = review_answer("SubjectAccessReview", 403, Ok(Value::Null)).unwrap_err();
    assert!(matches!(
        super::super::privilege::could_not_check(forbidden),
        PrivilegeAudit::CouldNotCheck {
            forbidden: true,
            ..
        }
    ));
    let gone = review_answer("SubjectAccessReview", 404, Ok(Value::Null)).unwrap_err();
    assert!(matches!(
        super::super::privilege::could_not_check(gone),
        PrivilegeAudit::CouldNotCheck {
            forbidden: false,
            ..
        }
    ));
    assert!(review_answer("SubjectAccessReview", 201, Ok(json!({"status": {}}))).is_err());
}
