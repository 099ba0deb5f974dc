//! Issuing for a fleet: one certificate per entry of a JSON-lines file,
//! every entry checked before the first key is made, then signed on all
//! cores, each entry's three files written all or nothing.
//!
//! An entry is one JSON object per line:
//! `{"user": "gitlab-runner:host-1", "groups": ["gitlab-runners"], "out_dir": "/srv/runners/host-1"}`
//! with optional `name` (file base name, default the user made safe for
//! a file name and a command line: see [`file_base_name`]), `algorithm`
//! and `days`. Instead of `user`, an entry may give `host`, filled into
//! [`BatchParams::user_template`] (`gitlab-runner:{host}`). Blank lines and
//! lines starting with `#` are skipped.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ca::CertificateAuthority;
use crate::ensure::EnsureParams;
pub use crate::error::batch::BatchProblem;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::issue::{ClientFiles, IssueParams};
use crate::key_algorithm::KeyAlgorithm;
use crate::lifetime::Lifetime;
use crate::plan::FileChange;
use crate::renewal::RenewalPolicy;

/// One entry's notAfter, whether its files were kept, and warnings; or
/// why it failed.
type EntryOutcome = Result<(OffsetDateTime, bool, Vec<String>)>;

/// The most entries one batch may hold.
pub const MAX_BATCH_ENTRIES: usize = 100_000;

/// How to issue a batch, and the defaults its entries may override.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct BatchParams {
    /// Key algorithm of entries that name none.
    pub algorithm: KeyAlgorithm,
    /// Validity of entries that give no `days`.
    pub lifetime: Lifetime,
    /// Groups every certificate gets, before the entry's own.
    pub groups: Vec<String>,
    /// The user of entries that give `host` instead of `user`: `{host}` is
    /// replaced by the host (`gitlab-runner:{host}`).
    pub user_template: Option<String>,
    /// Permit the group `system:masters`.
    pub allow_system_masters: bool,
    /// Replace existing key and certificate files.
    pub overwrite: bool,
    /// Keep an entry's key and certificate while they are still good (see
    /// [`EnsureParams`]) and not due by this policy (the one `renew`
    /// renews by); issue only what is missing, wrong or due. A batch run
    /// again after an interruption, or on a schedule, then redoes only
    /// that, and leaves the files it keeps untouched.
    pub keep_valid: Option<RenewalPolicy>,
    /// Threads; 0: four per core (up to 64), so that while some wait
    /// for their files to reach the disk (fsync), others sign.
    pub threads: usize,
    /// The time to issue at (now when `None`).
    pub now: Option<OffsetDateTime>,
}

/// One certificate to issue, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchEntry {
    /// Its line in the batch file (1-based).
    pub line: usize,
    /// Who the certificate is for.
    pub identity: Identity,
    /// Where its files go.
    pub files: ClientFiles,
    /// Its key algorithm.
    pub algorithm: KeyAlgorithm,
    /// Its validity.
    pub lifetime: Lifetime,
}

/// An entry as written in the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    user: Option<String>,
    host: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    out_dir: PathBuf,
    name: Option<String>,
    algorithm: Option<String>,
    days: Option<u32>,
}

/// What happened to one entry.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchResult {
    /// The entry.
    pub entry: BatchEntry,
    /// The certificate's notAfter, or why the entry failed (its files were
    /// then left as they were).
    pub outcome: Result<OffsetDateTime>,
    /// Its key and certificate were still good and kept
    /// ([`BatchParams::keep_valid`]).
    pub kept: bool,
}

/// What a batch did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct BatchReport {
    /// One result per entry, in the file's order.
    pub results: Vec<BatchResult>,
    /// Advice (long validity …), once each, with the lines of the entries
    /// it concerns.
    pub warnings: BTreeMap<String, Vec<usize>>,
}

impl BatchReport {
    /// How many entries were issued.
    pub fn issued(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome.is_ok() && !r.kept)
            .count()
    }

    /// How many entries' files were still good and kept.
    pub fn kept(&self) -> usize {
        self.results.iter().filter(|r| r.kept).count()
    }

    /// Each warning once, naming the lines it concerns (`lines 3, 7: …`).
    pub fn warning_lines(&self) -> Vec<String> {
        const SHOWN: usize = 5;
        self.warnings
            .iter()
            .map(|(warning, lines)| {
                let shown: Vec<String> = lines.iter().take(SHOWN).map(usize::to_string).collect();
                let more = match lines.len().saturating_sub(SHOWN) {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                let word = if lines.len() == 1 { "line" } else { "lines" };
                format!("{word} {}{more}: {warning}", shown.join(", "))
            })
            .collect()
    }

    /// The entries that failed.
    pub fn failed(&self) -> impl Iterator<Item = &BatchResult> {
        self.results.iter().filter(|r| r.outcome.is_err())
    }
}

/// A batch report as data (for JSON and Python).
#[derive(Serialize)]
#[non_exhaustive]
pub struct BatchReportData {
    /// Entries issued.
    pub issued: usize,
    /// Entries whose files were still good and kept.
    pub kept: usize,
    /// Entries that failed.
    pub failed: usize,
    /// Every entry, in the file's order.
    pub results: Vec<BatchResultData>,
    /// Advice, once each, naming the entries' lines.
    pub warnings: Vec<String>,
}

impl BatchReport {
    /// This report as data.
    pub fn data(&self) -> BatchReportData {
        BatchReportData {
            issued: self.issued(),
            kept: self.kept(),
            failed: self.failed().count(),
            results: self.results.iter().map(BatchResult::data).collect(),
            warnings: self.warning_lines(),
        }
    }
}

/// A batch result as data (for JSON and Python).
#[derive(Serialize)]
#[non_exhaustive]
pub struct BatchResultData {
    /// Line in the batch file.
    pub line: usize,
    /// The user.
    pub user: String,
    /// The groups.
    pub groups: Vec<String>,
    /// The key file.
    pub key_file: PathBuf,
    /// The certificate file.
    pub cert_file: PathBuf,
    /// The CA certificate file.
    pub ca_file: PathBuf,
    /// notAfter (RFC 3339 on the wire), when issued or kept.
    #[serde(with = "crate::lifetime::serde_rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// The key and certificate were still good and kept.
    pub kept: bool,
    /// Why it failed.
    pub error: Option<String>,
}

impl BatchResult {
    /// This result as data.
    pub fn data(&self) -> BatchResultData {
        let e = &self.entry;
        BatchResultData {
            line: e.line,
            user: e.identity.user().to_string(),
            groups: e.identity.groups().to_vec(),
            key_file: e.files.key_file.clone(),
            cert_file: e.files.cert_file.clone(),
            ca_file: e.files.ca_file.clone(),
            not_after: self.outcome.as_ref().ok().copied(),
            kept: self.kept,
            error: self.outcome.as_ref().err().map(Error::chain),
        }
    }
}

impl BatchParams {
    /// Reads and checks every entry of `text` (JSON lines): names, files
    /// (never the CA's own, not existing unless `overwrite` or
    /// `keep_valid`, no two entries
    /// with the same file), algorithms and lifetimes. Writes nothing; the
    /// first bad entry is the error, with its line.
    pub fn entries(&self, ca: &CertificateAuthority, text: &str) -> Result<Vec<BatchEntry>> {
        let now = self.now.unwrap_or_else(OffsetDateTime::now_utc);
        let mut entries = Vec::new();
        let mut seen: HashMap<PathBuf, usize> = HashMap::new();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if let Some(template) = &self.user_template
            && !template.contains("{host}")
        {
            return Err(BatchProblem::TemplateWithoutHost {
                template: template.clone(),
            }
            .into());
        }
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let raw = raw.trim();
            if raw.is_empty() || raw.starts_with('#') {
                continue;
            }
            if entries.len() == MAX_BATCH_ENTRIES {
                return Err(BatchProblem::TooManyEntries {
                    max: MAX_BATCH_ENTRIES,
                }
                .into());
            }
            let at = |e: Error| Error::AtLine {
                line,
                source: Box::new(e),
            };
            let entry = self.entry(ca, line, raw, now).map_err(at)?;
            for p in [&entry.files.key_file, &entry.files.cert_file] {
                // Where the file really lands: two spellings of one
                // directory (a symbolic link, `..`) are one file.
                if let Some(first) = seen.insert(crate::file::real_path(p), line) {
                    return Err(at(BatchProblem::WrittenTwice {
                        path: p.clone(),
                        first_line: first,
                    }
                    .into()));
                }
            }
            entries.push(entry);
        }
        if entries.is_empty() {
            return Err(BatchProblem::Empty.into());
        }
        Ok(entries)
    }

    fn entry(
        &self,
        ca: &CertificateAuthority,
        line: usize,
        raw: &str,
        now: OffsetDateTime,
    ) -> Result<BatchEntry> {
        let e: RawEntry = serde_json::from_str(raw).map_err(|e| BatchProblem::NotAnEntry {
            reason: crate::error::text::without_values(&e.to_string()),
        })?;
        let user = match (e.user, e.host, &self.user_template) {
            (Some(user), None, _) => user,
            (None, Some(host), Some(template)) => {
                check_host(&host)?;
                template.replace("{host}", &host)
            }
            (None, Some(_), None) => {
                return Err(BatchProblem::HostWithoutTemplate.into());
            }
            (Some(_), Some(_), _) => {
                return Err(BatchProblem::UserAndHost.into());
            }
            (None, None, _) => return Err(BatchProblem::NoUser.into()),
        };
        let groups = self.groups.iter().cloned().chain(e.groups);
        let identity = Identity::new(user, groups)?;
        identity.check_system_masters(self.allow_system_masters)?;
        let algorithm = match e.algorithm {
            Some(a) => a.parse()?,
            None => self.algorithm,
        };
        let lifetime = match e.days {
            Some(d) => Lifetime::from_days_or_duration(Some(d), None)?,
            None => self.lifetime,
        };
        lifetime.end_from(now)?;
        let name = e.name.unwrap_or_else(|| file_base_name(identity.user()));
        if e.out_dir.as_os_str().is_empty() {
            return Err(BatchProblem::BadOutDir { reason: "is empty" }.into());
        }
        if e.out_dir.as_os_str().as_encoded_bytes().contains(&0) {
            return Err(BatchProblem::BadOutDir {
                reason: "holds a NUL character",
            }
            .into());
        }
        // NAME_MAX: the key's file name, `.NAME.key.runnerkey-PID-N.tmp`
        // while it is written, must fit in one directory entry.
        if name.len() + 40 > 255 {
            return Err(BatchProblem::NameTooLong { name }.into());
        }
        // A killed batch's temporary files (some hold keys) go first, also
        // when this batch is refused.
        crate::file::remove_stale_temps_once(&e.out_dir);
        let files = ClientFiles::in_dir(&e.out_dir, &name)?;
        files.check_not_ca(ca)?;
        if self.keep_valid.is_none() {
            files.check_free(ca.certificate(), self.overwrite)?;
        }
        Ok(BatchEntry {
            line,
            identity,
            files,
            algorithm,
            lifetime,
        })
    }

    /// Issues every entry: a new key and certificate each, signed on
    /// [`BatchParams::threads`] threads, each entry's files written all or
    /// nothing. A failed entry does not stop the others. `progress` is
    /// called with the number of entries done after each one.
    pub fn issue(
        &self,
        ca: &CertificateAuthority,
        entries: Vec<BatchEntry>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> BatchReport {
        let threads = match self.threads {
            0 => (4 * std::thread::available_parallelism().map_or(1, |n| n.get())).min(64),
            n => n,
        }
        .clamp(1, entries.len().max(1));
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let work = || {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(entry) = entries.get(i) else {
                    return out;
                };
                out.push((i, self.issue_one(ca, entry)));
                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            }
        };
        let mut outcomes: Vec<(usize, EntryOutcome)> = if threads == 1 {
            work()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        };
        outcomes.sort_by_key(|(i, _)| *i);
        let mut report = BatchReport::default();
        let mut outcomes = outcomes.into_iter().peekable();
        for (i, entry) in entries.into_iter().enumerate() {
            let mut kept = false;
            let outcome = match outcomes.next_if(|(j, _)| *j == i) {
                Some((_, Ok((end, was_kept, warnings)))) => {
                    kept = was_kept;
                    for w in warnings {
                        report.warnings.entry(w).or_default().push(entry.line);
                    }
                    Ok(end)
                }
                Some((_, Err(e))) => Err(e),
                None => Err(Error::Crypto("the signing thread stopped".into())),
            };
            report.results.push(BatchResult {
                entry,
                outcome,
                kept,
            });
        }
        report
    }

    fn issue_one(&self, ca: &CertificateAuthority, entry: &BatchEntry) -> EntryOutcome {
        if let Some(renewal) = self.keep_valid {
            let mut ensure = EnsureParams::new(entry.identity.clone());
            ensure.algorithm = entry.algorithm;
            ensure.lifetime = entry.lifetime;
            ensure.renewal = renewal;
            ensure.force = self.overwrite;
            ensure.allow_system_masters = self.allow_system_masters;
            ensure.now = self.now;
            let report = ensure.run(ca, &entry.files)?;
            let mut warnings = report.warnings;
            if !report.issued {
                // Kept, but not untouched: say what changed.
                warnings.extend(
                    report
                        .files
                        .iter()
                        .filter(|f| f.action != FileChange::Unchanged)
                        .map(|f| format!("{} {}", f.path.display(), f.action)),
                );
            }
            return Ok((report.certificate.not_after(), !report.issued, warnings));
        }
        let params = IssueParams {
            lifetime: entry.lifetime,
            allow_system_masters: self.allow_system_masters,
            now: self.now,
        };
        let (key, issued) = ca.issue(&entry.identity, entry.algorithm, &params)?;
        entry
            .files
            .write_issued(&key, &issued.certificate, ca, self.overwrite)?;
        Ok((issued.certificate.not_after(), false, issued.warnings))
    }
}

mod names;

use names::check_host;
pub use names::file_base_name;

#[cfg(test)]
mod tests;
