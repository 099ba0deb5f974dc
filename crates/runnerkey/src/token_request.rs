//! A service account token from the TokenRequest API (`POST
//! /api/v1/namespaces/NS/serviceaccounts/NAME/token`), as `kubectl create
//! token` asks for one: bounded lifetime, bound to nothing but the account.
//! Since Kubernetes 1.24 no token Secret is made for an account, and
//! gitlab-runner takes `bearer_token` only as a literal string, so this is
//! how a runner authenticating with a token gets one and a fresh one before
//! it ends.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::bearer_token::TokenClaims;
use crate::csr_api::{api, client, refused};
use crate::error::{Error, Result};
use crate::kube_context::KubeContext;
use crate::lifetime::{LifetimeProblem, rfc3339};
use crate::secret::Secret;
use crate::service_account::ServiceAccountRef;

/// A SelfSubjectReview with `token` at `server` (trusting `cas`; not
/// checking the server with `insecure`): whether the server takes it for
/// `user`.
fn review_token(
    server: &str,
    cas: &[crate::cert::Certificate],
    insecure: bool,
    token: &str,
    user: &str,
    timeout: Duration,
) -> Result<crate::whoami::OnlineCheck> {
    let endpoint = crate::api_client::Endpoint::parse(server)?;
    let client = crate::api_client::ApiClient::with_options(
        endpoint,
        cas,
        crate::api_client::Credentials::BearerToken(Secret::new(token)),
        timeout,
        timeout,
        insecure,
    )?
    .purpose("token");
    Ok(crate::whoami::review(&client, user))
}

/// Whether the cluster `context` names takes `token` for `user` — asked
/// of that cluster, never of a server config.toml names, so a token
/// written into config.toml cannot have itself vouched for elsewhere.
pub(crate) fn vouch(
    context: &KubeContext,
    token: &str,
    user: &str,
    timeout: Duration,
) -> Result<crate::whoami::OnlineCheck> {
    if context.insecure_skip_tls_verify && !context.accept_insecure {
        return Err(crate::CsrApiProblem::Insecure {
            source_name: context.source.clone(),
        }
        .into());
    }
    review_token(
        &context.server,
        &context.cas,
        context.insecure_skip_tls_verify,
        token,
        user,
        timeout,
    )
}

/// The longest lifetime asked for: ten years (the API server clamps to its
/// own maximum anyway).
const MAX_SECONDS: u64 = 10 * 366 * 86_400;

/// Which token to ask for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenRequestParams {
    /// The service account.
    pub service_account: ServiceAccountRef,
    /// The lifetime asked for (at least 10 minutes; the API server may
    /// shorten it to its `--service-account-max-token-expiration`).
    pub duration: Duration,
    /// Create the service account when it does not exist.
    pub create_service_account: bool,
    /// Each request's deadline.
    pub timeout: Duration,
}

impl TokenRequestParams {
    /// A token for `service_account` lasting a day.
    pub fn new(service_account: ServiceAccountRef) -> Self {
        Self {
            service_account,
            duration: crate::defaults::TOKEN_DURATION_DURATION,
            create_service_account: false,
            timeout: crate::defaults::REQUEST_TIMEOUT_DURATION,
        }
    }
}

/// A token the API server issued.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The token (never serialized or printed).
    #[serde(skip)]
    pub token: Secret,
    /// The user it authenticates as (`system:serviceaccount:NS:NAME`).
    pub user: String,
    /// When it ends (RFC 3339 on the wire).
    #[serde(with = "crate::lifetime::serde_rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Its lifetime in seconds as issued.
    pub lifetime_seconds: i64,
    /// The API server issued it for less than asked.
    pub clamped: bool,
    /// The service account was created for it.
    pub created_service_account: bool,
    /// The lifetime asked for, in seconds.
    #[serde(skip)]
    asked_seconds: u64,
}

impl IssuedToken {
    /// Advice when the API server issued it for less than asked.
    pub fn clamp_note(&self) -> Option<String> {
        self.clamped.then(|| {
            format!(
                "the API server issued the token for {} s, less than the {} s asked (its --service-account-max-token-expiration): it is renewed that much sooner",
                self.lifetime_seconds, self.asked_seconds
            )
        })
    }
}

impl TokenRequestParams {
    /// Asks the API server `context` names for a token (creating the
    /// service account first when asked to and it is missing).
    pub fn run(&self, context: KubeContext) -> Result<IssuedToken> {
        let seconds = self.duration.as_secs();
        if seconds > MAX_SECONDS {
            return Err(LifetimeProblem::TokenTooLong {
                seconds,
                max: MAX_SECONDS,
            }
            .into());
        }
        if seconds < 600 {
            return Err(LifetimeProblem::TokenTooShort { seconds }.into());
        }
        let (cas, insecure) = (context.cas.clone(), context.insecure_skip_tls_verify);
        let timeout = crate::lifetime::capped(self.timeout);
        let (client, server) = client(context, timeout, timeout * 3)?;
        let account = format!(
            "/api/v1/namespaces/{}/serviceaccounts/{}",
            self.service_account.namespace(),
            self.service_account.name()
        );
        let mut created = false;
        if self.create_service_account {
            let got = client
                .request("GET", &account, None)
                .map_err(|e| api(e, &server))?;
            if got.status == 404 {
                // A fresh cluster: the namespace first (NamespaceLifecycle
                // refuses objects in a namespace that does not exist).
                let ns = format!("/api/v1/namespaces/{}", self.service_account.namespace());
                let found = client
                    .request("GET", &ns, None)
                    .map_err(|e| api(e, &server))?;
                if found.status == 404 {
                    let body = json!({"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": self.service_account.namespace()}});
                    let made = client
                        .request("POST", "/api/v1/namespaces", Some(&body))
                        .map_err(|e| api(e, &server))?;
                    match made.status {
                        200 | 201 | 409 => {}
                        _ => {
                            return Err(refused(
                                &made,
                                "creating the namespace for the service account",
                            ));
                        }
                    }
                }
                let body = json!({"apiVersion": "v1", "kind": "ServiceAccount",
                                  "metadata": {"name": self.service_account.name(), "namespace": self.service_account.namespace()}});
                let made = client
                    .request(
                        "POST",
                        &format!(
                            "/api/v1/namespaces/{}/serviceaccounts",
                            self.service_account.namespace()
                        ),
                        Some(&body),
                    )
                    .map_err(|e| api(e, &server))?;
                match made.status {
                    200 | 201 => created = true,
                    409 => {}
                    _ => return Err(refused(&made, "creating the service account")),
                }
            } else if got.status != 200 {
                return Err(refused(&got, "reading the service account"));
            }
        }
        let body = request_body(seconds);
        let answer = client
            .request("POST", &format!("{account}/token"), Some(&body))
            .map_err(|e| api(e, &server))?;
        if answer.status != 201 && answer.status != 200 {
            return Err(refused(&answer, "requesting a token (TokenRequest)"));
        }
        let value = answer
            .json("a TokenRequest")
            .map_err(|e| e.answered("requesting a token (TokenRequest)", answer.status))?;
        let user = format!(
            "system:serviceaccount:{}:{}",
            self.service_account.namespace(),
            self.service_account.name()
        );
        let (token, expires, lifetime) =
            read_answer(&value, answer.status, &user, OffsetDateTime::now_utc())?;
        let bad = |reason: String| {
            Error::from(crate::CsrApiProblem::BadToken {
                user: user.clone(),
                reason,
            })
        };
        // The server that issued it must take it for the account.
        match review_token(&server, &cas, insecure, &token, &user, self.timeout) {
            Ok(crate::whoami::OnlineCheck::Authenticated { .. }) => {}
            Ok(
                crate::whoami::OnlineCheck::Refused { reason }
                | crate::whoami::OnlineCheck::Unreachable { reason },
            ) => {
                return Err(bad(format!(
                    "the API server did not vouch for it: {reason}"
                )));
            }
            Ok(crate::whoami::OnlineCheck::Skipped) => {}
            Err(e) => return Err(bad(e.chain())),
        }
        Ok(IssuedToken {
            token: token.into(),
            user,
            expires_at: expires,
            lifetime_seconds: lifetime,
            // A minute of slack for the clocks and the round trip.
            clamped: lifetime + 60 < seconds as i64,
            created_service_account: created,
            asked_seconds: seconds,
        })
    }
}

/// The TokenRequest asking for a token of `seconds`.
fn request_body(seconds: u64) -> Value {
    json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
           "spec": {"expirationSeconds": seconds}})
}

/// Reads the TokenRequest answer `value` (HTTP `status`) for `user` at
/// `now`: the token, its end (the earlier of what the answer states and
/// what the token says) and its lifetime in seconds; refused when it holds
/// no token or end, or the token is not a JWT, is malformed, is for
/// another account, states no end, or ends within a minute.
fn read_answer(
    value: &Value,
    status: u16,
    user: &str,
    now: OffsetDateTime,
) -> Result<(String, OffsetDateTime, i64)> {
    let token = value["status"]["token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::from(crate::CsrApiProblem::Answered {
                what: "requesting a token (TokenRequest)",
                status,
                reason: String::new(),
                message: "the answer holds no status.token".into(),
            })
        })?
        .to_string();
    let claims = TokenClaims::read(&token);
    let stated = value["status"]["expirationTimestamp"]
        .as_str()
        .and_then(|t| {
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        });
    // The earlier of what the answer states and what the token says.
    let expires = match (stated, claims.as_ref().and_then(|c| c.expires_at)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
    .ok_or_else(|| {
        Error::from(crate::CsrApiProblem::Answered {
            what: "requesting a token (TokenRequest)",
            status,
            reason: String::new(),
            message: "the answer states no expirationTimestamp".into(),
        })
    })?;
    let start = claims.as_ref().and_then(|c| c.issued_at).unwrap_or(now);
    let lifetime = (expires - start).whole_seconds();
    let bad = |reason: String| {
        Error::from(crate::CsrApiProblem::BadToken {
            user: user.to_string(),
            reason,
        })
    };
    // Renewal reads the account and the end from the token: it must
    // state them.
    let Some(c) = &claims else {
        return Err(bad(
            "it is not a JWT: its account and end cannot be read from it".into(),
        ));
    };
    if let Some(m) = &c.malformed {
        return Err(bad(m.clone()));
    }
    if c.subject.as_deref() != Some(user) {
        return Err(bad(format!(
            "it is for {:?}",
            c.subject.as_deref().unwrap_or("")
        )));
    }
    if c.expires_at.is_none() {
        return Err(bad("it states no end (exp)".into()));
    }
    if expires <= now + time::Duration::minutes(1) || lifetime <= 0 {
        return Err(bad(format!("it ends at {}", rfc3339(expires))));
    }
    Ok((token, expires, lifetime))
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::CsrApiProblem;

    const USER: &str = "system:serviceaccount:gitlab-runner:runner";
    const IAT: i64 = 1_780_000_000;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    fn token(sub: &str, iat: i64, exp: i64) -> String {
        jwt(&format!(
            r#"{{"aud":["https://kubernetes.default.svc.cluster.local"],"exp":{exp},"iat":{iat},"iss":"https://kubernetes.default.svc.cluster.local","kubernetes.io":{{"namespace":"gitlab-runner","serviceaccount":{{"name":"runner","uid":"5d1c"}}}},"nbf":{iat},"sub":"{sub}"}}"#
        ))
    }

    /// A TokenRequest answer as kube-apiserver gives it.
    fn answer(token: &str, expiration: Option<i64>) -> Value {
        let mut v = json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": "runner", "namespace": "gitlab-runner", "creationTimestamp": null},
            "spec": {"audiences": ["https://kubernetes.default.svc.cluster.local"], "expirationSeconds": 3600, "boundObjectRef": null},
            "status": {"token": token}});
        if let Some(e) = expiration {
            v["status"]["expirationTimestamp"] =
                json!(rfc3339(OffsetDateTime::from_unix_timestamp(e).unwrap()));
        }
        v
    }

    fn at(t: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(t).unwrap()
    }

    fn bad_token(r: Result<(String, OffsetDateTime, i64)>) -> bool {
        matches!(r, Err(Error::CsrApi(CsrApiProblem::BadToken { .. })))
    }

    fn answered(r: Result<(String, OffsetDateTime, i64)>) -> bool {
        matches!(r, Err(Error::CsrApi(CsrApiProblem::Answered { .. })))
    }

    #[test]
    fn the_body_asks_for_the_lifetime() {
        let b = request_body(3600);
        assert_eq!(b["kind"], "TokenRequest");
        assert_eq!(b["apiVersion"], "authentication.k8s.io/v1");
        assert_eq!(b["spec"]["expirationSeconds"], 3600);
    }

    #[test]
    fn a_token_for_the_account_is_taken_with_the_earlier_end() {
        let t = token(USER, IAT, IAT + 3600);
        let (got, end, life) =
            read_answer(&answer(&t, Some(IAT + 3600)), 201, USER, at(IAT)).unwrap();
        assert_eq!((got, end, life), (t.clone(), at(IAT + 3600), 3600));
        // The answer states an earlier end than the token: the earlier.
        let (_, end, life) =
            read_answer(&answer(&t, Some(IAT + 1800)), 201, USER, at(IAT)).unwrap();
        assert_eq!((end, life), (at(IAT + 1800), 1800));
        // No expirationTimestamp: the token's exp.
        let (_, end, _) = read_answer(&answer(&t, None), 201, USER, at(IAT)).unwrap();
        assert_eq!(end, at(IAT + 3600));
    }

    #[test]
    fn a_token_for_another_account_is_refused() {
        let t = token("system:serviceaccount:gitlab-runner:other", IAT, IAT + 3600);
        assert!(bad_token(read_answer(
            &answer(&t, Some(IAT + 3600)),
            201,
            USER,
            at(IAT)
        )));
    }

    #[test]
    fn a_token_ending_within_a_minute_is_refused() {
        let t = token(USER, IAT, IAT + 3600);
        let a = answer(&t, Some(IAT + 3600));
        assert!(bad_token(read_answer(&a, 201, USER, at(IAT + 3600))));
        assert!(bad_token(read_answer(&a, 201, USER, at(IAT + 3540))));
        assert!(read_answer(&a, 201, USER, at(IAT + 3539)).is_ok());
    }

    #[test]
    fn tokens_that_cannot_be_renewed_later_are_refused() {
        // Opaque: no account nor end to read back.
        assert!(bad_token(read_answer(
            &answer("opaque-token", Some(IAT + 3600)),
            201,
            USER,
            at(IAT)
        )));
        // No exp in the token, even though the answer states one.
        let no_exp = jwt(&format!(r#"{{"sub":"{USER}","iat":{IAT}}}"#));
        assert!(bad_token(read_answer(
            &answer(&no_exp, Some(IAT + 3600)),
            201,
            USER,
            at(IAT)
        )));
        // iat after exp.
        let backwards = token(USER, IAT + 7200, IAT + 3600);
        assert!(bad_token(read_answer(
            &answer(&backwards, Some(IAT + 3600)),
            201,
            USER,
            at(IAT)
        )));
    }

    #[test]
    fn an_answer_without_token_or_end_is_refused() {
        let mut empty = answer("", Some(IAT + 3600));
        assert!(answered(read_answer(&empty, 201, USER, at(IAT))));
        empty["status"] = json!({});
        assert!(answered(read_answer(&empty, 201, USER, at(IAT))));
        let opaque = answer("opaque-token", None);
        assert!(answered(read_answer(&opaque, 201, USER, at(IAT))));
    }
}
