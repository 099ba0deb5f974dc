//! Why a certificate subject must not be signed. Kept apart from the
//! identity rules so that the error type can name it without depending on
//! them.

use std::fmt;

use serde::Serialize;

/// Why a subject cannot be signed: it could be read as another identity
/// than the one shown, or would display differently from what the API
/// server uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SubjectProblem {
    /// More than one CN: Go (and so the API server) uses the last one.
    SeveralCommonNames {
        /// Every CN, in encoding order.
        names: Vec<String>,
    },
    /// No CN, or an empty one: the API server authenticates no user.
    NoCommonName,
    /// A CN or O with no text.
    EmptyValue {
        /// `CN` or `O`.
        attribute: String,
    },
    /// A value holding control, bidirectional-override or invisible
    /// characters, which can repaint a terminal or disguise a name.
    DeceptiveCharacters {
        /// The attribute, e.g. `CN`, `O`, `OU`.
        attribute: String,
        /// The value (escape it before display).
        value: String,
    },
    /// A value whose string type is unusual or that Go refuses.
    StringType {
        /// The attribute.
        attribute: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for SubjectProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectProblem::SeveralCommonNames { names } => write!(
                f,
                "the subject has {} CNs ({}); the API server uses the last one, {:?}",
                names.len(),
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                names.last().map(String::as_str).unwrap_or_default()
            ),
            SubjectProblem::NoCommonName => {
                f.write_str("the subject has no CN, so the API server sees no user")
            }
            SubjectProblem::EmptyValue { attribute } => {
                write!(f, "the subject has an empty {attribute}")
            }
            SubjectProblem::DeceptiveCharacters { attribute, value } => write!(
                f,
                "the subject's {attribute} {value:?} holds control or invisible formatting characters"
            ),
            SubjectProblem::StringType { attribute, reason } => {
                write!(f, "the subject's {attribute} is {reason}")
            }
        }
    }
}
