//! The status as a Prometheus text file (the exposition format
//! node_exporter's textfile collector reads).

use std::fmt::Write as _;

use time::OffsetDateTime;

use super::{Credential, RunnerStatus, StatusReport, Times};
use crate::renewal_record::RenewalRecord;

impl StatusReport {
    /// The report in the Prometheus text exposition format, for
    /// node_exporter's textfile collector: per runner its certificate's
    /// notBefore, notAfter and renewal time, whether renewal is due, whether
    /// it expired, and whether the credential is usable.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let labels = |r: &RunnerStatus| {
            format!(
                "runner=\"{}\",index=\"{}\",user=\"{}\"",
                escape(&r.runner),
                r.index,
                escape(r.user.as_deref().unwrap_or(""))
            )
        };
        let typed =
            |out: &mut String, kind: &str, name: &str, help: &str, rows: Vec<(String, f64)>| {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} {kind}");
                for (labels, value) in rows {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            };
        let family = |out: &mut String, name: &str, help: &str, rows: Vec<(String, f64)>| {
            typed(out, "gauge", name, help, rows);
        };
        let timed = |kind: Credential| -> Vec<(&RunnerStatus, Times)> {
            self.runners
                .iter()
                .filter(|r| r.credential == kind)
                .filter_map(|r| r.times.map(|t| (r, t)))
                .collect()
        };
        let with_cert = timed(Credential::ClientCertificate);
        let with_token = timed(Credential::BearerToken);
        let rows = |f: &Sample| {
            with_cert
                .iter()
                .map(|(r, t)| (labels(r), f(r, *t)))
                .collect::<Vec<_>>()
        };
        family(
            &mut out,
            "runnerkey_client_certificate_expiry_timestamp_seconds",
            "When the runner's client certificate expires (notAfter), as a Unix time.",
            rows(&|_, t| t.1 as f64),
        );
        family(
            &mut out,
            "runnerkey_bearer_token_expiry_timestamp_seconds",
            "When the runner's service account token expires (exp), as a Unix time.",
            with_token
                .iter()
                .map(|(r, t)| (labels(r), t.1 as f64))
                .collect(),
        );
        family(
            &mut out,
            "runnerkey_bearer_token_renewal_due",
            "1 when the runner's service account token is due for renewal.",
            with_token
                .iter()
                .map(|(r, _)| (labels(r), f64::from(u8::from(r.renewal_due))))
                .collect(),
        );
        let recorded: Vec<(&RunnerStatus, &RenewalRecord)> = self
            .runners
            .iter()
            .filter_map(|r| r.last_renewal.as_ref().map(|l| (r, l)))
            .collect();
        typed(
            &mut out,
            "counter",
            "runnerkey_renewal_failures_total",
            "Failed renewal attempts of the runner's credential.",
            self.runners
                .iter()
                .map(|r| {
                    let n = r.last_renewal.as_ref().map_or(0, |l| l.failures_total);
                    (labels(r), n as f64)
                })
                .collect(),
        );
        family(
            &mut out,
            "runnerkey_last_renewal_success",
            "1 when the runner's last renewal attempt succeeded.",
            recorded
                .iter()
                .map(|(r, l)| (labels(r), f64::from(u8::from(l.ok))))
                .collect(),
        );
        family(
            &mut out,
            "runnerkey_last_renewal_timestamp_seconds",
            "When the runner's last renewal attempt ran, as a Unix time.",
            recorded
                .iter()
                .filter_map(|(r, l)| {
                    OffsetDateTime::parse(&l.at, &time::format_description::well_known::Rfc3339)
                        .ok()
                        .map(|t| (labels(r), t.unix_timestamp() as f64))
                })
                .collect(),
        );
        family(
            &mut out,
            "runnerkey_certificate_not_before_seconds",
            "The runner's client certificate's notBefore, as a Unix time.",
            rows(&|_, t| t.0 as f64),
        );
        family(
            &mut out,
            "runnerkey_certificate_not_after_seconds",
            "The runner's client certificate's notAfter, as a Unix time.",
            rows(&|_, t| t.1 as f64),
        );
        family(
            &mut out,
            "runnerkey_certificate_renew_at_seconds",
            "When the runner's client certificate is due for renewal, as a Unix time.",
            rows(&|_, t| t.2 as f64),
        );
        family(
            &mut out,
            "runnerkey_certificate_renewal_due",
            "1 when the runner's client certificate is due for renewal.",
            rows(&|r, _| f64::from(u8::from(r.renewal_due))),
        );
        family(
            &mut out,
            "runnerkey_certificate_expired",
            "1 when the runner's client certificate has expired.",
            rows(&|r, _| f64::from(u8::from(r.expired))),
        );
        family(
            &mut out,
            "runnerkey_credential_ok",
            "1 when the runner's credential is readable, matches its key and has not expired.",
            self.runners
                .iter()
                .map(|r| {
                    let ok = r.problem.is_none() && !r.expired;
                    (labels(r), f64::from(u8::from(ok)))
                })
                .collect(),
        );
        let _ = writeln!(
            out,
            "# HELP runnerkey_status_generated_seconds When runnerkey wrote this, as a Unix time."
        );
        let _ = writeln!(out, "# TYPE runnerkey_status_generated_seconds gauge");
        let _ = writeln!(out, "runnerkey_status_generated_seconds {}", self.now);
        out
    }
}

/// One sample's value from a runner's status and times.
type Sample = dyn Fn(&RunnerStatus, Times) -> f64;

/// A label value as the exposition format wants it (`\\`, `\"`, `\n`);
/// other control and invisible formatting characters, which the format
/// would carry raw to a terminal or a log, become the visible text `\xNN`
/// or `\u{NNNN}` (its backslash escaped).
fn escape(v: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\\\x{:02x}", c as u32);
            }
            c if c.is_control() || crate::identity::is_invisible_format(c) => {
                let _ = write!(out, "\\\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}
