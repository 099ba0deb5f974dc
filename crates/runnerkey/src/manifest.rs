//! Kubernetes objects as runnerkey emits them: typed, serialised with
//! serde to multi-document YAML or a JSON `List`, ready for
//! `kubectl apply -f -`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The label every object runnerkey makes carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "runnerkey");

/// Kubernetes ObjectMeta (the fields runnerkey sets).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ObjectMeta {
    /// Object name.
    pub name: String,
    /// Namespace, for namespaced objects.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub annotations: BTreeMap<String, String>,
}

impl ObjectMeta {
    /// Metadata with the managed-by label.
    pub fn new(name: impl Into<String>, namespace: Option<&str>) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.map(str::to_string),
            labels: BTreeMap::from([(MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string())]),
            annotations: BTreeMap::new(),
        }
    }
}

/// Serialises objects: multi-document YAML, or a `v1` `List` in JSON.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Manifests<T: Serialize> {
    /// The objects, in apply order.
    pub items: Vec<T>,
    /// Advice to print on stderr (e.g. the risk of cluster-admin).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<'a, T: Serialize> {
    api_version: &'static str,
    kind: &'static str,
    items: &'a [T],
}

impl<T: Serialize> Manifests<T> {
    /// `---`-separated YAML documents.
    pub fn to_yaml(&self) -> Result<String> {
        let mut out = String::new();
        for item in &self.items {
            out.push_str("---\n");
            out.push_str(&to_yaml(item)?);
        }
        Ok(out)
    }

    /// A JSON `List` object.
    pub fn to_json(&self) -> Result<String> {
        to_json(&List {
            api_version: "v1",
            kind: "List",
            items: &self.items,
        })
    }
}

/// One object as YAML.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String> {
    serde_norway::to_string(value)
        .map_err(|e| Error::InvalidArgument(format!("cannot encode YAML: {e}")))
}

/// One object as pretty JSON with a final newline.
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| Error::InvalidArgument(format!("cannot encode JSON: {e}")))
}
