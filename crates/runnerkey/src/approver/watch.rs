//! The approver's loop, as a client-go informer runs: list every request
//! (page by page), decide each pending one, then watch from the list's
//! resourceVersion (with bookmarks) and decide each ADDED or MODIFIED one;
//! list again when the watch's version is too old (410 Gone, an ERROR
//! event), at every resync, and after a failure — with a backoff doubling
//! to a minute. Each session connects anew (a kubeconfig read again, an
//! in-cluster token rotated).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::cluster::{ApiCluster, Cluster};
use super::{Approver, Decision};
use crate::api_client::{ApiClient, TransportError, Watched};
use crate::csr_api::{PATH, api, client, refused};
use crate::error::{Error, Result};
use crate::kube_context::KubeContext;

/// What the loop reports as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApproverEvent<'a> {
    /// A decision about one request.
    Decided(&'a Decision),
    /// The whole list was read: this many requests in it.
    Listed {
        /// Requests listed.
        requests: usize,
    },
    /// A session failed; the loop tries again after `retry_in`.
    Trouble {
        /// What failed.
        error: &'a Error,
        /// When it tries again.
        retry_in: Duration,
    },
}

/// The most requests a list reads.
const MAX_LISTED: usize = 100_000;
/// A page's size, at most.
const MAX_PAGE: usize = 500;
/// The most requests one list makes (pages, and pages asked again smaller).
const MAX_LIST_REQUESTS: usize = 20_000;
/// The longest single watch: a stop is noticed at least this often.
const MAX_WATCH: Duration = Duration::from_secs(60);

/// How a watch ended early.
enum Ended {
    Relist,
    Stop,
}

impl Approver {
    /// One pass: reads every request through `context` and decides each
    /// pending one; returns the decisions (nothing is said twice about the
    /// same request by one approver).
    pub fn run_once(&self, context: KubeContext) -> Result<Vec<Decision>> {
        self.params.validate()?;
        let (client, _) = client(context, self.params.timeout, self.params.timeout * 20)?;
        let client = client.purpose("approver");
        let mut decisions = Vec::new();
        self.list(&client, &mut |d| decisions.push(d.clone()))?;
        Ok(decisions)
    }

    /// Runs until `stop` is set: sessions of a list and watches, each with
    /// a context from `connect`, reporting to `on_event`. Failures are
    /// reported and retried; this returns only when stopped.
    pub fn run(
        &self,
        connect: &dyn Fn() -> Result<KubeContext>,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(ApproverEvent<'_>),
    ) {
        let mut backoff = Duration::from_secs(1);
        while !stop.load(Ordering::SeqCst) {
            match self.session(connect, stop, on_event) {
                Ok(()) => backoff = Duration::from_secs(1),
                Err(error) => {
                    on_event(ApproverEvent::Trouble {
                        error: &error,
                        retry_in: backoff,
                    });
                    let until = Instant::now() + backoff;
                    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    /// One session: a list, then watches until the resync.
    fn session(
        &self,
        connect: &dyn Fn() -> Result<KubeContext>,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(ApproverEvent<'_>),
    ) -> Result<()> {
        self.params.validate()?;
        let context = connect()?;
        let timeout = self.params.timeout;
        let life = self.params.resync + timeout * 4 + MAX_WATCH;
        let (actions, server) = client(context.try_clone()?, timeout, life)?;
        let actions = actions.purpose("approver");
        let (watcher, _) = client(context, MAX_WATCH + timeout, life)?;
        let watcher = watcher.purpose("approver");
        let resync_at = Instant::now() + self.params.resync;
        let (mut version, requests) =
            self.list(&actions, &mut |d| on_event(ApproverEvent::Decided(d)))?;
        on_event(ApproverEvent::Listed { requests });
        let cluster = ApiCluster { client: &actions };
        loop {
            let now = Instant::now();
            if stop.load(Ordering::SeqCst) || now >= resync_at {
                return Ok(());
            }
            let (due, next) = self.due(now);
            for name in due {
                if let Ok(Some(object)) = cluster.get(&name)
                    && let Some(d) = self.decide(&cluster, &object, Instant::now())
                {
                    on_event(ApproverEvent::Decided(&d));
                }
            }
            let until = next.map_or(resync_at, |n| n.min(resync_at));
            let seconds = until
                .saturating_duration_since(now)
                .min(MAX_WATCH)
                .as_secs()
                .max(1);
            let path = format!(
                "{PATH}?watch=true&allowWatchBookmarks=true&resourceVersion={version}&timeoutSeconds={seconds}"
            );
            let watched = watcher.watch(&path, |kind, object| {
                if let Some(v) = object["metadata"]["resourceVersion"].as_str() {
                    version = v.to_string();
                }
                match kind {
                    "ADDED" | "MODIFIED" => {
                        if let Some(d) = self.decide(&cluster, object, Instant::now()) {
                            on_event(ApproverEvent::Decided(&d));
                        }
                    }
                    // 410 Gone (the version is too old) or any other error.
                    "ERROR" => return Some(Ended::Relist),
                    _ => {}
                }
                stop.load(Ordering::SeqCst).then_some(Ended::Stop)
            });
            match watched {
                Ok(Watched::Done(Ended::Relist)) => return Ok(()),
                Ok(Watched::Done(Ended::Stop)) => return Ok(()),
                Ok(Watched::Ended) | Err(TransportError::Timeout(_)) => {}
                Ok(Watched::Refused(r)) => {
                    self.count_error("watch");
                    return Err(refused(&r, "watching CertificateSigningRequests"));
                }
                Err(e) => {
                    self.count_error("watch");
                    return Err(api(e, &server));
                }
            }
        }
    }

    fn count_error(&self, during: &'static str) {
        *self.lock().metrics.errors.entry(during).or_default() += 1;
    }

    /// Reads every request, page by page, and decides each: the list's
    /// resourceVersion and how many there were.
    fn list(
        &self,
        client: &ApiClient,
        on_decision: &mut dyn FnMut(&Decision),
    ) -> Result<(String, usize)> {
        let cluster = ApiCluster { client };
        let mut token = String::new();
        let mut uids = HashSet::new();
        let mut names = HashSet::new();
        // Pages of up to 500; a page larger than the client reads (a few
        // huge requests) is asked again with half as many, down to one,
        // so that nobody's large requests stop the approvals of others.
        let mut limit = MAX_PAGE;
        for _ in 0..MAX_LIST_REQUESTS {
            let mut path = format!("{PATH}?limit={limit}");
            if !token.is_empty() {
                path.push_str("&continue=");
                // Continue tokens are base64url; anything else is escaped.
                for b in token.bytes() {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        path.push(char::from(b));
                    } else {
                        path.push_str(&format!("%{b:02X}"));
                    }
                }
            }
            let got = match client.request("GET", &path, None) {
                Err(TransportError::TooLarge(_)) if limit > 1 => {
                    limit = (limit / 2).max(1);
                    continue;
                }
                other => other.map_err(|e| {
                    self.count_error("list");
                    api(e, "the API server")
                })?,
            };
            if got.status != 200 {
                self.count_error("list");
                return Err(refused(&got, "listing CertificateSigningRequests"));
            }
            let page = got
                .json("a list of CertificateSigningRequests")
                .map_err(|e| e.answered("listing CertificateSigningRequests", got.status))?;
            for object in page["items"].as_array().into_iter().flatten() {
                let meta = &object["metadata"];
                uids.insert(meta["uid"].as_str().unwrap_or("").to_string());
                names.insert(meta["name"].as_str().unwrap_or("").to_string());
                if let Some(d) = self.decide(&cluster, object, Instant::now()) {
                    on_decision(&d);
                }
            }
            if uids.len() > MAX_LISTED {
                break;
            }
            limit = (limit * 2).min(MAX_PAGE);
            token = page["metadata"]["continue"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if token.is_empty() {
                self.retain(&uids, &names);
                self.listed();
                let version = page["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or("0")
                    .to_string();
                return Ok((version, uids.len()));
            }
        }
        Err(Error::TooManyObjects {
            what: "CertificateSigningRequests",
            max: MAX_LISTED,
        })
    }
}
