//! "Who am I" to the API server: a SelfSubjectReview (as `kubectl auth
//! whoami`) with a credential, to know that the server takes it for the
//! user it should — before a new credential replaces the old, and before
//! an old token is trusted to say which account to renew.

use std::time::Duration;

use serde::Serialize;

use crate::api_client::{ApiClient, Credentials, Endpoint, TransportError};
use crate::cert::Certificate;

/// What the online check of the new pair found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum OnlineCheck {
    /// Not asked for, or a dry run.
    Skipped,
    /// The API server could not be reached; the offline check stands.
    Unreachable {
        /// Why.
        reason: String,
    },
    /// The API server authenticated the new pair as this user.
    Authenticated {
        /// The user it named.
        user: String,
    },
    /// The API server refused the new pair: the old one was kept.
    Refused {
        /// Why.
        reason: String,
    },
}

/// Authenticates with the new credential (SelfSubjectReview, as `kubectl
/// auth whoami`): it must be taken for `user`.
pub(crate) fn check_online(
    host: &str,
    trusted: &[Certificate],
    credentials: Credentials,
    user: &str,
    timeout: Duration,
) -> OnlineCheck {
    let endpoint = match Endpoint::parse(host) {
        Ok(e) => e,
        Err(e) => {
            return OnlineCheck::Unreachable { reason: e.chain() };
        }
    };
    let client =
        match ApiClient::new(endpoint, trusted, credentials, timeout).map(|c| c.purpose("check")) {
            Ok(c) => c,
            Err(e) => {
                return OnlineCheck::Refused { reason: e.chain() };
            }
        };
    review(&client, user)
}

/// The SelfSubjectReview on `client`: the server must take its credential
/// for `user`.
pub(crate) fn review(client: &ApiClient, user: &str) -> OnlineCheck {
    let body =
        serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    match client.request(
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        Some(&body),
    ) {
        Ok(r) if r.status == 200 || r.status == 201 => {
            let answer = match r.json("a SelfSubjectReview") {
                Ok(a) => a,
                // Not the API server's answer (a proxy's page): whether it
                // took the credential is not known.
                Err(e) => {
                    return OnlineCheck::Unreachable {
                        reason: e.to_string(),
                    };
                }
            };
            let taken = answer["status"]["userInfo"]["username"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if taken == user {
                OnlineCheck::Authenticated { user: taken }
            } else {
                OnlineCheck::Refused {
                    reason: format!(
                        "the API server took the credential for {taken:?}, not {user:?}"
                    ),
                }
            }
        }
        Ok(r) if r.status == 401 => OnlineCheck::Refused {
            reason: "the API server answered 401 Unauthorized to the credential".into(),
        },
        // Authenticated (not 401), but not allowed to review itself.
        Ok(r) if r.status == 403 => OnlineCheck::Authenticated { user: user.into() },
        Ok(r) if r.status == 404 => OnlineCheck::Unreachable {
            reason: "the API server has no SelfSubjectReview: checked offline only".into(),
        },
        Ok(r) => OnlineCheck::Unreachable {
            reason: format!("SelfSubjectReview answered HTTP {}", r.status),
        },
        // The server itself could not be checked or spoken to: nothing is
        // known about the new pair beyond the offline check.
        Err(TransportError::ServerCert { problem, .. }) => OnlineCheck::Unreachable {
            reason: format!("the server's certificate is not trusted by ca_file ({problem})"),
        },
        Err(
            e @ (TransportError::Dns(_)
            | TransportError::Refused(_)
            | TransportError::Timeout(_)
            | TransportError::Proxy(_)
            | TransportError::NotTls(_)
            | TransportError::BadHttp(_)
            | TransportError::TooLarge(_)
            | TransportError::Io(_)),
        ) => OnlineCheck::Unreachable { reason: e.detail() },
        // TLS refused during the handshake: the server did not take the
        // new certificate.
        Err(e @ TransportError::Tls(_)) => OnlineCheck::Refused { reason: e.detail() },
    }
}
