//! The renewal's systemd units (`runnerkey systemd`).

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::config::Runner;
use crate::convert::to_python;
use crate::errors::IntoPy;

/// The units as a dict with name, service, timer, instance_dropin,
/// runner_dropin and installed (written under `install_root` when given).
fn units_dict(
    py: Python<'_>,
    units: &runnerkey::RenewUnits,
    install_root: Option<PathBuf>,
) -> PyResult<Py<PyAny>> {
    let installed = match &install_root {
        Some(root) => units.install(root).py()?,
        None => Vec::new(),
    };
    let out = serde_json::json!({
        "name": units.name(),
        "service": units.service().py()?,
        "timer": units.timer().py()?,
        "instance_dropin": units.instance_dropin().py()?,
        "runner_dropin": units.runner_dropin().py()?,
        "installed": installed,
    });
    to_python(py, &out)
}

/// The systemd units that run the renewal `exec` for `runner` and the
/// check gitlab-runner.service runs first, installed under `install_root`
/// when given (the parts by hand; [`systemd_units`] decides them from
/// config.toml as `runnerkey systemd` does).
#[pyfunction]
#[pyo3(signature = (*, runner, exec, writable, check = Vec::new(), install_root = None))]
pub fn renew_units(
    py: Python<'_>,
    runner: String,
    exec: Vec<String>,
    writable: Vec<PathBuf>,
    check: Vec<String>,
    install_root: Option<PathBuf>,
) -> PyResult<Py<PyAny>> {
    let units = runnerkey::RenewUnits::new(runner, exec, check, writable);
    units_dict(py, &units, install_root)
}

/// One runner's renewal units, decided from config.toml exactly as
/// `runnerkey systemd` decides them: the `renew` command `program` runs
/// (with the CA in `ca_dir` or `ca_cert`/`ca_key`, or the cluster through
/// `kubeconfig`), the renewal policy when one is given, the paths it
/// writes, gitlab-runner's pre-start check, and with `prometheus` (a
/// textfile directory or a file in it) the metrics' refresh after every
/// renewal attempt.
#[pyfunction]
#[pyo3(signature = (config, *, runner, program, ca_dir = None, ca_cert = None, ca_key = None, ca_passphrase_file = None, kubeconfig = None, context = None, approve = false, wait = "5m", renew_at = None, renew_before = None, instance = None, prometheus = None, install_root = None))]
#[allow(clippy::too_many_arguments)]
pub fn systemd_units(
    py: Python<'_>,
    config: PathBuf,
    runner: Runner,
    program: PathBuf,
    ca_dir: Option<PathBuf>,
    ca_cert: Option<PathBuf>,
    ca_key: Option<PathBuf>,
    ca_passphrase_file: Option<PathBuf>,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    approve: bool,
    wait: &str,
    renew_at: Option<f64>,
    renew_before: Option<String>,
    instance: Option<String>,
    prometheus: Option<PathBuf>,
    install_root: Option<PathBuf>,
) -> PyResult<Py<PyAny>> {
    let signer = match (kubeconfig, ca_dir, ca_cert, ca_key) {
        (Some(path), None, None, None) => runnerkey::RenewSigner::Kubeconfig {
            path,
            context,
            approve,
            wait: wait.to_string(),
        },
        (None, Some(dir), None, None) => runnerkey::RenewSigner::CaDir(dir),
        (None, None, Some(cert), Some(key)) => runnerkey::RenewSigner::CaFiles { cert, key },
        _ => {
            return Err(crate::errors::to_py(runnerkey::Error::InvalidArgument(
                "give one of ca_dir=, ca_cert= with ca_key=, or kubeconfig=: how the renewal gets the new credential".into(),
            )));
        }
    };
    let policy = match (renew_at, &renew_before) {
        (None, None) => None,
        _ => Some(runnerkey::RenewalPolicy::from_options(renew_at, renew_before.as_deref()).py()?),
    };
    let mut plan = runnerkey::RenewUnitPlan::new(&config, runner.into(), program, signer);
    plan.instance = instance;
    plan.ca_passphrase_file = ca_passphrase_file;
    plan.policy = policy;
    plan.prometheus = prometheus;
    let loaded = runnerkey::runner_config::RunnerConfig::load(&config).py()?;
    let units = plan.units(&loaded).map_err(|e| e.in_file(&config)).py()?;
    units_dict(py, &units, install_root)
}
