//! Profile `auditor`: what `doctor --online` needs to tell whether any
//! identity the runner involves — its own user and groups, the job pods'
//! service accounts — is still cluster-admin, and through which bindings,
//! once the runner itself no longer is. Cluster-wide.
//!
//! What it reveals, and why that is acceptable:
//! - `create` on `subjectaccessreviews` lets the holder ask the authorizer
//!   "may subject S do V on R?" about any subject. It learns who may do
//!   what — the shape of the cluster's RBAC — and nothing else: no object,
//!   no secret, no right is gained by asking.
//! - `get`/`list` on `clusterrolebindings` and `rolebindings` shows which
//!   subjects are bound to which roles, everywhere. Bindings hold names,
//!   never credentials; anyone who may run `kubectl auth can-i` for others
//!   learns the same. A runner whose jobs can read this learns the RBAC
//!   layout of the cluster — less than what a cluster-admin runner (the
//!   thing being removed) could read.
//!
//! Neither can be narrowed by RBAC (reviews are not namespaced objects with
//! names; listing cannot be limited to some bindings).

use super::PolicyRule;

/// The ClusterRole's name.
pub(super) const ROLE: &str = "runnerkey-auditor";

/// The auditor's rules.
pub(super) fn rules() -> Vec<PolicyRule> {
    vec![
        PolicyRule::new(
            "authorization.k8s.io",
            &["subjectaccessreviews"],
            &["create"],
        ),
        PolicyRule::new(
            "rbac.authorization.k8s.io",
            &["clusterrolebindings", "rolebindings"],
            &["get", "list"],
        ),
    ]
}
