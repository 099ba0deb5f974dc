//! [`ServiceAccountRef`]: a service account named by one rule everywhere.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::k8s_name::{check_label, check_subdomain};

/// A checked service account reference, `NAMESPACE/NAME`: the namespace an
/// RFC 1123 label, the name an RFC 1123 subdomain. The one parser of
/// `--service-account`, `--expect-service-account`, pins, RBAC subjects and
/// TokenRequests.
///
/// ```
/// use runnerkey::ServiceAccountRef;
/// let sa: ServiceAccountRef = "gitlab-runner/runner".parse()?;
/// assert_eq!((sa.namespace(), sa.name()), ("gitlab-runner", "runner"));
/// assert_eq!(sa.user(), "system:serviceaccount:gitlab-runner:runner");
/// assert!("BAD NS/x y".parse::<ServiceAccountRef>().is_err());
/// # Ok::<(), runnerkey::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "ServiceAccountData")]
pub struct ServiceAccountRef {
    namespace: String,
    name: String,
}

impl ServiceAccountRef {
    /// A checked reference to `namespace/name`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Result<Self> {
        let (namespace, name) = (namespace.into(), name.into());
        check_label("namespace", &namespace)?;
        check_subdomain("service account", &name)?;
        Ok(Self { namespace, name })
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The user its tokens authenticate as:
    /// `system:serviceaccount:NAMESPACE:NAME`.
    pub fn user(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }

    /// The service account a user name `system:serviceaccount:NS:NAME`
    /// stands for, if it is one and its parts are valid names.
    pub fn from_user(user: &str) -> Option<Self> {
        let rest = user.strip_prefix("system:serviceaccount:")?;
        let (namespace, name) = rest.split_once(':')?;
        Self::new(namespace, name).ok()
    }
}

/// Parses `NAMESPACE/NAME`.
impl FromStr for ServiceAccountRef {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Self> {
        let (namespace, name) = spec.split_once('/').ok_or_else(|| {
            Error::InvalidArgument(format!(
                "service account {:?} must be NAMESPACE/NAME",
                spec.chars().take(80).collect::<String>()
            ))
        })?;
        Self::new(namespace, name)
    }
}

/// `NAMESPACE/NAME`.
impl fmt::Display for ServiceAccountRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl From<ServiceAccountRef> for String {
    fn from(sa: ServiceAccountRef) -> Self {
        sa.to_string()
    }
}

/// How a service account is written in data: `"NAMESPACE/NAME"`, or (pins
/// written by earlier versions) `["NAMESPACE", "NAME"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ServiceAccountData {
    Text(String),
    Pair(String, String),
}

impl TryFrom<ServiceAccountData> for ServiceAccountRef {
    type Error = Error;

    fn try_from(d: ServiceAccountData) -> Result<Self> {
        match d {
            ServiceAccountData::Text(s) => s.parse(),
            ServiceAccountData::Pair(namespace, name) => Self::new(namespace, name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_namespace_slash_name() {
        let sa: ServiceAccountRef = "ci/runner.v2".parse().unwrap();
        assert_eq!(sa.to_string(), "ci/runner.v2");
        for bad in [
            "BAD NS/x y",
            "ci/x y",
            "Ci/runner",
            "ci",
            "/runner",
            "ci/",
            "a.b/runner",
            "ci/runner/extra",
            "ci/-runner",
        ] {
            assert!(bad.parse::<ServiceAccountRef>().is_err(), "{bad}");
        }
        assert!(ServiceAccountRef::new("ci", "UPPER").is_err());
    }

    #[test]
    fn serde_writes_text_and_reads_text_or_a_pair() {
        let sa = ServiceAccountRef::new("ci", "runner").unwrap();
        assert_eq!(serde_json::to_string(&sa).unwrap(), r#""ci/runner""#);
        for text in [r#""ci/runner""#, r#"["ci","runner"]"#] {
            assert_eq!(serde_json::from_str::<ServiceAccountRef>(text).unwrap(), sa);
        }
        for bad in [r#""BAD NS/x y""#, r#"["ci","x y"]"#, r#""ci""#] {
            assert!(
                serde_json::from_str::<ServiceAccountRef>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn from_user_reads_only_service_account_users() {
        let sa = ServiceAccountRef::from_user("system:serviceaccount:ci:runner").unwrap();
        assert_eq!(sa.user(), "system:serviceaccount:ci:runner");
        assert!(ServiceAccountRef::from_user("gitlab-admin").is_none());
        assert!(ServiceAccountRef::from_user("system:serviceaccount:BAD:x").is_none());
    }
}
