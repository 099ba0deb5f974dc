//! [`RenewReport`] as data: its fields and `failed`, decided here once.

use std::path::PathBuf;

use serde::Serialize;
use time::OffsetDateTime;

use super::RenewReport;
use crate::OnlineCheck;
use crate::status::Credential;

impl Serialize for RenewReport {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        /// The report as it is written: its fields, then `failed`.
        #[derive(Serialize)]
        struct Data<'a> {
            runner: &'a str,
            identity: &'a str,
            credential: &'a Credential,
            renewed: bool,
            dry_run: bool,
            reason: &'a str,
            #[serde(with = "crate::lifetime::serde_rfc3339::option")]
            due_at: Option<OffsetDateTime>,
            #[serde(with = "crate::lifetime::serde_rfc3339::option")]
            old_not_after: Option<OffsetDateTime>,
            #[serde(with = "crate::lifetime::serde_rfc3339::option")]
            new_not_after: Option<OffsetDateTime>,
            online: &'a OnlineCheck,
            files: &'a [PathBuf],
            warnings: &'a [String],
            clamped: bool,
            failed: bool,
        }
        // Every field named (no `..`): a field added to the report does not
        // compile until it is written here too.
        let RenewReport {
            runner,
            identity,
            credential,
            renewed,
            dry_run,
            reason,
            due_at,
            old_not_after,
            new_not_after,
            online,
            files,
            warnings,
            clamped,
        } = self;
        Data {
            runner,
            identity,
            credential,
            renewed: *renewed,
            dry_run: *dry_run,
            reason,
            due_at: *due_at,
            old_not_after: *old_not_after,
            new_not_after: *new_not_after,
            online,
            files,
            warnings,
            clamped: *clamped,
            failed: self.failed(),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(online: OnlineCheck, clamped: bool) -> RenewReport {
        RenewReport {
            runner: "r".into(),
            identity: "user \"u\"".into(),
            credential: Credential::ClientCertificate,
            renewed: true,
            dry_run: false,
            reason: "due".into(),
            due_at: None,
            old_not_after: None,
            new_not_after: None,
            online,
            files: Vec::new(),
            warnings: Vec::new(),
            clamped,
        }
    }

    #[test]
    fn renew_report_json_carries_failed() {
        for (online, clamped, failed) in [
            (OnlineCheck::Skipped, false, false),
            (OnlineCheck::Skipped, true, true),
            (
                OnlineCheck::Refused {
                    reason: "401".into(),
                },
                false,
                true,
            ),
        ] {
            let r = report(online, clamped);
            assert_eq!(r.failed(), failed);
            let v = serde_json::to_value(&r).unwrap();
            assert_eq!(v["failed"], failed, "{v}");
            assert_eq!(v["runner"], "r");
            assert_eq!(v["clamped"], clamped);
        }
    }

    #[test]
    fn renew_report_times_are_rfc3339_or_null() {
        let mut r = report(OnlineCheck::Skipped, false);
        let v = serde_json::to_value(&r).unwrap();
        // A token that states no end: null, never a time or text that is none.
        assert_eq!(
            (&v["due_at"], &v["old_not_after"], &v["new_not_after"]),
            (
                &serde_json::Value::Null,
                &serde_json::Value::Null,
                &serde_json::Value::Null
            )
        );
        r.due_at = Some(time::macros::datetime!(2026-09-01 08:00:00 UTC));
        r.old_not_after = Some(time::macros::datetime!(2027-01-01 0:00:00 UTC));
        r.new_not_after = Some(time::macros::datetime!(2028-01-01 0:00:00 UTC));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["due_at"], "2026-09-01T08:00:00Z");
        assert_eq!(v["old_not_after"], "2027-01-01T00:00:00Z");
        assert_eq!(v["new_not_after"], "2028-01-01T00:00:00Z");
    }
}
