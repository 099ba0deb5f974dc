//! `runnerkey approver`: approves `kubernetes.io/kube-apiserver-client`
//! requests that renew their submitter's own identity, as
//! kube-controller-manager approves kubelets' client renewals, so that a
//! fleet of runners renews itself through the CSR API with no admin
//! credential on any runner host.
//!
//! A request is approved only when both hold:
//! - the policy (that of `k8s-csr approve` without an expectation):
//!   the request, read exactly as the signer will read it, asks for its
//!   submitter's own user, groups the submitter holds, no `system:` group,
//!   client usages only and nothing besides the subject;
//! - the cluster's authorizer says the submitter may `create` the
//!   subresource `certificatesigningrequests/selfclient` (a
//!   SubjectAccessReview, see [`SELF_CLIENT`]): ordinary RBAC an admin
//!   grants per group of runners (`runnerkey rbac --profile renewer`).
//!
//! Then each requester is held to a rate ([`RateLimit`]). Anything else is
//! left pending for a person — or, for a policy refusal when asked to
//! ([`ApproverParams::deny`]), denied with the reason — and logged and
//! counted once per request ([`ApproverMetrics`]).
//!
//! Two approvers at once never approve a request twice: the approval is an
//! update of the object as read (its resourceVersion), which the API server
//! refuses with 409 when another approver changed it first; the approver
//! then reads it again and finds it approved.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::csr_api::judge;
use crate::identity::Identity;
use crate::k8s_csr::{CLIENT_SIGNER, K8sCsr};

mod cluster;
mod deploy;
mod metrics;
mod rate;
mod review;
mod watch;

pub use crate::csr_api::{Refusal, RefusalReason};
pub use deploy::{APPROVER_UNIT, ApproverDeployment, ApproverUnit, METRICS_PORT};
pub use metrics::ApproverMetrics;
pub use rate::RateLimit;
pub use review::SELF_CLIENT;
pub use watch::ApproverEvent;

use cluster::Cluster;
use rate::Buckets;

/// How the approver decides and runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ApproverParams {
    /// The subresource of `certificatesigningrequests` a requester must be
    /// allowed to `create` (default [`SELF_CLIENT`]).
    pub subresource: String,
    /// Deny (with the reason) a request the policy refuses, instead of
    /// leaving it pending for a person. A missing grant or a rate exceeded
    /// is never denied: it may change.
    pub deny: bool,
    /// Approvals per requester.
    pub rate: RateLimit,
    /// Read the whole list again this often (a watch can miss nothing the
    /// list does not find again).
    pub resync: Duration,
    /// Each request's deadline.
    pub timeout: Duration,
}

impl Default for ApproverParams {
    fn default() -> Self {
        Self {
            subresource: SELF_CLIENT.into(),
            deny: false,
            rate: RateLimit::default(),
            resync: Duration::from_secs(300),
            timeout: crate::defaults::REQUEST_TIMEOUT_DURATION,
        }
    }
}

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

/// What the approver remembers between requests.
#[derive(Debug, Default)]
struct State {
    buckets: Buckets,
    /// Per request UID, the decision counted last (each is counted and
    /// logged once, not at every event or list).
    decided: HashMap<String, (&'static str, &'static str)>,
    /// Requests waiting for their requester's rate, by name: from when.
    deferred: BTreeMap<String, Instant>,
    metrics: ApproverMetrics,
}

/// The approver: its policy, its memory, its counters.
#[derive(Debug)]
pub struct Approver {
    params: ApproverParams,
    state: Mutex<State>,
}

impl Approver {
    /// An approver deciding by `params`.
    pub fn new(params: ApproverParams) -> Self {
        Self {
            params,
            state: Mutex::default(),
        }
    }

    /// Its counters, now.
    pub fn metrics(&self) -> ApproverMetrics {
        let state = self.lock();
        let mut m = state.metrics.clone();
        m.deferred = state.deferred.len();
        m
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere leaves counters, not a broken invariant.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides about `object` (a CertificateSigningRequest as the API
    /// returns it) at `now`: `None` when there is nothing to decide (another
    /// signer, already decided) or nothing new to say.
    fn decide(&self, cluster: &dyn Cluster, object: &Value, now: Instant) -> Option<Decision> {
        if object["spec"]["signerName"] != CLIENT_SIGNER || settled(object) {
            return None;
        }
        let name = object["metadata"]["name"].as_str()?.to_string();
        let uid = object["metadata"]["uid"]
            .as_str()
            .unwrap_or(&name)
            .to_string();
        let requester = object["spec"]["username"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let outcome = self.outcome(cluster, object, &name, &requester, now);
        let key = outcome.key();
        let mut state = self.lock();
        if let Outcome::Failed { during, .. } = &outcome {
            *state.metrics.errors.entry(during).or_default() += 1;
            return Some(Decision {
                name,
                requester,
                outcome,
            });
        }
        if !matches!(outcome.key().1, "rate-limited") {
            state.deferred.remove(&name);
        }
        if outcome == Outcome::ApprovedElsewhere {
            state.metrics.conflicts += 1;
        }
        if state.decided.insert(uid, key) == Some(key) {
            return None;
        }
        *state.metrics.decisions.entry(key).or_default() += 1;
        Some(Decision {
            name,
            requester,
            outcome,
        })
    }

    fn outcome(
        &self,
        cluster: &dyn Cluster,
        object: &Value,
        name: &str,
        requester: &str,
        now: Instant,
    ) -> Outcome {
        // A list's items carry no apiVersion and kind.
        let mut typed = object.clone();
        if typed.get("kind").is_none() {
            typed["apiVersion"] = json!("certificates.k8s.io/v1");
            typed["kind"] = json!("CertificateSigningRequest");
        }
        let judged = K8sCsr::parse(&typed.to_string())
            .map_err(|e| Refusal::new(RefusalReason::Malformed, e.chain()))
            .and_then(|parsed| judge(&parsed, object, None));
        let identity = match judged {
            Ok(identity) => identity,
            Err(refusal) if self.params.deny => {
                return match self.put(cluster, name, object, "Denied", &refusal.detail) {
                    Ok(()) => Outcome::Denied(refusal),
                    Err(outcome) => outcome,
                };
            }
            Err(refusal) => return Outcome::LeftPending(refusal),
        };
        match cluster.review(&review::body(object, &self.params.subresource)) {
            Err(message) => {
                return Outcome::Failed {
                    during: "review",
                    message,
                };
            }
            Ok(answer) => {
                if let Err(why) = review::allowed(&answer) {
                    return Outcome::LeftPending(Refusal::new(
                        RefusalReason::NoGrant,
                        format!(
                            "{requester:?} may not create certificatesigningrequests/{} in certificates.k8s.io ({why}): grant it with runnerkey rbac --profile renewer",
                            self.params.subresource
                        ),
                    ));
                }
            }
        }
        let taken = self.lock().buckets.take(self.params.rate, requester, now);
        if let Err(from) = taken {
            self.lock().deferred.insert(name.to_string(), from);
            return Outcome::LeftPending(Refusal::new(
                RefusalReason::RateLimited,
                format!(
                    "{requester:?} was approved {} times within {}: this one waits {} s",
                    self.params.rate.burst,
                    crate::lifetime::Lifetime::from_duration(self.params.rate.per),
                    from.saturating_duration_since(now).as_secs()
                ),
            ));
        }
        let message = format!(
            "approved by runnerkey approver: a renewal of {requester}'s own identity ({identity}), allowed to create certificatesigningrequests/{}",
            self.params.subresource
        );
        match self.put(cluster, name, object, "Approved", &message) {
            Ok(()) => Outcome::Approved(identity),
            Err(outcome) => outcome,
        }
    }

    /// Adds the condition `kind` through the approval subresource, as an
    /// update of the object as read. On a conflict (another approver, or
    /// any change) the object is read again: approved already is
    /// [`Outcome::ApprovedElsewhere`]; still pending and unchanged in what
    /// was judged, the update is tried once more.
    fn put(
        &self,
        cluster: &dyn Cluster,
        name: &str,
        object: &Value,
        kind: &str,
        message: &str,
    ) -> Result<(), Outcome> {
        let mut current = object.clone();
        for _ in 0..3 {
            let mut update = current.clone();
            let mut conditions = update["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            conditions.push(json!({
                "type": kind, "status": "True",
                "reason": if kind == "Approved" { "RunnerkeySelfRenewal" } else { "RunnerkeyPolicy" },
                "message": message,
            }));
            update["status"]["conditions"] = Value::Array(conditions);
            match cluster.update_approval(name, &update) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(message) => {
                    return Err(Outcome::Failed {
                        during: "approve",
                        message,
                    });
                }
            }
            // 409: read it again.
            current = match cluster.get(name) {
                Ok(Some(v)) => v,
                Ok(None) => {
                    return Err(Outcome::Failed {
                        during: "approve",
                        message: "deleted while it was being decided".into(),
                    });
                }
                Err(message) => {
                    return Err(Outcome::Failed {
                        during: "approve",
                        message,
                    });
                }
            };
            if has_condition(&current, "Approved") {
                return Err(Outcome::ApprovedElsewhere);
            }
            if settled(&current) || current["spec"] != object["spec"] {
                return Err(Outcome::Failed {
                    during: "approve",
                    message: "decided or changed by someone else meanwhile".into(),
                });
            }
        }
        Err(Outcome::Failed {
            during: "approve",
            message: "the update conflicted three times".into(),
        })
    }

    /// Forgets what it remembered of requests no longer listed.
    fn retain(
        &self,
        listed_uids: &std::collections::HashSet<String>,
        listed_names: &std::collections::HashSet<String>,
    ) {
        let mut state = self.lock();
        state.decided.retain(|uid, _| listed_uids.contains(uid));
        state.deferred.retain(|name, _| listed_names.contains(name));
    }

    /// Names of deferred requests whose time has come, and the next time
    /// one will.
    fn due(&self, now: Instant) -> (Vec<String>, Option<Instant>) {
        let state = self.lock();
        let due = state
            .deferred
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(n, _)| n.clone())
            .collect();
        let next = state.deferred.values().filter(|t| **t > now).min().copied();
        (due, next)
    }
}

fn has_condition(object: &Value, kind: &str) -> bool {
    object["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == kind))
}

/// Approved, denied or failed already, or issued.
fn settled(object: &Value) -> bool {
    ["Approved", "Denied", "Failed"]
        .iter()
        .any(|k| has_condition(object, k))
        || object["status"]["certificate"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
}

#[cfg(test)]
mod tests;
