//! What a service account token says about itself: kube-apiserver's tokens
//! (TokenRequest and the legacy Secret ones) are JWTs whose claims name the
//! service account (`sub`, `kubernetes.io`) and, for TokenRequest tokens,
//! when they were issued and end (`iat`, `exp`). The claims are read, not
//! verified: only the API server can verify the signature, and runnerkey
//! uses them only to tell when to ask for a new token.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use time::OffsetDateTime;

use crate::service_account::ServiceAccountRef;

/// Go's `base64.RawURLEncoding`: no padding, unused bits need not be zero.
const RAW_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// The registered claims as go-jose's `jwt.Claims` reads them: each of its
/// type or null, keys case-sensitive, no key twice.
#[derive(Default)]
struct Claims {
    sub: Option<String>,
    iat: Option<f64>,
    exp: Option<f64>,
}

impl<'de> serde::Deserialize<'de> for Claims {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Claims;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Claims, A::Error> {
                use serde::de::Error;
                use serde_json::Value;
                let mut seen = std::collections::BTreeSet::new();
                let mut c = Claims::default();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(A::Error::custom(format!("duplicate key {key:?}")));
                    }
                    let value: Value = map.next_value()?;
                    let wrong = |what: &str| A::Error::custom(format!("{key} is not {what}"));
                    match (key.as_str(), &value) {
                        (_, Value::Null) => {}
                        ("sub", Value::String(s)) => c.sub = Some(s.clone()),
                        ("iss" | "jti", Value::String(_)) => {}
                        ("sub" | "iss" | "jti", _) => return Err(wrong("a string")),
                        ("aud", Value::String(_)) => {}
                        ("aud", Value::Array(a)) if a.iter().all(Value::is_string) => {}
                        ("aud", _) => return Err(wrong("a string or a list of strings")),
                        ("iat" | "exp" | "nbf", Value::Number(n)) => {
                            let v = n.as_f64().ok_or_else(|| wrong("a number"))?;
                            match key.as_str() {
                                "iat" => c.iat = Some(v),
                                "exp" => c.exp = Some(v),
                                _ => {}
                            }
                        }
                        ("iat" | "exp" | "nbf", _) => return Err(wrong("a number")),
                        _ => {}
                    }
                }
                Ok(c)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The longest token read (kube-apiserver's are about 1 KiB).
const MAX_TOKEN: usize = 16 * 1024;

/// The claims runnerkey reads from a token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenClaims {
    /// `sub`, e.g. `system:serviceaccount:gitlab-runner:runner`.
    pub subject: Option<String>,
    /// The service account, from `sub` (when it names a valid one).
    pub service_account: Option<ServiceAccountRef>,
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
    /// first a JSON object); `None` for an opaque token. Read as
    /// kube-apiserver's service-account authenticator reads them
    /// (go-jose's `jwt.ParseSigned` and `Claims`): white space removed,
    /// base64url without padding, the claims a JSON object without
    /// duplicate keys whose registered claims have their types
    /// (`sub` a string, `exp` and `iat` numbers, fractions dropped, or
    /// null). A token the API server could not parse is `malformed`.
    pub fn read(token: &str) -> Option<Self> {
        if token.len() > MAX_TOKEN {
            return None;
        }
        let token: String = token.chars().filter(|c| !c.is_whitespace()).collect();
        let mut parts = token.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let decode = |part: &str| RAW_URL.decode(part).ok();
        // go-jose decodes the signature too: a token whose signature is not
        // base64url is no JWT to the API server.
        decode(signature)?;
        // A JWT has a JSON object for its header; anything else is opaque.
        decode(header)
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .filter(serde_json::Value::is_object)?;
        let digest: [u8; 32] =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
                .as_ref()
                .try_into()
                .unwrap_or([0; 32]);
        let unreadable = |why: String| Self {
            subject: None,
            service_account: None,
            issued_at: None,
            expires_at: None,
            malformed: Some(why),
            digest,
        };
        let Some(bytes) = decode(payload) else {
            return Some(unreadable("its claims are not base64url".into()));
        };
        let claims = match serde_json::from_slice::<Claims>(&bytes) {
            Ok(c) => c,
            Err(e) => {
                return Some(unreadable(format!(
                    "its claims cannot be read as the API server reads them ({})",
                    crate::error::text::without_values(&e.to_string())
                )));
            }
        };
        let mut malformed = None;
        let mut time = |k: &str, v: Option<f64>| {
            let v = v?;
            // Go converts the number to an int64, dropping the fraction.
            let t = (v.is_finite() && v.abs() < 9.2e18)
                .then(|| OffsetDateTime::from_unix_timestamp(v.trunc() as i64).ok())
                .flatten();
            if t.is_none() {
                malformed.get_or_insert_with(|| {
                    format!("its {k} claim ({v}) is not a Unix time the API server can use")
                });
            }
            t
        };
        let (issued_at, expires_at) = (time("iat", claims.iat), time("exp", claims.exp));
        if let (Some(start), Some(end)) = (issued_at, expires_at)
            && start >= end
        {
            malformed.get_or_insert_with(|| "it was issued (iat) after it ends (exp)".into());
        }
        let subject = claims.sub;
        let service_account = subject.as_deref().and_then(ServiceAccountRef::from_user);
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
pub(crate) mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    /// A token with these claims (signature not checked here).
    pub(crate) fn jwt(claims: &str) -> String {
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
        assert_eq!(
            c.service_account,
            Some(ServiceAccountRef::new("ci", "runner").unwrap())
        );
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
        assert!(user.malformed.unwrap().contains("exp is not a number"));
        // As go-jose reads them: a fraction dropped, null as absent, a key
        // twice or a sub that is no string unreadable, padding refused.
        let c = TokenClaims::read(&jwt(r#"{"iat":1700000000.9,"exp":null}"#)).unwrap();
        assert_eq!(c.issued_at.unwrap().unix_timestamp(), 1_700_000_000);
        assert_eq!((c.expires_at, c.malformed), (None, None));
        for bad in [r#"{"exp":1,"exp":2}"#, r#"{"sub":5}"#, r#"{"aud":5}"#] {
            assert!(
                TokenClaims::read(&jwt(bad)).unwrap().malformed.is_some(),
                "{bad}"
            );
        }
        assert!(TokenClaims::read(&format!("{}=", jwt("{}"))).is_none());
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
