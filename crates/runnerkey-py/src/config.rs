//! gitlab-runner's config.toml.

use std::path::PathBuf;
use std::time::Duration;

use pyo3::prelude::*;
use runnerkey::runner_config::lint::LintOptions;
use runnerkey::runner_config::{Change, KubeKey, RunnerSelector, SaveOptions};

use crate::convert::to_python;
use crate::errors::IntoPy;

/// A runner by name (str) or 0-based index (int).
#[derive(FromPyObject)]
pub enum Runner {
    /// Index.
    Index(usize),
    /// Name.
    Name(String),
}

impl From<Runner> for RunnerSelector {
    fn from(r: Runner) -> Self {
        match r {
            Runner::Index(i) => RunnerSelector::Index(i),
            Runner::Name(n) => RunnerSelector::Name(n),
        }
    }
}

/// A loaded config.toml and the edits made to it in memory.
#[pyclass(module = "runnerkey")]
pub struct RunnerConfig(pub runnerkey::runner_config::RunnerConfig);

#[pymethods]
impl RunnerConfig {
    /// Reads and parses a file (ConfigParseError with .line/.column).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        runnerkey::runner_config::RunnerConfig::load(&path)
            .py()
            .map(Self)
    }

    /// Parses text not tied to a file.
    #[staticmethod]
    fn parse(text: String) -> PyResult<Self> {
        runnerkey::runner_config::RunnerConfig::parse(text)
            .py()
            .map(Self)
    }

    /// The runners as dicts (tokens and URL passwords redacted unless `show_secrets`).
    #[pyo3(signature = (show_secrets = false))]
    fn list_runners(&self, py: Python<'_>, show_secrets: bool) -> PyResult<Py<PyAny>> {
        let runners = self.0.runners().py()?;
        if show_secrets {
            let exposed: Vec<_> = runners
                .iter()
                .map(|r| r.to_json_exposing_secrets())
                .collect();
            return to_python(py, &exposed);
        }
        let runners: Vec<_> = runners.iter().map(|r| r.redacted()).collect();
        to_python(py, &runners)
    }

    /// The runners as dicts, tokens redacted.
    #[getter]
    fn runners(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.list_runners(py, false)
    }

    /// The current text.
    #[getter]
    fn text(&self) -> String {
        self.0.text().to_string()
    }

    /// Whether edits changed the text.
    #[getter]
    fn changed(&self) -> bool {
        self.0.is_changed()
    }

    /// Sets [runners.kubernetes] keys of one runner (None leaves a key
    /// alone; names in `unset` are removed); returns the keys that changed.
    #[pyo3(signature = (runner, *, host = None, cert_file = None, key_file = None, ca_file = None, namespace = None, service_account = None, bearer_token = None, unset = Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn set_kubernetes(
        &mut self,
        runner: Runner,
        host: Option<String>,
        cert_file: Option<PathOrStr>,
        key_file: Option<PathOrStr>,
        ca_file: Option<PathOrStr>,
        namespace: Option<String>,
        service_account: Option<String>,
        bearer_token: Option<String>,
        unset: Vec<String>,
    ) -> PyResult<Vec<String>> {
        let mut changes = Vec::new();
        let path = |p: Option<PathOrStr>| p.map(|p| p.0);
        for (key, value) in [
            (KubeKey::Host, host),
            (KubeKey::CertFile, path(cert_file)),
            (KubeKey::KeyFile, path(key_file)),
            (KubeKey::CaFile, path(ca_file)),
            (KubeKey::Namespace, namespace),
            (KubeKey::ServiceAccount, service_account),
            (KubeKey::BearerToken, bearer_token),
        ] {
            if let Some(v) = value {
                changes.push(Change::set(key, v));
            }
        }
        for k in unset {
            changes.push(Change::unset(k.parse().py()?));
        }
        let changed = self.0.set_kubernetes(&runner.into(), &changes).py()?;
        Ok(changed.iter().map(|k| k.name().to_string()).collect())
    }

    /// Unified diff from the loaded text (tokens redacted unless `show_secrets`).
    #[pyo3(signature = (show_secrets = false))]
    fn diff(&self, show_secrets: bool) -> String {
        self.0.diff(show_secrets)
    }

    /// Saves (backup, atomic, locked); returns None when unchanged, else
    /// {"path": …, "backup": …}.
    #[pyo3(signature = (backup = true, lock_timeout = 10.0))]
    fn save(&self, py: Python<'_>, backup: bool, lock_timeout: f64) -> PyResult<Py<PyAny>> {
        let options = {
            let mut p = SaveOptions::default();
            p.backup = backup;
            p.lock_timeout = if lock_timeout == 0.0 {
                Duration::ZERO
            } else {
                runnerkey::Timeout::from_secs_f64("lock_timeout", lock_timeout)
                    .map_err(crate::errors::to_py)?
                    .as_duration()
            };
            p
        };
        let saved = py.detach(|| self.0.save(&options)).py()?;
        if !saved.changed {
            return Ok(py.None());
        }
        let value = serde_json::json!({"path": saved.path, "backup": saved.backup});
        to_python(py, &value)
    }

    /// Lint findings as dicts (code, severity, runner, key, line, message, fix).
    #[pyo3(signature = (runner = None))]
    fn lint(&self, py: Python<'_>, runner: Option<Runner>) -> PyResult<Py<PyAny>> {
        let findings = self
            .0
            .lint(&{
                let mut p = LintOptions::default();
                p.runner = runner.map(Into::into);
                p.now = None;
                p
            })
            .py()?;
        to_python(py, &findings)
    }

    fn __repr__(&self) -> String {
        format!(
            "<RunnerConfig {}{}>",
            self.0
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(text)".into()),
            if self.0.is_changed() { ", changed" } else { "" }
        )
    }
}

/// A path given as str or os.PathLike, stored as text for the config.
pub struct PathOrStr(pub String);

impl<'py> FromPyObject<'_, 'py> for PathOrStr {
    type Error = PyErr;
    fn extract(ob: pyo3::Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        let p: PathBuf = ob.extract()?;
        Ok(PathOrStr(p.display().to_string()))
    }
}
