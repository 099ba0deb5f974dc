//! What setup did: each file's action, the config diff, the doctor's
//! verdict, and the steps left to do by hand.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{SetupParams, SetupPaths};
use crate::doctor::DoctorReport;
use crate::next_step::NextStep;
use crate::plan::FileAction;
use crate::status::Credential;

/// What `setup` did (or would do).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct SetupReport {
    /// Whether anything was (or, in a dry run, would be) written: what
    /// Ansible reports as `changed`.
    pub changed: bool,
    /// A dry run: nothing was written.
    pub dry_run: bool,
    /// Every file, with its action.
    pub files: Vec<FileAction>,
    /// How the runner authenticates: a client certificate, or a token.
    pub credential: Credential,
    /// The credential's subject and end.
    pub certificate: String,
    /// Why the credential was (re-)issued, requested or kept.
    pub certificate_note: String,
    /// The config file.
    pub config: PathBuf,
    /// The config diff (secrets redacted); empty when unchanged.
    pub config_diff: String,
    /// The config backup, when one was written.
    pub config_backup: Option<PathBuf>,
    /// Offline doctor on the result (on the planned state in a dry run, the config as it is).
    pub doctor: Option<DoctorReport>,
    /// What is still to do by hand.
    pub next_steps: Vec<NextStep>,
    /// Advice (long validity …).
    pub warnings: Vec<String>,
    /// Why the runner's existing key was replaced by a new one (a blog
    /// identity's key: see `SetupParams::keep_key`); `None` when it was
    /// kept or there was none.
    pub key_replaced: Option<String>,
}

pub(super) fn next_steps(params: &SetupParams, paths: &SetupPaths, token: bool) -> Vec<NextStep> {
    let mut steps = vec![NextStep::ApplyFile {
        file: paths.rbac.clone(),
    }];
    let parent = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut kubeconfig = paths.kubeconfig.clone();
    if paths.installed.key_file != paths.key {
        let to = parent(&paths.installed.key_file);
        kubeconfig = to.join("kubeconfig");
        steps.push(NextStep::InstallFiles {
            from: parent(&paths.key),
            to,
            config: params.config.clone(),
        });
    }
    steps.push(NextStep::CheckOnline {
        config: params.config.clone(),
        runner: params.runner.clone(),
    });
    if !token {
        steps.push(NextStep::TryKubeconfig { kubeconfig });
    }
    steps
}
