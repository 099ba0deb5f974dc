//! The approver's second question, asked of the cluster's own authorizer:
//! may the requester renew its own client identity? A SubjectAccessReview
//! for the requester (user, UID, groups and extra exactly as the API server
//! recorded them in the request's spec), verb `create` on the subresource
//! `certificatesigningrequests/SUBRESOURCE` in `certificates.k8s.io` — the
//! way kube-controller-manager asks about `selfnodeclient` before it
//! approves a kubelet's renewal. So the policy is ordinary RBAC an admin
//! grants per group of runners (`runnerkey rbac --profile renewer`).

use serde_json::{Value, json};

/// The subresource a renewer is granted by default (the RBAC profile
/// `renewer` grants it: defined there, so that rbac does not depend on the
/// approver).
pub const SELF_CLIENT: &str = crate::rbac::SELF_CLIENT;

/// The SubjectAccessReview asking whether the submitter of `csr` (the
/// object) may `create` `certificatesigningrequests/{subresource}`.
pub(super) fn body(csr: &Value, subresource: &str) -> Value {
    let spec = &csr["spec"];
    let mut review = json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": spec["username"].as_str().unwrap_or(""),
            "groups": spec["groups"].as_array().cloned().unwrap_or_default(),
            "resourceAttributes": {
                "group": "certificates.k8s.io",
                "version": "*",
                "resource": "certificatesigningrequests",
                "subresource": subresource,
                "verb": "create",
            },
        },
    });
    if let Some(uid) = spec["uid"].as_str().filter(|u| !u.is_empty()) {
        review["spec"]["uid"] = json!(uid);
    }
    if let Some(extra) = spec["extra"].as_object().filter(|e| !e.is_empty()) {
        review["spec"]["extra"] = Value::Object(extra.clone());
    }
    review
}

/// What the review answered: allowed, or not with the authorizer's reason.
pub(super) fn allowed(answer: &Value) -> Result<(), String> {
    let status = &answer["status"];
    if status["allowed"] == true && status["denied"] != true {
        return Ok(());
    }
    let reason = status["reason"]
        .as_str()
        .or(status["evaluationError"].as_str())
        .filter(|r| !r.is_empty())
        .unwrap_or("no RBAC rule grants it");
    Err(reason.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_review_asks_about_the_submitter_exactly_as_recorded() {
        let csr = json!({"spec": {"username": "gitlab-runner:h1", "uid": "u-1",
            "groups": ["runners", "system:authenticated"],
            "extra": {"authentication.kubernetes.io/credential-id": ["X509SHA256=ab"]}}});
        let r = body(&csr, SELF_CLIENT);
        assert_eq!(r["spec"]["user"], "gitlab-runner:h1");
        assert_eq!(r["spec"]["uid"], "u-1");
        assert_eq!(
            r["spec"]["groups"],
            json!(["runners", "system:authenticated"])
        );
        assert_eq!(
            r["spec"]["extra"]["authentication.kubernetes.io/credential-id"],
            json!(["X509SHA256=ab"])
        );
        let a = &r["spec"]["resourceAttributes"];
        assert_eq!(
            (
                a["group"].as_str(),
                a["resource"].as_str(),
                a["subresource"].as_str(),
                a["verb"].as_str()
            ),
            (
                Some("certificates.k8s.io"),
                Some("certificatesigningrequests"),
                Some("selfclient"),
                Some("create")
            )
        );
        let bare = body(&json!({"spec": {"username": "u"}}), "x");
        assert!(bare["spec"].get("uid").is_none() && bare["spec"].get("extra").is_none());
    }

    #[test]
    fn only_an_allowed_and_not_denied_answer_allows() {
        assert!(allowed(&json!({"status": {"allowed": true}})).is_ok());
        assert!(allowed(&json!({"status": {"allowed": true, "denied": true}})).is_err());
        assert_eq!(
            allowed(&json!({"status": {"allowed": false, "reason": "no"}})).unwrap_err(),
            "no"
        );
        assert!(allowed(&json!({"status": {}})).is_err());
        assert!(allowed(&json!(null)).is_err());
        assert!(allowed(&json!({"status": {"allowed": "true"}})).is_err());
    }
}
