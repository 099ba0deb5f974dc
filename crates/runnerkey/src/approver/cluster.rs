//! What the approver asks of the API server, behind a trait so that the
//! decisions are tested on recorded answers.

use serde_json::Value;

use crate::api_client::ApiClient;
use crate::csr_api::PATH;

/// The three exchanges a decision needs.
pub(super) trait Cluster {
    /// A SubjectAccessReview's answer.
    fn review(&self, body: &Value) -> Result<Value, String>;
    /// Updates the approval subresource with `object`: `Ok(false)` on a
    /// conflict (409: the object changed since it was read).
    fn update_approval(&self, name: &str, object: &Value) -> Result<bool, String>;
    /// The object now (`None`: gone).
    fn get(&self, name: &str) -> Result<Option<Value>, String>;
}

/// The cluster through an [`ApiClient`].
pub(super) struct ApiCluster<'a> {
    pub client: &'a ApiClient,
}

fn answered(r: &crate::api_client::Response, what: &str) -> String {
    let message: String = r.message().chars().take(300).collect();
    format!(
        "{what}: the API server answered HTTP {}: {message}",
        r.status
    )
}

impl Cluster for ApiCluster<'_> {
    fn review(&self, body: &Value) -> Result<Value, String> {
        let r = self
            .client
            .request(
                "POST",
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                Some(body),
            )
            .map_err(|e| e.detail())?;
        if r.status != 201 && r.status != 200 {
            return Err(answered(&r, "creating a SubjectAccessReview"));
        }
        r.json("a SubjectAccessReview").map_err(|e| e.to_string())
    }

    fn update_approval(&self, name: &str, object: &Value) -> Result<bool, String> {
        let r = self
            .client
            .request("PUT", &format!("{PATH}/{name}/approval"), Some(object))
            .map_err(|e| e.detail())?;
        match r.status {
            200 | 201 => Ok(true),
            409 => Ok(false),
            _ => Err(answered(&r, "updating the approval")),
        }
    }

    fn get(&self, name: &str) -> Result<Option<Value>, String> {
        let r = self
            .client
            .request("GET", &format!("{PATH}/{name}"), None)
            .map_err(|e| e.detail())?;
        match r.status {
            200 => r
                .json("a CertificateSigningRequest")
                .map(Some)
                .map_err(|e| e.to_string()),
            404 => Ok(None),
            _ => Err(answered(&r, "reading the request")),
        }
    }
}
