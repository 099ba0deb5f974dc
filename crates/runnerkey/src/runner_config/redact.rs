//! Redaction by meaning: every value whose key is a secret in
//! gitlab-runner's config, and the userinfo of every URL, is hidden however
//! the TOML spells it (inline table, dotted or quoted key, multi-line or
//! literal string), because the parser, not a line pattern, finds it.

use std::collections::HashMap;

use toml_edit::{Document, InlineTable, Item, Table, Value};

use super::keys::KeyTable;
pub use crate::url::{REDACTED, redact_url};

/// The keys of gitlab-runner's config whose values are secrets, by their
/// canonical path in the reference key table (a test checks each exists
/// there, and that every key named like a secret is classified).
pub const SECRET_KEYS: &[&str] = &[
    "runners.token",
    "runners.kubernetes.bearer_token",
    "runners.cache.s3.AccessKey",
    "runners.cache.s3.SecretKey",
    "runners.cache.s3.SessionToken",
    "runners.cache.gcs.PrivateKey",
    "runners.cache.azure.AccountKey",
    "runners.ssh.password",
    "runners.autoscaler.connector_config.password",
    "runners.autoscaler.vm_isolation.connector_config.password",
];

/// What a hidden secret that an edit changed is shown as.
pub const REDACTED_CHANGED: &str = "<redacted> (changed)";

/// A secret found in a document: where, and its value.
struct Secret {
    /// Byte range of the whole value in the text.
    span: std::ops::Range<usize>,
    /// The replacement text (a TOML string).
    replacement: String,
    /// Where it is, e.g. `runners[0].kubernetes.bearer_token`.
    locator: String,
    /// The value, to tell whether an edit changed it.
    value: String,
    /// A secret key's value (not only a URL's userinfo).
    secret: bool,
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Walker<'a> {
    keys: &'static KeyTable,
    found: Vec<Secret>,
    text: &'a str,
}

impl Walker<'_> {
    fn canonical(&self, parent: &str, name: &str) -> String {
        match self.keys.lookup(parent, name) {
            Some(info) => info.path.clone(),
            None if parent.is_empty() => name.to_string(),
            None => format!("{parent}.{name}"),
        }
    }

    fn table(&mut self, t: &Table, path: &str, locator: &str) {
        for (name, item) in t.iter() {
            let canonical = self.canonical(path, name);
            self.item(item, &canonical, &format!("{locator}.{name}"));
        }
    }

    fn inline(&mut self, t: &InlineTable, path: &str, locator: &str) {
        for (name, value) in t.iter() {
            let canonical = self.canonical(path, name);
            self.value(value, &canonical, &format!("{locator}.{name}"));
        }
    }

    fn item(&mut self, item: &Item, path: &str, locator: &str) {
        match item {
            Item::Table(t) => self.table(t, path, locator),
            Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    self.table(t, path, &format!("{locator}[{i}]"));
                }
            }
            Item::Value(v) => self.value(v, path, locator),
            Item::None => {}
        }
    }

    fn value(&mut self, v: &Value, path: &str, locator: &str) {
        match v {
            Value::InlineTable(t) => self.inline(t, path, locator),
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    self.value(v, path, &format!("{locator}[{i}]"));
                }
            }
            _ => {
                let Some(span) = v.span() else { return };
                let raw = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| self.text.get(span.clone()).unwrap_or("").to_string());
                let secret = SECRET_KEYS.contains(&path);
                let replacement = if secret {
                    toml_string(REDACTED)
                } else if let Some(url) = v.as_str().and_then(redact_url) {
                    toml_string(&url)
                } else {
                    return;
                };
                self.found.push(Secret {
                    span,
                    replacement,
                    locator: locator.trim_start_matches('.').to_string(),
                    value: raw,
                    secret,
                });
            }
        }
    }
}

fn secrets(text: &str) -> Option<Vec<Secret>> {
    let doc = Document::parse(text.to_string()).ok()?;
    let mut w = Walker {
        keys: KeyTable::get(),
        found: Vec::new(),
        text,
    };
    w.table(doc.as_table(), "", "");
    Some(w.found)
}

fn splice(text: &str, mut found: Vec<Secret>, changed: impl Fn(&Secret) -> bool) -> String {
    found.sort_by_key(|s| s.span.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in found {
        if s.span.start < at || s.span.end > text.len() {
            continue;
        }
        out.push_str(&text[at..s.span.start]);
        if changed(&s) {
            out.push_str(&toml_string(REDACTED_CHANGED));
        } else {
            out.push_str(&s.replacement);
        }
        at = s.span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// `before` and `after` redacted for a diff: a secret the edit changed
/// shows as [`REDACTED_CHANGED`] in `after`, so the diff still says so.
pub(crate) fn redact_pair(before: &str, after: &str) -> Option<(String, String)> {
    let old = secrets(before)?;
    let new = secrets(after)?;
    let old_values: HashMap<String, String> = old
        .iter()
        .map(|s| (s.locator.clone(), s.value.clone()))
        .collect();
    let a = splice(before, old, |_| false);
    let b = splice(after, new, |s| {
        s.secret && old_values.get(&s.locator) != Some(&s.value)
    });
    Some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPELLINGS: &str = r#"concurrent = 1
[[runners]]
  name = "a"
  url = "https://user:pa55@gitlab.example.com/"
  "token" = 'glrt-literal'
  kubernetes = { host = "https://k:6443", bearer_token = "inline-secret" }
  [runners.cache]
    Type = "s3"
    [runners.cache.s3]
      AccessKey = "AKIAEXAMPLE"
      secretkey = """
multi-line-secret"""
[[runners]]
  name = "b"
  kubernetes.bearer_token = "dotted-secret"
  [runners.cache.azure]
    AccountKey = "azure-secret"
  [runners.cache.gcs]
    PrivateKey = "-----BEGIN PRIVATE KEY-----\nMIIx\n-----END PRIVATE KEY-----\n"
"#;

    #[test]
    fn every_spelling_is_redacted() {
        let (out, same) = redact_pair(SPELLINGS, SPELLINGS).unwrap();
        assert_eq!(out, same);
        for secret in [
            "pa55",
            "glrt-literal",
            "inline-secret",
            "AKIAEXAMPLE",
            "multi-line-secret",
            "dotted-secret",
            "azure-secret",
            "MIIx",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("https://<redacted>@gitlab.example.com/"));
        assert!(out.contains("name = \"b\""));
        toml_edit::Document::parse(out).unwrap();
    }

    #[test]
    fn a_changed_secret_still_shows_in_a_diff() {
        let before = "[[runners]]\n  token = \"old\"\n  name = \"x\"\n";
        let after = "[[runners]]\n  token = \"new\"\n  name = \"x\"\n";
        let (a, b) = redact_pair(before, after).unwrap();
        assert!(a.contains("<redacted>") && b.contains("<redacted> (changed)"));
        let (a, b) = redact_pair(before, before).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn secret_keys_are_in_the_reference_table() {
        let keys = KeyTable::get();
        for k in SECRET_KEYS {
            let (parent, name) = k.rsplit_once('.').unwrap();
            assert_eq!(keys.lookup(parent, name).map(|i| i.path.as_str()), Some(*k));
        }
    }

    #[test]
    fn every_key_named_like_a_secret_is_classified() {
        // Keys whose names look secret but hold none: flags, paths, ids,
        // timestamps and references to Kubernetes Secrets by name.
        let not_secret = |p: &str| {
            let leaf = p.rsplit('.').next().unwrap_or(p).to_ascii_lowercase();
            leaf.ends_with("_at")
                || leaf.ends_with("file")
                || leaf.ends_with("_path")
                || leaf.ends_with("keyid")
                || leaf.ends_with("allowed")
                || leaf.ends_with("caching")
                || leaf.starts_with("use_")
                || leaf.starts_with("automount")
                || leaf.contains("image_pull_secrets")
                || leaf == "authenticationtype"
                || p.contains(".volumes.secret")
        };
        let secret_like = [
            "token",
            "password",
            "secret",
            "privatekey",
            "accesskey",
            "accountkey",
        ];
        for path in KeyTable::get().paths() {
            let leaf = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
            if secret_like.iter().any(|s| leaf.contains(s)) && !not_secret(path) {
                assert!(
                    SECRET_KEYS.contains(&path),
                    "{path} looks secret but is not classified"
                );
            }
        }
    }
}
