//! `runner-config lint`: unknown, removed and deprecated keys anywhere, and
//! per kubernetes runner the settings and files that make it fail to
//! authenticate or run jobs as someone unexpected.

use std::os::unix::fs::MetadataExt;

use serde::Serialize;
use time::OffsetDateTime;
use toml_edit::{Item, Table, Value};

use super::keys::{KeyKind, KeyTable};
use super::{KubernetesSettings, LineIndex, RunnerConfig, RunnerInfo, RunnerSelector};
use crate::code::Code;
use crate::error::Result;
use crate::next_step::{NextStep, RbacFor};
use crate::profile::Profile;

use crate::severity::Severity;

/// One problem found, with a stable code and a one-line fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// Stable identifier (listed in docs/troubleshooting.md).
    pub code: Code,
    /// How bad.
    pub severity: Severity,
    /// The runner's name (or `#index` when unnamed), when it concerns one.
    pub runner: Option<String>,
    /// The dotted key concerned.
    pub key: Option<String>,
    /// 1-based line in the file.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
    /// The step that does it, when there is one (the CLI shows it as a
    /// command).
    pub next: Option<NextStep>,
}

/// What to lint.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct LintOptions {
    /// Only this runner's findings (file-wide key findings are kept).
    pub runner: Option<RunnerSelector>,
    /// The time to judge expiry at (now when `None`).
    pub now: Option<OffsetDateTime>,
}

/// The checks of a runner that read its files, judge its certificate and
/// parse its host as the HTTP client would: the doctor's
/// (`crate::runner_checks`), handed to [`RunnerConfig::lint_with`] so that
/// the config's own rules depend neither on PKI verification nor on the
/// HTTP client.
pub(crate) trait RunnerChecks {
    /// Findings about `host` (the runner's `[runners.kubernetes] host`).
    fn host(&self, linter: &mut Linter, runner: &str, host: &str, at: Option<usize>);
    /// Findings about the runner's files and bearer token.
    fn files(&self, linter: &mut Linter, runner: &str, k: &KubernetesSettings, now: OffsetDateTime);
}

pub(crate) struct Linter {
    lines: LineIndex,
    /// Where the document being walked starts in the whole text.
    offset: usize,
    /// The uid of config.toml's owner: the runner's user.
    pub(crate) owner: Option<u32>,
    keys: &'static KeyTable,
    findings: Vec<Finding>,
}

impl Linter {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        code: Code,
        severity: Severity,
        runner: Option<&str>,
        key: Option<String>,
        at: Option<usize>,
        message: String,
        fix: String,
    ) {
        self.findings.push(Finding {
            code,
            severity,
            runner: runner.map(str::to_string),
            key,
            line: at.map(|a| self.lines.line(a + self.offset)),
            message,
            fix,
            next: None,
        });
    }

    /// Attaches `step` to the finding just added.
    pub(crate) fn then(&mut self, step: NextStep) {
        if let Some(f) = self.findings.last_mut() {
            f.next = Some(step);
        }
    }

    /// Checks every key of `table` (at dotted `path`) against the known list.
    fn walk_table(&mut self, table: &Table, path: &str, runner: Option<&str>) {
        for (name, item) in table.iter() {
            let at = table.key(name).and_then(|k| k.span()).map(|s| s.start);
            self.check_key(name, item, path, runner, at);
        }
    }

    fn walk_inline(&mut self, table: &toml_edit::InlineTable, path: &str, runner: Option<&str>) {
        for (name, value) in table.iter() {
            let at = table.key(name).and_then(|k| k.span()).map(|s| s.start);
            self.check_key(name, &Item::Value(value.clone()), path, runner, at);
        }
    }

    fn check_key(
        &mut self,
        name: &str,
        item: &Item,
        parent: &str,
        runner: Option<&str>,
        at: Option<usize>,
    ) {
        let full = if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        };
        let Some(info) = self.keys.lookup(parent, name) else {
            if let Some(note) = self.keys.removed(&full) {
                self.add(
                    Code::RemovedKey,
                    Severity::Error,
                    runner,
                    Some(full.clone()),
                    at,
                    format!("{full} is no longer read by gitlab-runner: {note}"),
                    format!("remove {name}, or use its replacement"),
                );
                return;
            }
            let suggestions = self.keys.suggest(parent, name);
            let fix = match suggestions.as_slice() {
                [] => format!("remove {name}: gitlab-runner ignores it"),
                s => format!("did you mean {}?", s.join(" or ")),
            };
            self.add(
                Code::UnknownKey,
                Severity::Error,
                runner,
                Some(full.clone()),
                at,
                format!("unknown key {full}: gitlab-runner silently ignores it"),
                fix,
            );
            return;
        };
        let canonical = info.path.clone();
        if info.is_deprecated() {
            self.add(
                Code::DeprecatedKey,
                Severity::Warning,
                runner,
                Some(canonical.clone()),
                at,
                format!("{canonical} is deprecated: {}", info.note),
                "move to the replacement the note names".into(),
            );
        }
        let wrong = |expected: &str, found: &str| {
            (
                format!(
                    "gitlab-runner cannot load the file: {canonical} must be {expected}, it is {found}"
                ),
                format!("write {canonical} as {expected}"),
            )
        };
        let mismatch = match (info.kind, item) {
            (KeyKind::Value, Item::Value(v)) => info
                .value_type
                .filter(|t| !t.accepts(v))
                .map(|t| wrong(t.name(), v.type_name())),
            (KeyKind::Value, _) => Some(wrong("a value", "a table")),
            (KeyKind::Table | KeyKind::Map, Item::Value(v)) if !v.is_inline_table() => {
                Some(wrong("a table", v.type_name()))
            }
            (KeyKind::ArrayOfTables, Item::Table(_)) => Some(wrong(
                &format!("an array of tables ([[{canonical}]])"),
                &format!("a single table ([{canonical}])"),
            )),
            (KeyKind::ArrayOfTables, Item::Value(v)) if !v.is_array() => Some(wrong(
                &format!("an array of tables ([[{canonical}]])"),
                v.type_name(),
            )),
            _ => None,
        };
        if let Some((message, fix)) = mismatch {
            self.add(
                Code::WrongType,
                Severity::Error,
                runner,
                Some(canonical.clone()),
                at,
                message,
                fix,
            );
            return;
        }
        match (info.kind, item) {
            (KeyKind::Table, Item::Table(t)) => self.walk_table(t, &canonical, runner),
            (KeyKind::Table, Item::Value(Value::InlineTable(t))) => {
                self.walk_inline(t, &canonical, runner)
            }
            (KeyKind::ArrayOfTables, Item::ArrayOfTables(a)) => {
                for t in a.iter() {
                    self.walk_table(t, &canonical, runner);
                }
            }
            _ => {}
        }
    }

    fn runner_findings(
        &mut self,
        r: &RunnerInfo,
        table: &Table,
        now: OffsetDateTime,
        checks: &dyn RunnerChecks,
    ) {
        let label = r.name.clone().unwrap_or_else(|| format!("#{}", r.index));
        let label = label.as_str();
        let at = table.span().map(|s| s.start);
        let executor = r.executor.as_deref().unwrap_or("");
        let Some(k) = &r.kubernetes else {
            if executor == "kubernetes" {
                self.add(Code::EmptyNamespace, Severity::Warning, Some(label), Some("runners.kubernetes.namespace".into()), at,
                    "no [runners.kubernetes] table: jobs run in namespace \"default\" as its \"default\" service account".into(),
                    "set namespace and service_account for the runner".into());
                self.then(NextStep::SetRunnerKeys {
                    runner: r.name.clone(),
                    keys: vec![("namespace", "NS"), ("service_account", "SA")],
                });
            }
            return;
        };
        if executor != "kubernetes" {
            self.add(
                Code::ExecutorNotKubernetes,
                Severity::Error,
                Some(label),
                Some("runners.executor".into()),
                at,
                format!("executor is {executor:?} but a [runners.kubernetes] table is set: its settings are ignored"),
                "set executor = \"kubernetes\", or remove [runners.kubernetes]".into(),
            );
        }
        for other in [
            "docker",
            "docker-machine",
            "machine",
            "custom",
            "ssh",
            "parallels",
            "virtualbox",
        ] {
            if table.contains_key(other) {
                self.add(
                    Code::UnusedExecutorSection,
                    Severity::Info,
                    Some(label),
                    Some(format!("runners.{other}")),
                    at,
                    format!("[runners.{other}] has no effect with the kubernetes executor"),
                    format!("remove [runners.{other}]"),
                );
            }
        }
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        if set(&k.cert_file) && !(set(&k.key_file) && set(&k.ca_file)) {
            let missing: Vec<&str> = [("key_file", &k.key_file), ("ca_file", &k.ca_file)]
                .into_iter()
                .filter(|(_, v)| !set(v))
                .map(|(n, _)| n)
                .collect();
            let missing = missing.join(" and ");
            self.add(Code::CertWithoutKeyOrCa, Severity::Error, Some(label), Some("runners.kubernetes.cert_file".into()), at,
                format!("cert_file is set but {missing} is not: client-go cannot build a TLS configuration and the job fails"),
                format!("set {missing} too"));
        }
        if let Some(host) = k.host.as_deref().filter(|h| !h.is_empty()) {
            checks.host(self, label, host, at);
        }
        if set(&k.host) && !set(&k.ca_file) {
            self.add(Code::HostWithoutCaFile, Severity::Warning, Some(label), Some("runners.kubernetes.ca_file".into()), at,
                "host is set but ca_file is empty: only the system trust store is used, the classic \"x509: certificate signed by unknown authority\"".into(),
                "set ca_file to the cluster CA (/etc/kubernetes/pki/ca.crt on the control plane)".into());
        }
        if !set(&k.namespace) {
            self.add(Code::EmptyNamespace, Severity::Warning, Some(label), Some("runners.kubernetes.namespace".into()), at,
                "namespace is empty: jobs land in \"default\" (\"Namespace is empty, therefore assuming 'default'\")".into(),
                "set namespace to the runner's own namespace".into());
        }
        if !set(&k.service_account) {
            let ns = k
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or("default");
            self.add(Code::EmptyServiceAccount, Severity::Warning, Some(label), Some("runners.kubernetes.service_account".into()), at,
                format!("service_account is empty: job pods run as system:serviceaccount:{ns}:default, which is who kubectl in a deploy job is"),
                "create a service account for the jobs with the deployer profile, and set service_account".into());
            self.then(NextStep::ApplyProfile {
                subject: RbacFor::ServiceAccount {
                    namespace: ns.to_string(),
                    name: "SA".into(),
                },
                profile: Profile::Deployer,
                namespace: None,
            });
        }
        checks.files(self, label, k, now);
    }
}

impl RunnerConfig {
    /// Lints the config with `checks` for the runners' files (see
    /// [`RunnerConfig::lint`], which passes the doctor's); findings in file
    /// order per kind, errors first.
    pub(crate) fn lint_with(
        &self,
        options: &LintOptions,
        checks: &dyn RunnerChecks,
    ) -> Result<Vec<Finding>> {
        let keys = KeyTable::get();
        let now = options.now.unwrap_or_else(OffsetDateTime::now_utc);
        let only = options
            .runner
            .as_ref()
            .map(|s| self.select(s))
            .transpose()?;
        let mut l = Linter {
            lines: LineIndex::new(self.text()),
            offset: 0,
            owner: self
                .path()
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.uid()),
            keys,
            findings: Vec::new(),
        };
        let runners = self.runners()?;
        self.pieces(only, |piece| {
            let doc = &piece.doc;
            l.offset = piece.offset;
            for (name, item) in doc.iter() {
                let at = doc.key(name).and_then(|k| k.span()).map(|s| s.start);
                if name == "runners" && item.is_array_of_tables() {
                    continue;
                }
                l.check_key(name, item, "", None, at);
            }
            let tables = doc
                .get("runners")
                .and_then(Item::as_array_of_tables)
                .map(|a| a.iter().collect::<Vec<&Table>>())
                .unwrap_or_default();
            for (i, table) in tables.into_iter().enumerate() {
                let index = piece.first_runner + i;
                if only.is_some_and(|o| o != index) {
                    continue;
                }
                let Some(r) = runners.get(index) else {
                    continue;
                };
                let label = r.name.clone().unwrap_or_else(|| format!("#{}", r.index));
                l.walk_table(table, "runners", Some(&label));
                l.runner_findings(r, table, now, checks);
            }
        })?;
        let mut findings = l.findings;
        findings.sort_by_key(|f| f.severity);
        Ok(findings)
    }
}

#[cfg(test)]
mod tests;
