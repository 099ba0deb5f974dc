//! The keys gitlab-runner's config.toml decoder knows, embedded from
//! `data/gitlab-runner-config-keys.tsv` (generated from gitlab-runner's Go
//! structs; see the file's header for its source).

use std::collections::HashMap;
use std::sync::OnceLock;

/// The gitlab-runner version the key list was taken from.
pub const GITLAB_RUNNER_VERSION: &str = "19.4.0 (main at d79f3e7b, 2026-08-22)";

const TSV: &str = include_str!("../../data/gitlab-runner-config-keys.tsv");

/// How a key's value is shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// A scalar or array value.
    Value,
    /// A table.
    Table,
    /// An array of tables (`[[…]]`).
    ArrayOfTables,
    /// A free-form table of string keys (labels, node selectors …).
    Map,
}

/// One known key.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KeyInfo {
    /// Canonical dotted path, e.g. `runners.kubernetes.cert_file`.
    pub path: String,
    /// Its shape.
    pub kind: KeyKind,
    /// The notes column (deprecations, behaviour).
    pub note: String,
    /// The TOML value type the Go field decodes from, for values.
    pub value_type: Option<ValueType>,
}

/// The TOML type a Go field decodes from (BurntSushi/toml's rules): a
/// value of another type makes gitlab-runner refuse the whole file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueType {
    /// `string` and string-like named types.
    String,
    /// Integers of every width.
    Integer,
    /// `bool`.
    Boolean,
    /// `float64`: a float or an integer.
    Float,
    /// `time.Duration`: a string like "1h" or an integer of nanoseconds.
    Duration,
    /// A slice of strings.
    StringArray,
    /// A slice of numbers.
    NumberArray,
}

impl ValueType {
    fn from_go(go: &str) -> Option<Self> {
        Some(match go.trim_start_matches('*') {
            "string"
            | "api.ProcMountType"
            | "S3AuthType"
            | "KubernetesPodSpecPatchType"
            | "KubernetesDNSPolicy" => ValueType::String,
            "int" | "int64" | "int32" => ValueType::Integer,
            "bool" => ValueType::Boolean,
            "float64" => ValueType::Float,
            "time.Duration" => ValueType::Duration,
            "[]string" | "[]api.Capability" | "[]DockerPullPolicy" => ValueType::StringArray,
            "[]float64" | "[]int64" => ValueType::NumberArray,
            _ => return None,
        })
    }

    /// Whether `value` decodes into this type.
    pub(crate) fn accepts(self, value: &toml_edit::Value) -> bool {
        use toml_edit::Value as V;
        let number = |v: &V| matches!(v, V::Integer(_) | V::Float(_));
        match self {
            ValueType::String => matches!(value, V::String(_)),
            ValueType::Integer => matches!(value, V::Integer(_)),
            ValueType::Boolean => matches!(value, V::Boolean(_)),
            ValueType::Float => number(value),
            ValueType::Duration => matches!(value, V::String(_) | V::Integer(_)),
            ValueType::StringArray => match value {
                V::Array(a) => a.iter().all(|v| matches!(v, V::String(_))),
                _ => false,
            },
            ValueType::NumberArray => match value {
                V::Array(a) => a.iter().all(number),
                _ => false,
            },
        }
    }

    /// The type's name in the TOML specification's words.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "a string",
            ValueType::Integer => "an integer",
            ValueType::Boolean => "a boolean",
            ValueType::Float => "a number",
            ValueType::Duration => "a duration string like \"1h\" or an integer",
            ValueType::StringArray => "an array of strings",
            ValueType::NumberArray => "an array of numbers",
        }
    }
}

impl KeyInfo {
    /// Whether the notes mark it deprecated.
    pub fn is_deprecated(&self) -> bool {
        self.note.starts_with("DEPRECATED")
    }
}

/// The whole list, indexed.
#[derive(Debug, Default)]
pub struct KeyTable {
    keys: HashMap<String, KeyInfo>,
    children: HashMap<String, Vec<String>>,
    removed: HashMap<String, String>,
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('.').map(|(p, _)| p).unwrap_or("")
}

impl KeyTable {
    fn parse(tsv: &str) -> Self {
        let mut t = KeyTable::default();
        let mut in_removed = false;
        for line in tsv.lines() {
            if line.starts_with("# REMOVED") {
                in_removed = true;
                continue;
            }
            let (line, removed) = match line.strip_prefix("# ") {
                Some(rest) if in_removed => (rest, true),
                Some(_) => continue,
                None if line.starts_with('#') || line.trim().is_empty() => continue,
                None => (line, false),
            };
            let cols: Vec<&str> = line.split('\t').collect();
            let path = cols[0].to_string();
            let note = cols.get(4).copied().unwrap_or("").to_string();
            if removed {
                t.removed.insert(path, note);
                continue;
            }
            let kind = match cols.get(2).copied() {
                Some("table") => KeyKind::Table,
                Some("array-of-tables") => KeyKind::ArrayOfTables,
                Some("map") => KeyKind::Map,
                _ => KeyKind::Value,
            };
            let leaf = path.rsplit('.').next().unwrap_or(&path).to_string();
            t.children
                .entry(parent_of(&path).to_string())
                .or_default()
                .push(leaf);
            let value_type = match kind {
                KeyKind::Value => cols.get(1).copied().and_then(ValueType::from_go),
                _ => None,
            };
            t.keys.insert(
                path.clone(),
                KeyInfo {
                    path,
                    kind,
                    note,
                    value_type,
                },
            );
        }
        t
    }

    /// The embedded table.
    pub fn get() -> &'static KeyTable {
        static TABLE: OnceLock<KeyTable> = OnceLock::new();
        TABLE.get_or_init(|| KeyTable::parse(TSV))
    }

    /// Looks up `parent.name`: exactly, then case-insensitively (as
    /// gitlab-runner's TOML decoder does).
    pub fn lookup(&self, parent: &str, name: &str) -> Option<&KeyInfo> {
        let join = |n: &str| {
            if parent.is_empty() {
                n.to_string()
            } else {
                format!("{parent}.{n}")
            }
        };
        self.keys.get(&join(name)).or_else(|| {
            let canonical = self
                .children
                .get(parent)?
                .iter()
                .find(|c| c.eq_ignore_ascii_case(name))?;
            self.keys.get(&join(canonical))
        })
    }

    /// Every known key's canonical path.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// The removal note of a key gitlab-runner no longer reads.
    pub fn removed(&self, path: &str) -> Option<&str> {
        self.removed.get(path).map(String::as_str)
    }

    /// Known keys under `parent` close to `name` (for "did you mean").
    pub fn suggest(&self, parent: &str, name: &str) -> Vec<String> {
        let Some(children) = self.children.get(parent) else {
            return Vec::new();
        };
        let lower = name.to_ascii_lowercase();
        let limit = (name.len() / 3).clamp(1, 3);
        let mut scored: Vec<(usize, &String)> = children
            .iter()
            .map(|c| (distance(&lower, &c.to_ascii_lowercase()), c))
            .filter(|(d, _)| *d <= limit)
            .collect();
        scored.sort();
        scored.into_iter().take(3).map(|(_, c)| c.clone()).collect()
    }
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_kubernetes_keys_and_removed_ones() {
        let t = KeyTable::get();
        assert_eq!(
            t.lookup("runners.kubernetes", "cert_file").unwrap().kind,
            KeyKind::Value
        );
        assert_eq!(
            t.lookup("runners", "kubernetes").unwrap().kind,
            KeyKind::Table
        );
        assert_eq!(
            t.lookup("runners.cache", "type").unwrap().path,
            "runners.cache.Type"
        );
        assert!(t.lookup("runners", "tls_verify").is_none());
        assert!(
            t.removed("runners.kubernetes.terminationGracePeriodSeconds")
                .is_some()
        );
        assert_eq!(t.suggest("", "runner"), vec!["runners".to_string()]);
        assert!(
            t.suggest("runners.kubernetes", "cert_fille")
                .contains(&"cert_file".to_string())
        );
    }

    #[test]
    fn value_types_follow_the_go_fields() {
        let t = KeyTable::get();
        let ty = |p: &str, n: &str| t.lookup(p, n).and_then(|i| i.value_type);
        assert_eq!(ty("", "concurrent"), Some(ValueType::Integer));
        assert_eq!(
            ty("runners.kubernetes", "privileged"),
            Some(ValueType::Boolean)
        );
        assert_eq!(ty("runners.kubernetes", "host"), Some(ValueType::String));
        let int = toml_edit::Value::from(4i64);
        let text = toml_edit::Value::from("4");
        assert!(ValueType::Integer.accepts(&int) && !ValueType::Integer.accepts(&text));
        assert!(ValueType::Float.accepts(&int) && ValueType::Duration.accepts(&text));
        assert!(t.paths().count() > 500);
    }
}
