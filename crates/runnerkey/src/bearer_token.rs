//! What a service account token says about itself: kube-apiserver's tokens
//! (TokenRequest and the legacy Secret ones) are JWTs whose claims name the
//! service account (`sub`, `kubernetes.io`) and, for TokenRequest tokens,
//! when they were issued and end (`iat`, `exp`). The claims are read, not
//! verified: only the API server can verify the signature, and runnerkey
//! uses them only to tell when to ask for a new token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

/// The longest token read (kube-apiserver's are about 1 KiB).
const MAX_TOKEN: usize = 16 * 1024;

/// The claims runnerkey reads from a token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenClaims {
    /// `sub`, e.g. `system:serviceaccount:gitlab-runner:runner`.
    pub subject: Option<String>,
    /// The service account's namespace and name, from `sub`.
    pub service_account: Option<(String, String)>,
    /// `iat`.
    pub issued_at: Option<OffsetDateTime>,
    /// `exp` (a legacy Secret token has none: it never expires).
    pub expires_at: Option<OffsetDateTime>,
    /// Why the times cannot be trusted: an `iat` or `exp` that is not a
    /// representable Unix time, or an `iat` after the `exp`.
    pub malformed: Option<String>,
    digest: [u8; 32],
}

impl std::fmt::Debug for TokenClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenClaims")
            .field("subject", &self.subject)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl TokenClaims {
    /// The claims of `token`, when it is a JWT (three base64url parts, the
    /// middle one a JSON object); `None` for an opaque token.
    pub fn read(token: &str) -> Option<Self> {
        if token.len() > MAX_TOKEN {
            return None;
        }
        let mut parts = token.trim().split('.');
        let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let json = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part.trim_end_matches('='))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        };
        // A JWT has a JSON object for its header; anything else is opaque.
        json(header).filter(serde_json::Value::is_object)?;
        let digest: [u8; 32] =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
                .as_ref()
                .try_into()
                .unwrap_or([0; 32]);
        let Some(claims) = json(payload).filter(serde_json::Value::is_object) else {
            return Some(Self {
                subject: None,
                service_account: None,
                issued_at: None,
                expires_at: None,
                malformed: Some("its claims are not a JSON object".into()),
                digest,
            });
        };
        let claims = claims.as_object()?;
        let mut malformed = None;
        let mut time = |k: &str| {
            let value = claims.get(k)?;
            let t = value
                .as_i64()
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
            if t.is_none() {
                malformed.get_or_insert_with(|| {
                    format!("its {k} claim ({value:.40}) is not a Unix time")
                });
            }
            t
        };
        let (issued_at, expires_at) = (time("iat"), time("exp"));
        if let (Some(start), Some(end)) = (issued_at, expires_at)
            && start >= end
        {
            malformed.get_or_insert_with(|| "it was issued (iat) after it ends (exp)".into());
        }
        let subject = claims.get("sub").and_then(|s| s.as_str()).map(String::from);
        let service_account = subject.as_deref().and_then(|s| {
            let rest = s.strip_prefix("system:serviceaccount:")?;
            let (ns, name) = rest.split_once(':')?;
            (!ns.is_empty() && !name.is_empty() && !name.contains(':'))
                .then(|| (ns.to_string(), name.to_string()))
        });
        Some(Self {
            subject,
            service_account,
            issued_at,
            expires_at,
            malformed,
            digest,
        })
    }

    /// A number in [0, 1) fixed by the token, for the renewal jitter.
    pub(crate) fn unit_jitter(&self) -> f64 {
        let mut n = [0u8; 8];
        n.copy_from_slice(&self.digest[..8]);
        (u64::from_be_bytes(n) >> 12) as f64 / (1u64 << 52) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn reads_a_token_request_token() {
        let c = TokenClaims::read(&jwt(
            r#"{"sub":"system:serviceaccount:ci:runner","iat":1700000000,"exp":1700003600}"#,
        ))
        .unwrap();
        assert_eq!(c.service_account, Some(("ci".into(), "runner".into())));
        assert_eq!(c.expires_at.unwrap().unix_timestamp(), 1_700_003_600);
        assert_eq!(c.issued_at.unwrap().unix_timestamp(), 1_700_000_000);
        let u = c.unit_jitter();
        assert!((0.0..1.0).contains(&u));
        assert!(!format!("{c:?}").contains("c2ln"), "no token in Debug");
    }

    #[test]
    fn opaque_and_odd_tokens_have_no_claims() {
        for t in [
            "static-token",
            "a.b",
            "a.b.c.d",
            "x.!!!.y",
            &"a.".repeat(MAX_TOKEN),
        ] {
            assert!(TokenClaims::read(t).is_none(), "{t:.40}");
        }
        // JWT-shaped, with claims that cannot be read: malformed, not opaque.
        for claims in ["[1,2]", "\"x\"", r#"{"exp":1e999}"#, "not json"] {
            let c = TokenClaims::read(&jwt(claims)).unwrap();
            assert!(c.malformed.is_some(), "{claims}");
        }
        let legacy = TokenClaims::read(&jwt(
            r#"{"sub":"system:serviceaccount:ci:runner","iss":"kubernetes/serviceaccount"}"#,
        ))
        .unwrap();
        assert_eq!(legacy.expires_at, None);
        let user = TokenClaims::read(&jwt(r#"{"sub":"alice","exp":"soon"}"#)).unwrap();
        assert_eq!((user.service_account, user.expires_at), (None, None));
        assert!(user.malformed.unwrap().contains("exp claim"));
        for odd in [
            r#"{"exp":1e300}"#,
            r#"{"exp":-99999999999999}"#,
            r#"{"exp":18446744073709551616}"#,
            r#"{"iat":2000,"exp":1000}"#,
        ] {
            assert!(
                TokenClaims::read(&jwt(odd)).unwrap().malformed.is_some(),
                "{odd}"
            );
        }
    }
}
