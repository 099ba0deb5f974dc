//! `runner-config lint`: unknown, removed and deprecated keys anywhere, and
//! per kubernetes runner the settings and files that make it fail to
//! authenticate or run jobs as someone unexpected.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;
use toml_edit::{Item, Table, Value};

use super::host_audit::{self, HostRisk};
use super::keys::{KeyKind, KeyTable};
use super::{KubernetesSettings, LineIndex, RunnerConfig, RunnerInfo, RunnerSelector};
use crate::api_client::Endpoint;
use crate::cert::Certificate;
use crate::error::Result;
use crate::key::PrivateKey;
use crate::next_step::{NextStep, RbacFor};
use crate::verify::{key_file_problems, verify_client_chain};

pub use crate::severity::Severity;

/// One problem found, with a stable code and a one-line fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier (listed in docs/troubleshooting.md).
    pub code: &'static str,
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
pub struct LintOptions {
    /// Only this runner's findings (file-wide key findings are kept).
    pub runner: Option<RunnerSelector>,
    /// The time to judge expiry at (now when `None`).
    pub now: Option<OffsetDateTime>,
}

/// Days before expiry that make a certificate worth a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

struct Linter {
    lines: LineIndex,
    /// Where the document being walked starts in the whole text.
    offset: usize,
    /// The uid of config.toml's owner: the runner's user.
    owner: Option<u32>,
    keys: &'static KeyTable,
    findings: Vec<Finding>,
}

impl Linter {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        code: &'static str,
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
    fn then(&mut self, step: NextStep) {
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
                    "removed-key",
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
                "unknown-key",
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
                "deprecated-key",
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
                "wrong-type",
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

    fn file_findings(&mut self, runner: &str, k: &KubernetesSettings, now: OffsetDateTime) {
        let fields = [
            ("cert_file", &k.cert_file),
            ("key_file", &k.key_file),
            ("ca_file", &k.ca_file),
        ];
        let readable = |this: &mut Self, key: &str, p: &str| -> bool {
            let path = Path::new(p);
            if !path.is_absolute() {
                this.add(
                    "relative-path",
                    Severity::Error,
                    Some(runner),
                    Some(format!("runners.kubernetes.{key}")),
                    None,
                    format!("{key} = {p:?} is relative: it is resolved against the runner's working directory"),
                    format!("use an absolute path for {key}"),
                );
                return false;
            }
            match std::fs::File::open(path) {
                Ok(_) => true,
                Err(e) => {
                    let code = if e.kind() == std::io::ErrorKind::NotFound {
                        "file-missing"
                    } else {
                        "file-unreadable"
                    };
                    this.add(
                        code,
                        Severity::Error,
                        Some(runner),
                        Some(format!("runners.kubernetes.{key}")),
                        None,
                        format!("{key} {p}: {e}"),
                        format!("create {p}, or fix the path"),
                    );
                    false
                }
            }
        };
        let mut ok = [false; 3];
        for (i, (key, value)) in fields.iter().enumerate() {
            if let Some(p) = value.as_deref().filter(|p| !p.is_empty()) {
                ok[i] = readable(self, key, p);
            }
        }
        let chain = if ok[0] {
            self.load(runner, "cert_file", || {
                Certificate::load_all(Path::new(k.cert_file.as_deref().unwrap_or_default()))
            })
        } else {
            None
        };
        let key = if ok[1] {
            self.load(runner, "key_file", || {
                PrivateKey::load(Path::new(k.key_file.as_deref().unwrap_or_default()), None)
            })
        } else {
            None
        };
        let cas = if ok[2] {
            self.load(runner, "ca_file", || {
                Certificate::load_all(Path::new(k.ca_file.as_deref().unwrap_or_default()))
            })
        } else {
            None
        };
        if ok[1] {
            let p = Path::new(k.key_file.as_deref().unwrap_or_default());
            for problem in key_file_problems(p, self.owner) {
                let fix = match problem.code {
                    "key-file-permissions" => format!("chmod 600 {}", p.display()),
                    _ => format!(
                        "chown the key to the runner's user: chown {} {}",
                        self.owner.unwrap_or(0),
                        p.display()
                    ),
                };
                self.add(
                    problem.code,
                    problem.severity,
                    Some(runner),
                    Some("runners.kubernetes.key_file".into()),
                    None,
                    problem.message,
                    fix,
                );
            }
        }
        let files: Vec<&Path> = [&k.cert_file, &k.key_file, &k.ca_file]
            .iter()
            .filter_map(|v| v.as_deref().filter(|p| !p.is_empty()).map(Path::new))
            .filter(|p| p.is_absolute())
            .collect();
        for risk in host_audit::audit(&files, cas.as_deref().unwrap_or(&[])) {
            let (code, severity, message, fix) = match risk {
                HostRisk::CaKey { path, why } => (
                    "ca-key-on-runner-host",
                    Severity::Error,
                    format!("{} is a CA private key on the runner host ({why}): whoever reads it can mint any identity, cluster-admin included", path.display()),
                    format!("delete {} here: the CA key belongs on the control plane only", path.display()),
                ),
                HostRisk::SerialFile { path } => (
                    "ca-serial-file",
                    Severity::Warning,
                    format!("{} is an OpenSSL CA serial file: certificates were signed with the CA key on this host", path.display()),
                    "make sure no copy of the CA key is left on this host, then delete the serial file".to_string(),
                ),
                HostRisk::WritableDirectory { path, mode, below } => (
                    "writable-directory",
                    Severity::Warning,
                    format!("{} (mode {mode:o}) on the way to {} is writable by group or others: they can swap the runner's files", path.display(), below.display()),
                    format!("chmod go-w {}", path.display()),
                ),
            };
            self.add(code, severity, Some(runner), None, None, message, fix);
        }
        let Some(chain) = chain.filter(|c| !c.is_empty()) else {
            return;
        };
        let cert = chain[0].clone();
        let report = verify_client_chain(
            cas.as_deref().unwrap_or(&[]),
            &chain,
            key.as_ref(),
            Some(now),
        );
        for p in &report.problems {
            let (code, severity, key, fix) = match p.code {
                "key-mismatch" => (
                    "key-mismatch",
                    Severity::Error,
                    "key_file",
                    "point key_file at the key the certificate was issued for, or re-issue"
                        .to_string(),
                ),
                "expired" => (
                    "cert-expired",
                    Severity::Error,
                    "cert_file",
                    "renew the certificate".to_string(),
                ),
                "not-yet-valid" => (
                    "cert-not-yet-valid",
                    Severity::Error,
                    "cert_file",
                    "check the clocks, or wait".to_string(),
                ),
                "is-ca" => (
                    "client-cert-is-ca",
                    Severity::Error,
                    "cert_file",
                    "issue a client certificate (CA:FALSE) for the runner".to_string(),
                ),
                "system-masters" => (
                    "system-masters",
                    Severity::Error,
                    "cert_file",
                    "issue a certificate without group system:masters and bind least-privilege RBAC to the user".to_string(),
                ),
                "system-group" => (
                    "system-group",
                    Severity::Warning,
                    "cert_file",
                    "issue a certificate without reserved system: groups".to_string(),
                ),
                "ambiguous-subject" => (
                    "ambiguous-subject",
                    Severity::Error,
                    "cert_file",
                    "issue a certificate whose subject has exactly one CN and plain names".to_string(),
                ),
                "long-validity" => (
                    "long-validity",
                    Severity::Warning,
                    "cert_file",
                    "re-issue with a lifetime of a year or less, and renew it".to_string(),
                ),
                "v1-certificate" => (
                    "v1-certificate",
                    Severity::Warning,
                    "cert_file",
                    "re-issue it as an X.509 v3 client certificate".to_string(),
                ),
                "unsupported-key" => (
                    "unsupported-key",
                    Severity::Error,
                    "cert_file",
                    "issue a certificate for an RSA, ECDSA P-256/P-384/P-521 or Ed25519 key".to_string(),
                ),
                _ if cas.is_none() => continue,
                _ => (
                    "cert-not-trusted",
                    Severity::Error,
                    "cert_file",
                    "issue the certificate from the cluster CA that ca_file holds".to_string(),
                ),
            };
            self.add(
                code,
                severity,
                Some(runner),
                Some(format!("runners.kubernetes.{key}")),
                None,
                format!("{}: {}", cert.subject(), p.message),
                fix,
            );
            if code == "cert-expired" {
                self.then(NextStep::IssueCertificate { renew: true });
            }
        }
        let left = cert.days_left(now);
        if (0..EXPIRY_WARNING_DAYS).contains(&left) && now <= cert.not_after() {
            self.add(
                "cert-expiring",
                Severity::Warning,
                Some(runner),
                Some("runners.kubernetes.cert_file".into()),
                None,
                format!("{} expires in {left} days", cert.subject()),
                "renew it now".into(),
            );
            self.then(NextStep::IssueCertificate { renew: true });
        }
    }

    fn load<T>(&mut self, runner: &str, key: &str, f: impl FnOnce() -> Result<T>) -> Option<T> {
        match f() {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(
                    "file-invalid",
                    Severity::Error,
                    Some(runner),
                    Some(format!("runners.kubernetes.{key}")),
                    None,
                    e.chain(),
                    format!("put a valid PEM file at {key}"),
                );
                None
            }
        }
    }

    fn runner_findings(&mut self, r: &RunnerInfo, table: &Table, now: OffsetDateTime) {
        let label = r.name.clone().unwrap_or_else(|| format!("#{}", r.index));
        let label = label.as_str();
        let at = table.span().map(|s| s.start);
        let executor = r.executor.as_deref().unwrap_or("");
        let Some(k) = &r.kubernetes else {
            if executor == "kubernetes" {
                self.add("empty-namespace", Severity::Warning, Some(label), Some("runners.kubernetes.namespace".into()), at,
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
                "executor-not-kubernetes",
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
                    "unused-executor-section",
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
            self.add("cert-without-key-or-ca", Severity::Error, Some(label), Some("runners.kubernetes.cert_file".into()), at,
                format!("cert_file is set but {missing} is not: client-go cannot build a TLS configuration and the job fails"),
                format!("set {missing} too"));
        }
        if let Some(host) = k.host.as_deref().filter(|h| !h.is_empty()) {
            match Endpoint::parse(host) {
                Err(e) => self.add("bad-host", Severity::Error, Some(label), Some("runners.kubernetes.host".into()), at,
                    e.chain(), "set host to https://HOST:PORT".into()),
                Ok(e) if !e.https => self.add("insecure-host", Severity::Error, Some(label), Some("runners.kubernetes.host".into()), at,
                    format!("host {host:?} is plain http: credentials and job secrets travel in clear, and client certificates are never sent"),
                    "use the API server's https:// URL".into()),
                Ok(e) if e.scheme_missing => self.add("host-without-scheme", Severity::Warning, Some(label), Some("runners.kubernetes.host".into()), at,
                    if host.contains(':') {
                        format!("host {host:?} has no scheme: client-go assumes https only because TLS files are set")
                    } else {
                        format!("host {host:?} has no scheme and no port: client-go then uses https on port 443, not kube-apiserver's usual 6443")
                    },
                    format!("write it in full: https://{}:6443", e.host)),
                Ok(_) => {}
            }
        }
        if set(&k.host) && !set(&k.ca_file) {
            self.add("host-without-ca-file", Severity::Warning, Some(label), Some("runners.kubernetes.ca_file".into()), at,
                "host is set but ca_file is empty: only the system trust store is used, the classic \"x509: certificate signed by unknown authority\"".into(),
                "set ca_file to the cluster CA (/etc/kubernetes/pki/ca.crt on the control plane)".into());
        }
        if !set(&k.namespace) {
            self.add("empty-namespace", Severity::Warning, Some(label), Some("runners.kubernetes.namespace".into()), at,
                "namespace is empty: jobs land in \"default\" (\"Namespace is empty, therefore assuming 'default'\")".into(),
                "set namespace to the runner's own namespace".into());
        }
        if !set(&k.service_account) {
            let ns = k
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or("default");
            self.add("empty-service-account", Severity::Warning, Some(label), Some("runners.kubernetes.service_account".into()), at,
                format!("service_account is empty: job pods run as system:serviceaccount:{ns}:default, which is who kubectl in a deploy job is"),
                "create a service account for the jobs with the deployer profile, and set service_account".into());
            self.then(NextStep::ApplyProfile {
                subject: RbacFor::ServiceAccount {
                    namespace: ns.to_string(),
                    name: "SA".into(),
                },
                profile: "deployer",
                namespace: None,
            });
        }
        self.file_findings(label, k, now);
    }
}

impl RunnerConfig {
    /// Lints the config (see the module docs); findings in file order per
    /// kind, errors first.
    pub fn lint(&self, options: &LintOptions) -> Result<Vec<Finding>> {
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
                l.runner_findings(r, table, now);
            }
        })?;
        let mut findings = l.findings;
        findings.sort_by_key(|f| f.severity);
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<(&'static str, Severity, Option<usize>)> {
        let cfg = RunnerConfig::parse(text).unwrap();
        cfg.lint(&LintOptions::default())
            .unwrap()
            .into_iter()
            .map(|f| (f.code, f.severity, f.line))
            .collect()
    }

    fn has(found: &[(&'static str, Severity, Option<usize>)], code: &str) -> bool {
        found.iter().any(|(c, _, _)| *c == code)
    }

    #[test]
    fn unknown_keys_get_a_suggestion_and_a_line() {
        let cfg = RunnerConfig::parse("concurent = 2\n[[runners]]\n  name = \"a\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    nmespace = \"ci\"\n").unwrap();
        let findings = cfg.lint(&LintOptions::default()).unwrap();
        let top = findings
            .iter()
            .find(|f| f.key.as_deref() == Some("concurent"))
            .unwrap();
        assert_eq!((top.code, top.line), ("unknown-key", Some(1)));
        assert!(top.fix.contains("concurrent"), "{}", top.fix);
        let nested = findings
            .iter()
            .find(|f| f.key.as_deref() == Some("runners.kubernetes.nmespace"))
            .unwrap();
        assert_eq!(nested.line, Some(6));
        assert!(nested.fix.contains("namespace"));
    }

    #[test]
    fn a_docker_runner_with_a_kubernetes_table_gets_every_finding() {
        let found = codes(
            "[[runners]]\n  name = \"b\"\n  executor = \"docker\"\n  [runners.kubernetes]\n    host = \"1.2.3.4\"\n    cert_file = \"/nonexistent/c.crt\"\n    key_file = \"/nonexistent/c.key\"\n",
        );
        for code in [
            "executor-not-kubernetes",
            "cert-without-key-or-ca",
            "host-without-ca-file",
            "host-without-scheme",
            "file-missing",
            "empty-namespace",
        ] {
            assert!(has(&found, code), "{code} missing from {found:?}");
        }
    }

    #[test]
    fn host_schemes_are_judged_as_client_go_reads_them() {
        let base = |host: &str| {
            format!(
                "[[runners]]\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"{host}\"\n    namespace = \"ci\"\n    service_account = \"sa\"\n    ca_file = \"/x/ca.crt\"\n"
            )
        };
        assert!(has(&codes(&base("http://10.0.0.1:6443")), "insecure-host"));
        assert!(has(&codes(&base("10.0.0.1")), "host-without-scheme"));
        assert!(has(&codes(&base("https://u:p@10.0.0.1:6443")), "bad-host"));
        let ok = codes(&base("https://10.0.0.1:6443"));
        assert!(
            !has(&ok, "insecure-host") && !has(&ok, "host-without-scheme") && !has(&ok, "bad-host")
        );
    }

    #[test]
    fn values_of_the_wrong_type_are_errors() {
        let found = codes(
            "concurrent = \"4\"\n[[runners]]\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    privileged = \"yes\"\n    cpu_limit = 2\n    namespace = \"ci\"\n",
        );
        let wrong: Vec<_> = found
            .iter()
            .filter(|(c, _, _)| *c == "wrong-type")
            .collect();
        assert_eq!(wrong.len(), 3, "{found:?}");
        assert!(wrong.iter().all(|(_, s, _)| *s == Severity::Error));
        assert!(has(&codes("[runners]\n  name = \"x\"\n"), "wrong-type"));
    }

    #[test]
    fn empty_namespace_and_service_account_are_warned_about() {
        let found = codes(
            "[[runners]]\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    namespace = \"\"\n",
        );
        assert!(found.contains(&("empty-namespace", Severity::Warning, Some(1))));
        assert!(has(&found, "empty-service-account"));
    }

    #[test]
    fn relative_paths_and_deprecated_keys() {
        let found = codes(
            "[[runners]]\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    namespace = \"ci\"\n    service_account = \"sa\"\n    host = \"https://h:6443\"\n    ca_file = \"ca.crt\"\n",
        );
        assert!(has(&found, "relative-path"), "{found:?}");
    }

    #[test]
    fn a_selected_runner_keeps_file_wide_findings_only() {
        let cfg = RunnerConfig::parse("bogus = 1\n[[runners]]\n  name = \"a\"\n  executor = \"kubernetes\"\n  bad_a = 1\n[[runners]]\n  name = \"b\"\n  executor = \"kubernetes\"\n  bad_b = 1\n").unwrap();
        let only_b = cfg
            .lint(&LintOptions {
                runner: Some(RunnerSelector::Name("b".into())),
                now: None,
            })
            .unwrap();
        let keys: Vec<_> = only_b.iter().filter_map(|f| f.key.clone()).collect();
        assert!(keys.contains(&"bogus".to_string()) && keys.contains(&"runners.bad_b".to_string()));
        assert!(!keys.contains(&"runners.bad_a".to_string()), "{keys:?}");
    }
}
