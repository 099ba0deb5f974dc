//! How bad a finding or problem is; the exit status follows from it.

use serde::Serialize;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The runner will fail, is dangerously over-privileged, or silently
    /// ignores a setting: exit status 1.
    Error,
    /// Works, but probably not as intended, or could not be checked.
    Warning,
    /// Worth knowing.
    Info,
}

impl Severity {
    /// `error`, `warning` or `info` (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

crate::named::display_as_str!(Severity);
