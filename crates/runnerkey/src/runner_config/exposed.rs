//! A runner's secrets hidden for display (`Debug`, `Serialize` and
//! [`RunnerInfo::redacted`]), and the one explicit way to have them in
//! data: `runner-config show --show-secrets`, Python's
//! `list_runners(show_secrets=True)`.

use std::fmt;

use serde::Serializer;

use super::{KubernetesSettings, RunnerInfo, redact};
use crate::secret::Secret;

/// `serialize_with` for a URL field: written without its userinfo.
pub(super) fn url_without_userinfo<S: Serializer>(
    url: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => serializer.serialize_some(&crate::url::without_userinfo(u)),
        None => serializer.serialize_none(),
    }
}

/// A URL field for `Debug`: without its userinfo.
fn shown_url(url: &Option<String>) -> Option<String> {
    url.as_deref().map(crate::url::without_userinfo)
}

impl fmt::Debug for RunnerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured, so that a new field cannot be left out unseen.
        let Self {
            index,
            name,
            url,
            executor,
            token,
            kubernetes,
        } = self;
        f.debug_struct("RunnerInfo")
            .field("index", index)
            .field("name", name)
            .field("url", &shown_url(url))
            .field("executor", executor)
            .field("token", token)
            .field("kubernetes", kubernetes)
            .finish()
    }
}

impl fmt::Debug for KubernetesSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            host,
            cert_file,
            key_file,
            ca_file,
            namespace,
            service_account,
            bearer_token,
            service_account_overwrite_allowed,
        } = self;
        f.debug_struct("KubernetesSettings")
            .field("host", &shown_url(host))
            .field("cert_file", cert_file)
            .field("key_file", key_file)
            .field("ca_file", ca_file)
            .field("namespace", namespace)
            .field("service_account", service_account)
            .field("bearer_token", bearer_token)
            .field(
                "service_account_overwrite_allowed",
                service_account_overwrite_allowed,
            )
            .finish()
    }
}

impl RunnerInfo {
    /// A copy with `token` and `bearer_token` replaced by `<redacted>`, and
    /// the userinfo of `url` hidden.
    pub fn redacted(&self) -> Self {
        let mut r = self.clone();
        if let Some(url) = r.url.as_deref().and_then(redact::redact_url) {
            r.url = Some(url);
        }
        if let Some(k) = &mut r.kubernetes
            && let Some(host) = k.host.as_deref().and_then(redact::redact_url)
        {
            k.host = Some(host);
        }
        if r.token.is_some() {
            r.token = Some(redact::REDACTED.into());
        }
        if let Some(k) = &mut r.kubernetes
            && k.bearer_token.is_some()
        {
            k.bearer_token = Some(redact::REDACTED.into());
        }
        r
    }

    /// The runner as JSON with `token`, `kubernetes.bearer_token` and the
    /// userinfo of `url` and `kubernetes.host` written out (a plain
    /// `serde_json::to_value` hides them). Ask for it only to show a user
    /// what they asked to see.
    pub fn to_json_exposing_secrets(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        let exposed = |s: &Option<Secret>| {
            s.as_ref()
                .map(|s| serde_json::Value::String(s.expose_secret().to_string()))
        };
        let raw = |s: &Option<String>| s.clone().map(serde_json::Value::String);
        if let Some(t) = exposed(&self.token) {
            v["token"] = t;
        }
        if let Some(u) = raw(&self.url) {
            v["url"] = u;
        }
        if let Some(k) = &self.kubernetes {
            if let Some(t) = exposed(&k.bearer_token) {
                v["kubernetes"]["bearer_token"] = t;
            }
            if let Some(h) = raw(&k.host) {
                v["kubernetes"]["host"] = h;
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use crate::runner_config::RunnerConfig;
    use crate::secret::Secret;

    const CONFIG: &str = "[[runners]]\n  name = \"r\"\n  url = \"https://deploy:SECRETURLPW@gitlab.example.com/\"\n  token = \"glrt-SECRETRUNNER\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"https://u:SECRETHOSTPW@k:6443\"\n    bearer_token = \"eyJSECRETBEARER\"\n";

    #[test]
    fn runner_info_debug_and_json_hold_no_secret() {
        let config = RunnerConfig::parse(CONFIG).unwrap();
        let runners = config.runners().unwrap();
        let r = &runners[0];
        let k = r.kubernetes.as_ref().unwrap();
        for shown in [
            format!("{config:?}"),
            format!("{r:?}"),
            format!("{k:?}"),
            serde_json::to_string(r).unwrap(),
            serde_json::to_string(k).unwrap(),
        ] {
            assert!(!shown.contains("SECRET"), "{shown}");
        }
        let shown = serde_json::to_value(r).unwrap();
        assert_eq!(shown["url"], "https://<redacted>@gitlab.example.com/");
        assert_eq!(shown["kubernetes"]["host"], "https://<redacted>@k:6443");
        assert!(format!("{r:?}").contains("https://<redacted>@k:6443"));
        // The fields keep the values as written; the explicit way out
        // shows every secret.
        assert_eq!(
            r.url.as_deref(),
            Some("https://deploy:SECRETURLPW@gitlab.example.com/")
        );
        assert_eq!(k.host.as_deref(), Some("https://u:SECRETHOSTPW@k:6443"));
        let exposed = r.to_json_exposing_secrets().to_string();
        for secret in [
            "glrt-SECRETRUNNER",
            "eyJSECRETBEARER",
            "deploy:SECRETURLPW@",
            "u:SECRETHOSTPW@",
        ] {
            assert!(exposed.contains(secret), "{exposed}");
        }
    }

    #[test]
    fn get_never_gives_a_secret_and_secret_does() {
        use crate::runner_config::KubeKey;
        let config = RunnerConfig::parse(CONFIG).unwrap();
        let k = config.runners().unwrap()[0].kubernetes.clone().unwrap();
        for &key in KubeKey::ALL {
            if key.is_secret() {
                assert_eq!(k.get(key), None, "{key}");
            }
            assert_eq!(k.secret(key).is_some(), key.is_secret(), "{key}");
        }
        assert_eq!(k.get(KubeKey::Namespace), None);
        assert_eq!(k.get(KubeKey::Host), Some("https://u:SECRETHOSTPW@k:6443"));
        assert_eq!(
            k.secret(KubeKey::BearerToken).map(Secret::expose_secret),
            Some("eyJSECRETBEARER")
        );
    }
}
