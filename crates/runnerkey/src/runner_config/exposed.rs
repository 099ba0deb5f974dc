//! A runner's secrets hidden for display, and the one explicit way to have
//! them in data: `runner-config show --show-secrets`, Python's
//! `list_runners(show_secrets=True)`.

use super::{RunnerInfo, redact};
use crate::secret::Secret;

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

    /// The runner as JSON with `token` and `kubernetes.bearer_token`
    /// written out (a plain `serde_json::to_value` writes `"<redacted>"`
    /// for them). Ask for it only to show a user what they asked to see.
    pub fn to_json_exposing_secrets(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        let exposed = |s: &Option<Secret>| {
            s.as_ref()
                .map(|s| serde_json::Value::String(s.expose_secret().to_string()))
        };
        if let Some(t) = exposed(&self.token) {
            v["token"] = t;
        }
        if let Some(t) = self
            .kubernetes
            .as_ref()
            .and_then(|k| exposed(&k.bearer_token))
        {
            v["kubernetes"]["bearer_token"] = t;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use crate::runner_config::RunnerConfig;

    const CONFIG: &str = "[[runners]]\n  name = \"r\"\n  token = \"glrt-SECRETRUNNER\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"https://k:6443\"\n    bearer_token = \"eyJSECRETBEARER\"\n";

    #[test]
    fn runner_info_debug_and_json_hold_no_secret() {
        let config = RunnerConfig::parse(CONFIG).unwrap();
        let runners = config.runners().unwrap();
        let r = &runners[0];
        let k = r.kubernetes.as_ref().unwrap();
        for shown in [
            format!("{r:?}"),
            format!("{k:?}"),
            serde_json::to_string(r).unwrap(),
            serde_json::to_string(k).unwrap(),
        ] {
            assert!(!shown.contains("SECRET"), "{shown}");
        }
        let exposed = r.to_json_exposing_secrets().to_string();
        assert!(exposed.contains("glrt-SECRETRUNNER"), "{exposed}");
        assert!(exposed.contains("eyJSECRETBEARER"), "{exposed}");
    }
}
