//! What the last renewal attempt of each runner did, kept beside
//! config.toml (`.<config name>.runnerkey-renewals.json`, 0600) so that
//! `status` can say it and count failures for alerting. Only attempts are
//! recorded — a renewal, a refusal, an error — never a run that found
//! nothing due, so the timer's every-few-minutes no-op writes nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Result;
use crate::file;
use crate::runner_config::{ConfigLock, SaveOptions};

/// One runner's last renewal attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RenewalRecord {
    /// When it was attempted (RFC 3339 on the wire).
    #[serde(with = "crate::lifetime::serde_rfc3339")]
    pub at: OffsetDateTime,
    /// Whether it succeeded.
    pub ok: bool,
    /// What happened, in a sentence.
    pub message: String,
    /// Failed attempts since the record began (a counter).
    pub failures_total: u64,
    /// The last successful renewal (RFC 3339 on the wire).
    #[serde(with = "crate::lifetime::serde_rfc3339::option", default)]
    pub last_success: Option<OffsetDateTime>,
}

/// Where the records of `config` are kept.
pub(crate) fn path_for(config: &Path) -> PathBuf {
    let name = config
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.toml".into());
    config.with_file_name(format!(".{name}.runnerkey-renewals.json"))
}

/// Every runner's record (none when the file is missing or unreadable:
/// status must not fail on it).
pub(crate) fn load(config: &Path) -> BTreeMap<String, RenewalRecord> {
    file::read(&path_for(config))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Records an attempt for `runner`, under config.toml's lock.
pub(crate) fn record(config: &Path, runner: &str, ok: bool, message: &str) -> Result<()> {
    let _lock = ConfigLock::acquire(config, SaveOptions::default().lock_timeout)?;
    let mut all = load(config);
    let now = OffsetDateTime::now_utc();
    let entry = all.entry(runner.to_string()).or_insert(RenewalRecord {
        at: now,
        ok,
        message: String::new(),
        failures_total: 0,
        last_success: None,
    });
    entry.at = now;
    entry.ok = ok;
    entry.message = message.chars().take(1000).collect();
    if ok {
        entry.last_success = Some(now);
    } else {
        entry.failures_total = entry.failures_total.saturating_add(1);
    }
    let text =
        serde_json::to_vec_pretty(&all).map_err(|e| crate::Error::der("renewal record", e))?;
    file::write_atomic(&path_for(config), &text, file::PRIVATE, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_failures_and_keeps_the_last_success() {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("config.toml");
        std::fs::write(&config, "").unwrap();
        record(&config, "a", true, "renewed").unwrap();
        record(&config, "a", false, "refused").unwrap();
        record(&config, "a", false, "refused again").unwrap();
        record(&config, "b", true, "renewed").unwrap();
        let all = load(&config);
        assert_eq!(all["a"].failures_total, 2);
        assert!(!all["a"].ok && all["a"].last_success.is_some());
        assert_eq!(all["a"].message, "refused again");
        assert!(all["b"].ok);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path_for(&config))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(path_for(&config), "{not json").unwrap();
        assert!(load(&config).is_empty());
    }

    #[test]
    fn records_written_before_times_were_typed_still_load_and_read_the_same() {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("config.toml");
        // As renew wrote them when `at` was a String: now_utc() with its
        // nanoseconds, `null` for no success yet.
        let old = r#"{
  "a": {
    "at": "2026-03-01T10:15:02.123456789Z",
    "ok": false,
    "message": "refused",
    "failures_total": 2,
    "last_success": "2026-02-01T10:15:02.5Z"
  },
  "b": {
    "at": "2026-03-01T10:15:02Z",
    "ok": true,
    "message": "renewed",
    "failures_total": 0,
    "last_success": null
  }
}"#;
        std::fs::write(path_for(&config), old).unwrap();
        let all = load(&config);
        assert_eq!(
            all["a"].at,
            time::macros::datetime!(2026-03-01 10:15:02.123456789 UTC)
        );
        assert_eq!(
            all["a"].last_success,
            Some(time::macros::datetime!(2026-02-01 10:15:02.5 UTC))
        );
        assert_eq!(all["b"].last_success, None);
        // Written back, every byte is the same.
        assert_eq!(serde_json::to_string_pretty(&all).unwrap(), old);
        // A record without last_success at all reads as none.
        let sparse = r#"{"c": {"at": "2026-03-01T10:15:02Z", "ok": true, "message": "", "failures_total": 0}}"#;
        std::fs::write(path_for(&config), sparse).unwrap();
        assert_eq!(load(&config)["c"].last_success, None);
    }
}
