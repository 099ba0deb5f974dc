//! The decision about one request: the policy, the requester's grant
//! (a SubjectAccessReview), its rate, and the approval as an update of the
//! object as read (a conflict is read again, never approved twice).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cluster::Cluster;
use super::decision::APPROVED_REASON;
use super::{Approver, Decision, Outcome, review};
use crate::csr_api::{Refusal, RefusalReason, judge};
use crate::k8s_csr::{CLIENT_SIGNER, K8sCsr};

impl Approver {
    /// Decides about `object` (a CertificateSigningRequest as the API
    /// returns it) at `now`: `None` when there is nothing to decide (another
    /// signer, already decided) or nothing new to say.
    pub(super) fn decide(
        &self,
        cluster: &dyn Cluster,
        object: &Value,
        now: Instant,
    ) -> Option<Decision> {
        if object["spec"]["signerName"] != CLIENT_SIGNER {
            return None;
        }
        if settled(object) {
            self.count_approval(object, now);
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
                            "{requester:?} may not create certificatesigningrequests/{} in certificates.k8s.io ({why}): grant it with the renewer RBAC profile",
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
            Ok(()) => {
                if let Some(uid) = object["metadata"]["uid"].as_str() {
                    self.lock().counted.insert(uid.to_string());
                }
                Outcome::Approved(identity)
            }
            Err(outcome) => outcome,
        }
    }

    /// A self-renewal approved before (by another approver, or by this
    /// one before a restart) is taken from its requester's rate once, at
    /// the time the approval says: the rate holds across approvers and
    /// restarts, read from the cluster's own record.
    fn count_approval(&self, object: &Value, now: Instant) {
        let Some(uid) = object["metadata"]["uid"].as_str() else {
            return;
        };
        let Some(approved) = object["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Approved" && c["reason"] == APPROVED_REASON)
        else {
            return;
        };
        let at = approved["lastUpdateTime"].as_str().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        });
        let Some(at) = at else { return };
        let ago = time::OffsetDateTime::now_utc() - at;
        let Ok(ago) = Duration::try_from(ago) else {
            return;
        };
        if ago > self.params.rate.per {
            return;
        }
        let requester = object["spec"]["username"].as_str().unwrap_or("");
        let mut state = self.lock();
        if state.counted.insert(uid.to_string()) {
            let when = now.checked_sub(ago).unwrap_or(now);
            state.buckets.seed(self.params.rate, requester, when);
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
                "reason": if kind == "Approved" { APPROVED_REASON } else { "RunnerkeyPolicy" },
                "message": message,
                "lastUpdateTime": crate::lifetime::rfc3339(time::OffsetDateTime::now_utc()),
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
}

pub(super) fn has_condition(object: &Value, kind: &str) -> bool {
    object["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == kind))
}

/// Approved, denied or failed already, or issued.
pub(super) fn settled(object: &Value) -> bool {
    ["Approved", "Denied", "Failed"]
        .iter()
        .any(|k| has_condition(object, k))
        || object["status"]["certificate"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
}
