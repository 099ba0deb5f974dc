//! The last part of setup: the planned files written (credentials as one
//! switch, then the rest, then config.toml), and the result checked with
//! the offline doctor.

use std::path::Path;

use super::edits::file_changes;
use super::report::next_steps;
use super::{SetupParams, SetupPaths, SetupReport};
use crate::code::Code;
use crate::credential_dir::CredentialDir;
use crate::doctor::{DoctorOptions, diagnose};
use crate::error::Result;
use crate::issue::ClientFiles;
use crate::plan::{FileChange, Plan};
use crate::runner_config::{ConfigLock, RunnerConfig, SaveOptions};

/// Writes the plan and the config (credentials first, config.toml last),
/// then checks the result with the offline doctor.
#[allow(clippy::too_many_arguments)]
pub(super) fn commit_and_check(
    params: &SetupParams,
    paths: &SetupPaths,
    config: RunnerConfig,
    mut plan: Plan,
    credential: String,
    note: String,
    mut warnings: Vec<String>,
    token: bool,
) -> Result<SetupReport> {
    let config_diff = config.diff(false);
    let mut backup = None;
    if !params.dry_run {
        let dir = paths.key.parent().unwrap_or(Path::new("/")).to_path_buf();
        let credentials = if token {
            None
        } else {
            plan.take_credentials(&[&paths.key, &paths.cert, &paths.ca])?
        };
        let (outputs, _created) = plan.stage(&dir)?;
        let lock = if config.is_changed() {
            Some(ConfigLock::acquire(
                &params.config,
                SaveOptions::default().lock_timeout,
            )?)
        } else {
            None
        };
        // Everything that can fail before anything is committed: the
        // config's backup and its new text are ready beside it.
        let prepared = match &lock {
            Some(lock) => Some(config.prepare_save(lock, &SaveOptions::default())?),
            None => None,
        };
        // The key, certificate and CA certificate switch as one unit, then
        // the other files, then config.toml (which may start pointing at
        // them).
        if let Some(credentials) = &credentials {
            CredentialDir::new(&dir).install(credentials)?;
        }
        outputs.commit()?;
        plan.fix_modes()?;
        if let Some(prepared) = prepared {
            let saved = prepared.commit()?;
            warnings.extend(saved.narrowed_note());
            backup = saved.backup;
        }
    }
    // A dry run previews the planned config, not the one on disk; files
    // the plan would write are not "missing".
    let mut checked = if params.dry_run {
        config
    } else {
        RunnerConfig::load(&params.config)?
    };
    if paths.installed.key_file != paths.key {
        // The runner host will find the files at the install paths; here
        // they are in out_dir: check those, as they will be there.
        let here = ClientFiles {
            key_file: paths.key.clone(),
            cert_file: paths.cert.clone(),
            ca_file: paths.ca.clone(),
        };
        checked
            .set_kubernetes(&params.runner, &file_changes(&here))
            .map_err(|e| e.in_file(&params.config))?;
    }
    let mut doctor = diagnose(
        &checked,
        &DoctorOptions {
            runner: Some(params.runner.clone()),
            ..DoctorOptions::default()
        },
    )
    .ok();
    if params.dry_run
        && let Some(d) = doctor.as_mut()
    {
        let planned: Vec<String> = plan
            .actions
            .iter()
            .map(|a| a.path.display().to_string())
            .collect();
        for r in &mut d.runners {
            r.findings.retain(|f| {
                !(matches!(f.code, Code::FileMissing | Code::FileInvalid)
                    && planned.iter().any(|p| f.message.contains(p.as_str())))
            });
        }
    }
    let changed = plan
        .actions
        .iter()
        .any(|f| f.action != FileChange::Unchanged)
        || !config_diff.is_empty();
    Ok(SetupReport {
        changed,
        dry_run: params.dry_run,
        files: plan.actions,
        credential: if token {
            crate::status::Credential::BearerToken
        } else {
            crate::status::Credential::ClientCertificate
        },
        certificate: credential,
        certificate_note: note,
        config: params.config.clone(),
        config_diff,
        config_backup: backup,
        doctor,
        next_steps: next_steps(params, paths, token),
        warnings,
        key_replaced: None,
    })
}
