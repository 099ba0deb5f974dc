//! gitlab-runner's `config.toml`: read it, list and select runners, edit
//! `[runners.kubernetes]` byte-for-byte outside the changed values, save it
//! atomically with a backup under a lock, and lint it.
//!
//! Edits are text splices located with toml_edit's spans, so comments,
//! order, indentation, quoting and CRLF line ends outside the changed
//! values stay exactly as they were.

mod edit;
pub use crate::error::edit::EditProblem;
mod exposed;
pub(crate) mod host_audit;
pub mod keys;
mod layout;
pub mod lint;
pub(crate) mod redact;
mod save;
mod selector;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use toml_edit::{Document, Item, Table};

use layout::{Layout, Piece};

use crate::error::{Error, Result};
use crate::secret::Secret;

mod lines;
pub(crate) use lines::{LineIndex, line_col};
pub use save::{ConfigLock, Edited, PreparedSave, SaveOptions, Saved};

/// Where gitlab-runner keeps its configuration when it runs as root.
pub const DEFAULT_PATH: &str = "/etc/gitlab-runner/config.toml";

/// The `[runners.kubernetes]` keys runnerkey sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KubeKey {
    /// `host`: the API server URL.
    Host,
    /// `cert_file`: client certificate.
    CertFile,
    /// `key_file`: client key.
    KeyFile,
    /// `ca_file`: CA that signed the API server's certificate.
    CaFile,
    /// `namespace`: where job pods run.
    Namespace,
    /// `service_account`: the job pods' service account.
    ServiceAccount,
    /// `bearer_token`: a token instead of a client certificate (secret).
    BearerToken,
}

impl KubeKey {
    /// Every key, in the order they are written into a new table.
    pub const ALL: &'static [KubeKey] = &[
        KubeKey::Host,
        KubeKey::CertFile,
        KubeKey::KeyFile,
        KubeKey::CaFile,
        KubeKey::Namespace,
        KubeKey::ServiceAccount,
        KubeKey::BearerToken,
    ];

    /// The TOML key.
    pub fn name(self) -> &'static str {
        match self {
            KubeKey::Host => "host",
            KubeKey::CertFile => "cert_file",
            KubeKey::KeyFile => "key_file",
            KubeKey::CaFile => "ca_file",
            KubeKey::Namespace => "namespace",
            KubeKey::ServiceAccount => "service_account",
            KubeKey::BearerToken => "bearer_token",
        }
    }

    /// Whether the value is a secret, never shown unless asked.
    pub fn is_secret(self) -> bool {
        self == KubeKey::BearerToken
    }
}

impl fmt::Display for KubeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KubeKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        KubeKey::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                Error::from(EditProblem::UnknownKey {
                    key: s.chars().take(80).collect(),
                    known: KubeKey::ALL.iter().map(|k| k.name()).collect(),
                })
            })
    }
}

pub use crate::runner_selector::RunnerSelector;

/// One change to a runner's `[runners.kubernetes]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// The key.
    pub key: KubeKey,
    /// The new value, or `None` to remove the key.
    pub value: Option<String>,
}

impl Change {
    /// Set `key` to `value`.
    pub fn set(key: KubeKey, value: impl Into<String>) -> Self {
        Self {
            key,
            value: Some(value.into()),
        }
    }

    /// Remove `key`.
    pub fn unset(key: KubeKey) -> Self {
        Self { key, value: None }
    }
}

/// A runner's `[runners.kubernetes]` settings that runnerkey manages.
///
/// `Debug` and `Serialize` hide the secrets: `bearer_token` is a
/// [`Secret`], and `host` shows without a URL's userinfo
/// (`https://<redacted>@…`); the fields hold the values as written.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KubernetesSettings {
    /// `host`, as written (a `user:password@` in it included).
    #[serde(serialize_with = "exposed::url_without_userinfo")]
    pub host: Option<String>,
    /// `cert_file`.
    pub cert_file: Option<String>,
    /// `key_file`.
    pub key_file: Option<String>,
    /// `ca_file`.
    pub ca_file: Option<String>,
    /// `namespace`.
    pub namespace: Option<String>,
    /// `service_account`.
    pub service_account: Option<String>,
    /// `bearer_token`.
    pub bearer_token: Option<Secret>,
    /// `service_account_overwrite_allowed`: a pattern of service accounts
    /// a job may choose (`KUBERNETES_SERVICE_ACCOUNT_OVERWRITE`); set, the
    /// job pods may run as other accounts of the namespace, `default`
    /// included.
    pub service_account_overwrite_allowed: Option<String>,
}

impl KubernetesSettings {
    /// The value of `key`; always `None` for a key whose
    /// [`KubeKey::is_secret`] is true (`bearer_token`), so a loop over
    /// [`KubeKey::ALL`] never prints a secret: ask [`Self::secret`] for it.
    pub fn get(&self, key: KubeKey) -> Option<&str> {
        match key {
            KubeKey::Host => self.host.as_deref(),
            KubeKey::CertFile => self.cert_file.as_deref(),
            KubeKey::KeyFile => self.key_file.as_deref(),
            KubeKey::CaFile => self.ca_file.as_deref(),
            KubeKey::Namespace => self.namespace.as_deref(),
            KubeKey::ServiceAccount => self.service_account.as_deref(),
            KubeKey::BearerToken => None,
        }
    }

    /// The value of a secret `key` ([`KubeKey::is_secret`]), to be exposed
    /// only where it must be written or shown on request; `None` for every
    /// other key (read them with [`Self::get`]).
    pub fn secret(&self, key: KubeKey) -> Option<&Secret> {
        match key {
            KubeKey::BearerToken => self.bearer_token.as_ref(),
            _ => None,
        }
    }
}

/// A `[[runners]]` entry as `runner-config show` lists it.
///
/// `Debug` and `Serialize` hide the secrets: `token` is a [`Secret`], and
/// `url` shows without a URL's userinfo (`https://<redacted>@…`), as do
/// the kubernetes settings; the fields hold the values as written, and
/// [`RunnerInfo::to_json_exposing_secrets`] writes them all out.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RunnerInfo {
    /// 0-based position among `[[runners]]`.
    pub index: usize,
    /// `name`.
    pub name: Option<String>,
    /// `url`, as written (a `user:password@` in it included).
    #[serde(serialize_with = "exposed::url_without_userinfo")]
    pub url: Option<String>,
    /// `executor`.
    pub executor: Option<String>,
    /// `token`.
    pub token: Option<Secret>,
    /// The kubernetes settings, when a `kubernetes` table is present.
    pub kubernetes: Option<KubernetesSettings>,
}

/// A loaded `config.toml` and the edits made to it in memory. `Debug`
/// shows the path, the text's size and the runners (their secrets
/// redacted), never the text: it holds runner tokens.
#[derive(Clone)]
pub struct RunnerConfig {
    path: Option<PathBuf>,
    original: String,
    text: String,
    /// How `text` is split for parsing.
    layout: Layout,
    /// What `text` holds of each runner.
    runners: Vec<RunnerInfo>,
}

impl std::fmt::Debug for RunnerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerConfig")
            .field("path", &self.path)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field("edited", &(self.text != self.original))
            .field("runners", &self.runners)
            .finish()
    }
}

/// The largest config.toml read: far above any real one (10,000 runners
/// take about 11 MB).
pub const MAX_CONFIG: u64 = 256 * 1024 * 1024;

/// Parses config text, keeping it (and every span) in the document.
pub(crate) fn parse(text: String) -> Result<Document<String>> {
    Document::parse(text.clone()).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((1, 1));
        Error::ConfigParse {
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })
}

fn str_of(table: &Table, key: &str) -> Option<String> {
    table.get(key).and_then(Item::as_str).map(str::to_string)
}

/// What a `[[runners]]` table holds, for the runner at `index`.
pub(crate) fn runner_info(index: usize, t: &Table) -> RunnerInfo {
    RunnerInfo {
        index,
        name: str_of(t, "name"),
        url: str_of(t, "url"),
        executor: str_of(t, "executor"),
        token: str_of(t, "token").map(Secret::from),
        kubernetes: kubernetes_of(t),
    }
}

impl RunnerConfig {
    /// Parses config text (not tied to a file).
    pub fn parse(text: impl Into<String>) -> Result<Self> {
        let text: String = text.into();
        let (layout, runners) = layout::analyze(&text)?;
        Ok(Self {
            path: None,
            original: text.clone(),
            text,
            layout,
            runners,
        })
    }

    /// Reads and parses a file; a syntax error names the file, line and column.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = crate::file::read_capped(path, MAX_CONFIG)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_col(
                &String::from_utf8_lossy(e.as_bytes()),
                e.utf8_error().valid_up_to(),
            );
            Error::ConfigParse {
                line,
                column,
                message: "not valid UTF-8".into(),
            }
            .in_file(path)
        })?;
        let mut cfg = Self::parse(text).map_err(|e| e.in_file(path))?;
        cfg.path = Some(path.to_owned());
        Ok(cfg)
    }

    /// The file it was loaded from.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The current text, with any edits.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Calls `f` with each parsed piece of the text in order (all of it,
    /// or the preamble and runner `only`'s part when the text is split).
    pub(crate) fn pieces(&self, only: Option<usize>, f: impl FnMut(Piece)) -> Result<()> {
        self.layout.for_each(&self.text, only, f)
    }

    /// The text as loaded.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Whether edits changed the text.
    pub fn is_changed(&self) -> bool {
        self.text() != self.original
    }

    /// Every `[[runners]]` entry, in order.
    pub fn runners(&self) -> Result<Vec<RunnerInfo>> {
        Ok(self.runners.clone())
    }

    /// The index of the runner `selector` names.
    pub fn select(&self, selector: &RunnerSelector) -> Result<usize> {
        let runners = &self.runners;
        match selector {
            RunnerSelector::Index(i) if *i < runners.len() => Ok(*i),
            RunnerSelector::Index(i) => Err(EditProblem::IndexOutOfRange {
                index: *i,
                count: runners.len(),
            }
            .into()),
            RunnerSelector::Name(name) => {
                let indexes: Vec<usize> = runners
                    .iter()
                    .filter(|r| r.name.as_deref() == Some(name.as_str()))
                    .map(|r| r.index)
                    .collect();
                match indexes.as_slice() {
                    [i] => Ok(*i),
                    [] => Err(Error::RunnerNotFound {
                        name: name.clone(),
                        available: runners.iter().filter_map(|r| r.name.clone()).collect(),
                    }),
                    _ => Err(Error::DuplicateRunner {
                        name: name.clone(),
                        indexes,
                    }),
                }
            }
        }
    }

    /// Applies `changes` to the selected runner's `[runners.kubernetes]`
    /// (created inside the runner when missing; an inline
    /// `kubernetes = { … }` table is edited in place). Returns the keys whose
    /// value actually changed: setting a key to its current value is no
    /// change.
    pub fn set_kubernetes(
        &mut self,
        runner: &RunnerSelector,
        changes: &[Change],
    ) -> Result<Vec<KubeKey>> {
        let index = self.select(runner)?;
        for c in changes {
            if let Some(v) = &c.value
                && v.contains(['\n', '\r'])
            {
                return Err(EditProblem::Multiline { key: c.key.name() }.into());
            }
        }
        match self.layout.runner_part(index) {
            Some(range) => {
                // Only the runner's own part is parsed and edited.
                let doc = parse(self.text[range.clone()].to_string())?;
                let (part, changed) = edit::apply(&doc, 0, changes)?;
                if let Some(part) = part {
                    let delta = part.len() as isize - range.len() as isize;
                    let edited = parse(part.clone())?;
                    if let Some(t) = edited
                        .get("runners")
                        .and_then(Item::as_array_of_tables)
                        .and_then(|a| a.get(0))
                    {
                        self.runners[index] = runner_info(index, t);
                    }
                    self.text.replace_range(range, &part);
                    self.layout.shift_after(index, delta);
                }
                Ok(changed)
            }
            None => {
                let doc = parse(self.text.clone())?;
                let (text, changed) = edit::apply(&doc, index, changes)?;
                if let Some(text) = text {
                    let (layout, runners) = layout::analyze(&text)?;
                    self.text = text;
                    self.layout = layout;
                    self.runners = runners;
                }
                Ok(changed)
            }
        }
    }

    /// A unified diff from the loaded text to the current one (empty when
    /// unchanged). Unless `show_secrets`, the values of `token` and
    /// `bearer_token` lines are replaced by `<redacted>`.
    pub fn diff(&self, show_secrets: bool) -> String {
        if !self.is_changed() {
            return String::new();
        }
        let name = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "config.toml".into());
        let unified = |a: &str, b: &str| {
            similar::TextDiff::from_lines(a, b)
                .unified_diff()
                .context_radius(3)
                .header(&name, &name)
                .to_string()
        };
        if show_secrets {
            return unified(self.original.as_str(), self.text());
        }
        match redact::redact_pair(&self.original, self.text()) {
            Some((a, b)) => unified(&a, &b),
            // Text that does not parse cannot be redacted by meaning, so
            // none of it is shown.
            None => format!(
                "--- {name}\n+++ {name}\n(diff hidden: the config does not parse, so its secrets cannot be told apart)\n"
            ),
        }
    }
}

fn kubernetes_of(runner: &Table) -> Option<KubernetesSettings> {
    let item = runner.get("kubernetes")?;
    let get = |k: &str| item.get(k).and_then(Item::as_str).map(str::to_string);
    Some(KubernetesSettings {
        host: get("host"),
        cert_file: get("cert_file"),
        key_file: get("key_file"),
        ca_file: get("ca_file"),
        namespace: get("namespace"),
        service_account: get("service_account"),
        service_account_overwrite_allowed: get("service_account_overwrite_allowed"),
        bearer_token: get("bearer_token").map(Secret::from),
    })
}
