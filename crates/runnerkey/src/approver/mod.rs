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

use crate::Result;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod cluster;
mod decide;
mod decision;
mod deploy;
mod metrics;
mod rate;
mod review;
mod watch;

pub use crate::csr_api::{Refusal, RefusalReason};
pub use decision::{Decision, Outcome};
pub use deploy::{APPROVER_UNIT, ApproverDeployment, ApproverUnit, METRICS_PORT};
pub use metrics::ApproverMetrics;
pub use rate::RateLimit;
pub use review::SELF_CLIENT;
pub use watch::ApproverEvent;

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

impl ApproverParams {
    /// Checks what a user gave: the subresource is a DNS label (it is
    /// written into SubjectAccessReviews, a unit's command line and a pod's
    /// arguments).
    pub fn validate(&self) -> Result<()> {
        crate::k8s_name::check_label("subresource", &self.subresource)?;
        RateLimit::new(self.rate.burst, self.rate.per)?;
        crate::lifetime::Timeout::from_secs_f64("resync", self.resync.as_secs_f64())?;
        crate::lifetime::Timeout::from_secs_f64("timeout", self.timeout.as_secs_f64())?;
        Ok(())
    }
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

/// What the approver remembers between requests.
#[derive(Debug, Default)]
struct State {
    buckets: Buckets,
    /// Per request UID, the decision counted last (each is counted and
    /// logged once, not at every event or list).
    decided: HashMap<String, (&'static str, &'static str)>,
    /// Requests waiting for their requester's rate, by name: from when.
    deferred: BTreeMap<String, Instant>,
    /// UIDs of self-renewal approvals already taken from their requester's
    /// rate (by this approver, or read from the cluster: an approval by
    /// another approver or before a restart counts too).
    counted: HashSet<String>,
    /// When the last complete list was read.
    listed: Option<Instant>,
    metrics: ApproverMetrics,
}

/// The approver: its policy, its memory, its counters.
#[derive(Debug)]
pub struct Approver {
    params: ApproverParams,
    state: Mutex<State>,
    started: Instant,
}

impl Approver {
    /// An approver deciding by `params`.
    pub fn new(params: ApproverParams) -> Self {
        Self {
            params,
            state: Mutex::default(),
            started: Instant::now(),
        }
    }

    /// Whether it is doing its work: a complete list was read within two
    /// resync periods and two minutes (or it started less long ago). A
    /// health check (`/healthz`) fails otherwise, so that an approver that
    /// cannot read the requests is restarted and seen.
    pub fn healthy(&self) -> bool {
        let window = crate::lifetime::capped(self.params.resync) * 2 + Duration::from_secs(120);
        let since = self.lock().listed.unwrap_or(self.started);
        since.elapsed() <= window
    }

    fn listed(&self) {
        let mut state = self.lock();
        state.listed = Some(Instant::now());
        state.metrics.last_list = Some(time::OffsetDateTime::now_utc().unix_timestamp());
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

    /// Forgets what it remembered of requests no longer listed.
    fn retain(
        &self,
        listed_uids: &std::collections::HashSet<String>,
        listed_names: &std::collections::HashSet<String>,
    ) {
        let mut state = self.lock();
        state.decided.retain(|uid, _| listed_uids.contains(uid));
        state.counted.retain(|uid| listed_uids.contains(uid));
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

#[cfg(test)]
mod tests;
