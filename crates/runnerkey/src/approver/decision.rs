//! What the approver decided about one request, as data, text and JSON.

use crate::csr_api::Refusal;
use crate::identity::Identity;

/// The reason of the Approved condition the approver sets.
pub(super) const APPROVED_REASON: &str = "RunnerkeySelfRenewal";

/// What the approver decided about one request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// The request's name.
    pub name: String,
    /// Who submitted it (`spec.username`).
    pub requester: String,
    /// The decision.
    pub outcome: Outcome,
}

/// A decision's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Approved, for this identity.
    Approved(Identity),
    /// Another approver approved it first.
    ApprovedElsewhere,
    /// Denied, with the reason.
    Denied(Refusal),
    /// Left pending, with the reason.
    LeftPending(Refusal),
    /// The cluster could not be asked (`during` what).
    Failed {
        /// What was being done.
        during: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl Outcome {
    /// The (outcome, reason) pair counted in the metrics: `approved`,
    /// `approved-elsewhere`, `denied`, `ignored` (left pending) or
    /// `failed`, and the reason's label.
    pub fn key(&self) -> (&'static str, &'static str) {
        match self {
            Outcome::Approved(_) => ("approved", "self-renewal"),
            Outcome::ApprovedElsewhere => ("approved-elsewhere", "conflict"),
            Outcome::Denied(r) => ("denied", r.reason.label()),
            Outcome::LeftPending(r) => ("ignored", r.reason.label()),
            Outcome::Failed { during, .. } => ("failed", during),
        }
    }
}

impl serde::Serialize for Decision {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (outcome, reason) = self.outcome.key();
        let mut st = s.serialize_struct("Decision", 6)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("requester", &self.requester)?;
        st.serialize_field("outcome", outcome)?;
        st.serialize_field("reason", reason)?;
        let (identity, detail) = match &self.outcome {
            Outcome::Approved(who) => (Some(who.to_string()), None),
            Outcome::Denied(r) | Outcome::LeftPending(r) => (None, Some(r.detail.clone())),
            Outcome::Failed { message, .. } => (None, Some(message.clone())),
            Outcome::ApprovedElsewhere => (None, None),
        };
        st.serialize_field("identity", &identity)?;
        st.serialize_field("detail", &detail)?;
        st.end()
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, by) = (&self.name, &self.requester);
        match &self.outcome {
            Outcome::Approved(who) => {
                write!(f, "approved {name} from {by:?}: a renewal of {who}")
            }
            Outcome::ApprovedElsewhere => {
                write!(
                    f,
                    "{name} from {by:?} was approved by another approver first"
                )
            }
            Outcome::Denied(r) => {
                write!(f, "denied {name} from {by:?} ({}): {r}", r.reason.label())
            }
            Outcome::LeftPending(r) => write!(
                f,
                "left {name} from {by:?} pending ({}): {r}",
                r.reason.label()
            ),
            Outcome::Failed { during, message } => {
                write!(
                    f,
                    "could not decide {name} from {by:?} ({during}): {message}"
                )
            }
        }
    }
}
