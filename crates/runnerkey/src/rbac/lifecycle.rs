//! The rights of the identity lifecycle: a runner renewing itself through
//! the CSR API (profile `renewer`) and the approver that approves those
//! renewals (profile `approver`). Both are cluster-wide:
//! CertificateSigningRequests are not namespaced.
//!
//! What RBAC cannot narrow: `create` on certificatesigningrequests is not
//! limited by name or content, and get/watch/delete cannot be limited to
//! one's own requests (their names are generated). That is safe with the
//! approver's policy: a request is approved only for its submitter's own
//! identity, so creating one gains nothing but a renewal of what the
//! submitter already is. A renewer can read (public) requests of others
//! and delete pending ones — at worst delaying another runner's renewal,
//! which the next run of that runner asks again.

use super::{PolicyRule, Profile};

/// The API group of CertificateSigningRequests.
const CERTIFICATES: &str = "certificates.k8s.io";

/// The ClusterRole and its rules of a cluster-wide profile (renewer,
/// approver, auditor).
pub(super) fn cluster_wide(profile: Profile) -> (&'static str, Vec<PolicyRule>) {
    match profile {
        Profile::Renewer => (role_name(profile), renewer_rules(SELF_CLIENT)),
        Profile::Approver => (role_name(profile), approver_rules()),
        _ => (super::auditor::ROLE, super::auditor::rules()),
    }
}

/// The ClusterRole's name for `profile` (a lifecycle profile).
pub(super) fn role_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Approver => "runnerkey-approver",
        _ => "runnerkey-renewer",
    }
}

/// The subresource a renewer is granted by default, which the approver
/// asks about (`runnerkey::approver::SELF_CLIENT`).
pub(crate) const SELF_CLIENT: &str = "selfclient";

/// What a runner renewing itself through the CSR API needs: create its
/// request, read and watch it until it is issued, delete it then; and the
/// `selfclient` subresource the approver asks about
/// ([`SELF_CLIENT`]).
pub(super) fn renewer_rules(subresource: &str) -> Vec<PolicyRule> {
    vec![
        PolicyRule::new(
            CERTIFICATES,
            &["certificatesigningrequests"],
            &["get", "watch", "create", "delete"],
        ),
        PolicyRule::new(
            CERTIFICATES,
            &[&format!("certificatesigningrequests/{subresource}")],
            &["create"],
        ),
    ]
}

/// What `runnerkey approver` needs: list and watch requests, approve
/// (or deny) kube-apiserver-client ones, and ask the authorizer about
/// their submitters.
pub(super) fn approver_rules() -> Vec<PolicyRule> {
    let mut signer = PolicyRule::new(CERTIFICATES, &["signers"], &["approve"]);
    signer.resource_names = vec![crate::k8s_csr::CLIENT_SIGNER.to_string()];
    vec![
        PolicyRule::new(
            CERTIFICATES,
            &["certificatesigningrequests"],
            &["get", "list", "watch"],
        ),
        PolicyRule::new(
            CERTIFICATES,
            &["certificatesigningrequests/approval"],
            &["update"],
        ),
        signer,
        PolicyRule::new(
            "authorization.k8s.io",
            &["subjectaccessreviews"],
            &["create"],
        ),
    ]
}
