//! The status as a Prometheus text file (the exposition format
//! node_exporter's textfile collector reads): one metric name per value
//! (a certificate's notAfter is `runnerkey_client_certificate_expiry_timestamp_seconds`
//! only).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Credential, RunnerStatus, StatusReport, Times};
use crate::error::{Error, Result};
use crate::renewal_record::RenewalRecord;

/// The file name in a textfile directory.
pub const TEXTFILE_NAME: &str = "runnerkey.prom";

/// Where the Prometheus text for `path` goes: `DIR/runnerkey.prom` when
/// `path` is a directory (node_exporter's `--collector.textfile.directory`),
/// else the file `path` itself, which must be named `*.prom` (what the
/// collector reads) in a directory that exists, and be a regular file if
/// it exists. Anything else is refused, not made or overwritten: the
/// collector reads only its directory's `*.prom` files, so a file written
/// anywhere else would never be read — and a mistyped path must not
/// become a file root rewrites every few minutes.
pub fn prometheus_textfile(path: &Path) -> Result<PathBuf> {
    let text = path.display();
    if path.is_dir() {
        if path.parent().is_none() {
            return Err(Error::InvalidArgument(format!(
                "{text}: the root directory is no textfile directory: give node_exporter's textfile directory (--collector.textfile.directory)"
            )));
        }
        return Ok(path.join(TEXTFILE_NAME));
    }
    let dir = match path.parent() {
        Some(d) if d.as_os_str().is_empty() => Path::new("."),
        Some(d) => d,
        None => path,
    };
    if !dir.is_dir() {
        let why = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(Error::InvalidArgument(format!(
            "{text}: the textfile directory {} {why}: give node_exporter's textfile directory (--collector.textfile.directory), or a *.prom file in it",
            dir.display()
        )));
    }
    if path.extension().is_none_or(|e| e != "prom") {
        return Err(Error::InvalidArgument(format!(
            "{text} is neither a directory nor a *.prom file: node_exporter's textfile collector reads only *.prom files in its directory"
        )));
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(Error::InvalidArgument(format!(
            "{text} exists and is not a regular file"
        )));
    }
    Ok(path.to_path_buf())
}

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
                .map(|(r, l)| (labels(r), l.at.unix_timestamp() as f64))
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

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::status::RunnerStatus;

    fn runner(name: &str, index: usize, credential: Credential, times: Times) -> RunnerStatus {
        RunnerStatus {
            runner: name.into(),
            index,
            selector: crate::runner_config::RunnerSelector::Index(index),
            credential,
            user: Some(format!("u-{name}")),
            groups: Vec::new(),
            cert_file: None,
            not_before: None,
            not_after: None,
            renew_at: None,
            seconds_left: None,
            elapsed: None,
            renewal_due: index == 1,
            expired: false,
            problem: None,
            last_renewal: None,
            times: Some(times),
        }
    }

    #[test]
    fn the_text_holds_one_name_per_value() {
        let mut token = runner("tok", 1, Credential::BearerToken, (100, 200, 150));
        token.last_renewal = Some(RenewalRecord {
            at: OffsetDateTime::from_unix_timestamp(120).unwrap(),
            ok: false,
            message: "403".into(),
            failures_total: 2,
            last_success: None,
        });
        let report = StatusReport {
            generated_at: OffsetDateTime::from_unix_timestamp(250).unwrap(),
            runners: vec![
                runner("c\"1", 0, Credential::ClientCertificate, (1000, 4000, 3000)),
                token,
            ],
            now: 250,
            runners_in_config: 2,
        };
        let want = "\
# HELP runnerkey_client_certificate_expiry_timestamp_seconds When the runner's client certificate expires (notAfter), as a Unix time.
# TYPE runnerkey_client_certificate_expiry_timestamp_seconds gauge
runnerkey_client_certificate_expiry_timestamp_seconds{runner=\"c\\\"1\",index=\"0\",user=\"u-c\\\"1\"} 4000
# HELP runnerkey_bearer_token_expiry_timestamp_seconds When the runner's service account token expires (exp), as a Unix time.
# TYPE runnerkey_bearer_token_expiry_timestamp_seconds gauge
runnerkey_bearer_token_expiry_timestamp_seconds{runner=\"tok\",index=\"1\",user=\"u-tok\"} 200
# HELP runnerkey_bearer_token_renewal_due 1 when the runner's service account token is due for renewal.
# TYPE runnerkey_bearer_token_renewal_due gauge
runnerkey_bearer_token_renewal_due{runner=\"tok\",index=\"1\",user=\"u-tok\"} 1
# HELP runnerkey_renewal_failures_total Failed renewal attempts of the runner's credential.
# TYPE runnerkey_renewal_failures_total counter
runnerkey_renewal_failures_total{runner=\"c\\\"1\",index=\"0\",user=\"u-c\\\"1\"} 0
runnerkey_renewal_failures_total{runner=\"tok\",index=\"1\",user=\"u-tok\"} 2
# HELP runnerkey_last_renewal_success 1 when the runner's last renewal attempt succeeded.
# TYPE runnerkey_last_renewal_success gauge
runnerkey_last_renewal_success{runner=\"tok\",index=\"1\",user=\"u-tok\"} 0
# HELP runnerkey_last_renewal_timestamp_seconds When the runner's last renewal attempt ran, as a Unix time.
# TYPE runnerkey_last_renewal_timestamp_seconds gauge
runnerkey_last_renewal_timestamp_seconds{runner=\"tok\",index=\"1\",user=\"u-tok\"} 120
# HELP runnerkey_certificate_not_before_seconds The runner's client certificate's notBefore, as a Unix time.
# TYPE runnerkey_certificate_not_before_seconds gauge
runnerkey_certificate_not_before_seconds{runner=\"c\\\"1\",index=\"0\",user=\"u-c\\\"1\"} 1000
# HELP runnerkey_certificate_renew_at_seconds When the runner's client certificate is due for renewal, as a Unix time.
# TYPE runnerkey_certificate_renew_at_seconds gauge
runnerkey_certificate_renew_at_seconds{runner=\"c\\\"1\",index=\"0\",user=\"u-c\\\"1\"} 3000
# HELP runnerkey_certificate_renewal_due 1 when the runner's client certificate is due for renewal.
# TYPE runnerkey_certificate_renewal_due gauge
runnerkey_certificate_renewal_due{runner=\"c\\\"1\",index=\"0\",user=\"u-c\\\"1\"} 0
# HELP runnerkey_certificate_expired 1 when the runner's client certificate has expired.
# TYPE runnerkey_certificate_expired gauge
runnerkey_certificate_expired{runner=\"c\\\"1\",index=\"0\",user=\"u-c\\\"1\"} 0
# HELP runnerkey_credential_ok 1 when the runner's credential is readable, matches its key and has not expired.
# TYPE runnerkey_credential_ok gauge
runnerkey_credential_ok{runner=\"c\\\"1\",index=\"0\",user=\"u-c\\\"1\"} 1
runnerkey_credential_ok{runner=\"tok\",index=\"1\",user=\"u-tok\"} 1
# HELP runnerkey_status_generated_seconds When runnerkey wrote this, as a Unix time.
# TYPE runnerkey_status_generated_seconds gauge
runnerkey_status_generated_seconds 250
";
        let text = report.prometheus();
        assert_eq!(text, want);
        // One name per value: no two families carry the same samples.
        let mut values: std::collections::HashMap<Vec<&str>, &str> = Default::default();
        let mut family = "";
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                family = rest.split(' ').next().unwrap();
                continue;
            }
            if line.starts_with('#') || family.ends_with("_total") || family.ends_with("_due") {
                continue;
            }
            let samples: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with(&format!("{family}{{")))
                .map(|l| l.split_once('{').unwrap().1)
                .collect();
            if samples.is_empty()
                || samples
                    .iter()
                    .all(|s| s.ends_with(" 0") || s.ends_with(" 1"))
            {
                continue;
            }
            if let Some(other) = values.insert(samples, family) {
                assert_eq!(other, family, "{other} and {family} carry the same values");
            }
        }
    }

    #[test]
    fn a_missing_textfile_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(
            prometheus_textfile(tmp.path()).unwrap(),
            tmp.path().join("runnerkey.prom")
        );
        let file = tmp.path().join("x.prom");
        assert_eq!(prometheus_textfile(&file).unwrap(), file);
        let missing = tmp.path().join("missing/x.prom");
        assert!(
            matches!(prometheus_textfile(&missing), Err(Error::InvalidArgument(m)) if m.contains("missing"))
        );
        assert!(!tmp.path().join("missing").exists());
        // A mistyped directory, a file that is not *.prom, a directory
        // given as a file's parent when it is a file, the root: refused.
        std::fs::write(tmp.path().join("afile"), "keep").unwrap();
        for bad in [
            tmp.path().join("typo_textfile"),
            tmp.path().join("afile"),
            tmp.path().join("afile/x.prom"),
            PathBuf::from("/"),
            PathBuf::from("/etc/passwd"),
        ] {
            assert!(
                matches!(prometheus_textfile(&bad), Err(Error::InvalidArgument(_))),
                "{}",
                bad.display()
            );
        }
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("afile")).unwrap(),
            "keep"
        );
        std::os::unix::fs::symlink("/etc/passwd", tmp.path().join("l.prom")).unwrap();
        assert!(prometheus_textfile(&tmp.path().join("l.prom")).is_err());
    }
}
