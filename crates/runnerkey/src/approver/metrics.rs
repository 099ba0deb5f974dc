//! What the approver did, counted for Prometheus: every decision once per
//! request (by outcome and reason), the cluster answers that failed, and
//! when it last had the whole list — exposed as Prometheus text.

use std::collections::BTreeMap;
use std::fmt::Write;

/// The approver's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApproverMetrics {
    /// Decisions by (outcome, reason): `approved`/`self-renewal`,
    /// `denied`/REASON, `ignored`/REASON (left pending).
    pub decisions: BTreeMap<(&'static str, &'static str), u64>,
    /// Approvals another approver made first (a conflict on update).
    pub conflicts: u64,
    /// Failed exchanges with the API server, by what was being done.
    pub errors: BTreeMap<&'static str, u64>,
    /// When the last complete list was read (Unix seconds).
    pub last_list: Option<i64>,
    /// Requests waiting for their requester's rate to allow them.
    pub deferred: usize,
}

impl ApproverMetrics {
    /// The counters in Prometheus' text format (0.0.4).
    pub fn prometheus_text(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP runnerkey_approver_requests_total CertificateSigningRequests decided by runnerkey approver, once each, by outcome and reason.\n");
        out.push_str("# TYPE runnerkey_approver_requests_total counter\n");
        for ((outcome, reason), n) in &self.decisions {
            let _ = writeln!(
                out,
                "runnerkey_approver_requests_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} {n}"
            );
        }
        out.push_str("# HELP runnerkey_approver_conflicts_total Approvals found already made by another approver.\n");
        out.push_str("# TYPE runnerkey_approver_conflicts_total counter\n");
        let _ = writeln!(out, "runnerkey_approver_conflicts_total {}", self.conflicts);
        out.push_str("# HELP runnerkey_approver_errors_total Failed exchanges with the API server, by what was being done.\n");
        out.push_str("# TYPE runnerkey_approver_errors_total counter\n");
        for (during, n) in &self.errors {
            let _ = writeln!(
                out,
                "runnerkey_approver_errors_total{{during=\"{during}\"}} {n}"
            );
        }
        out.push_str("# HELP runnerkey_approver_deferred_requests Requests waiting for their requester's approval rate.\n");
        out.push_str("# TYPE runnerkey_approver_deferred_requests gauge\n");
        let _ = writeln!(
            out,
            "runnerkey_approver_deferred_requests {}",
            self.deferred
        );
        if let Some(t) = self.last_list {
            out.push_str("# HELP runnerkey_approver_last_list_timestamp_seconds When the approver last read every request.\n");
            out.push_str("# TYPE runnerkey_approver_last_list_timestamp_seconds gauge\n");
            let _ = writeln!(out, "runnerkey_approver_last_list_timestamp_seconds {t}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_once_with_its_labels() {
        let mut m = ApproverMetrics::default();
        m.decisions.insert(("approved", "self-renewal"), 5);
        m.decisions.insert(("ignored", "other-user"), 1);
        m.errors.insert("watch", 2);
        m.conflicts = 3;
        m.last_list = Some(1_700_000_000);
        let text = m.prometheus_text();
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "runnerkey_approver_requests_total{outcome=\"approved\",reason=\"self-renewal\"} 5",
                "runnerkey_approver_requests_total{outcome=\"ignored\",reason=\"other-user\"} 1",
                "runnerkey_approver_conflicts_total 3",
                "runnerkey_approver_errors_total{during=\"watch\"} 2",
                "runnerkey_approver_deferred_requests 0",
                "runnerkey_approver_last_list_timestamp_seconds 1700000000",
            ]
        );
        // Each metric has its HELP and TYPE once.
        for name in samples.iter().map(|s| s.split(['{', ' ']).next().unwrap()) {
            assert_eq!(
                text.matches(&format!("# TYPE {name} ")).count(),
                1,
                "{name}"
            );
        }
    }
}
