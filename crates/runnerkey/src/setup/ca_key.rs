//! The CA key `setup --ca-dir` signed with: setup could read it, so it is
//! on this host — the runner host. Setup says so (a warning in its report)
//! and records the path in the pin, so that `doctor` keeps reporting it
//! (an error) while the file exists, wherever it lies.

use std::path::{Path, PathBuf};

use super::{SetupParams, SetupReport, Source};
use crate::code::Code;
use crate::runner_config::lint::Finding;
use crate::severity::Severity;

/// The CA key file on this host to record in the pin: the one this run
/// signed with (when this host is the runner host), else one an earlier
/// setup recorded that is still there.
pub(super) fn seen(source: &Source<'_>, params: &SetupParams, runner: &str) -> Option<PathBuf> {
    let config = &params.config;
    let here = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    let runner_host = params.install_dir.is_none() && !params.ca_on_control_plane;
    if let Source::Ca(ca) = source
        && runner_host
        && let Some(key) = ca.key_path().filter(|p| here(p))
    {
        return Some(key.to_path_buf());
    }
    crate::pin::load(config, runner)
        .ok()
        .flatten()
        .and_then(|pin| pin.ca_key_seen)
        .filter(|p| here(p))
}

/// The finding about `path`, the CA key on the runner host.
pub(crate) fn finding(path: &Path, runner: &str, severity: Severity) -> Finding {
    Finding {
        code: Code::CaKeyOnRunnerHost,
        severity,
        runner: Some(runner.to_string()),
        key: None,
        line: None,
        message: format!(
            "{} is the cluster CA's private key, on the runner host (setup signed with it here): whoever reads it can mint any identity, cluster-admin included",
            path.display()
        ),
        fix: format!(
            "move it off this host: once the control plane has it, shred -u {}",
            path.display()
        ),
        next: None,
    }
}

/// Adds the warning to setup's report, unless its doctor already names
/// that file.
pub(super) fn report(report: &mut SetupReport, key: Option<&Path>) {
    let Some(key) = key else { return };
    let Some(d) = report.doctor.as_mut() else {
        return;
    };
    let Some(r) = d.runners.first_mut() else {
        return;
    };
    let shown = key.display().to_string();
    // The finding doctor makes of the key an earlier setup recorded: an
    // error there; here, in the run that just used it, setup's warning.
    let recorded = finding(key, &r.runner, Severity::Error);
    let mut named = false;
    for f in &mut r.findings {
        if f.code == recorded.code && f.message == recorded.message {
            f.severity = Severity::Warning;
        }
        named |= f.code == Code::CaKeyOnRunnerHost && f.message.contains(&shown);
    }
    if named {
        return;
    }
    let runner = r.runner.clone();
    r.findings.push(finding(key, &runner, Severity::Warning));
}
