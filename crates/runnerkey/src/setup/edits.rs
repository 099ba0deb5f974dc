//! What setup writes besides the credentials: the runner's
//! `[runners.kubernetes]` keys (for a kubernetes runner only) and rbac.yaml.

use std::path::Path;

use super::{SetupParams, SetupPaths};
use crate::error::{Error, Result};
use crate::issue::ClientFiles;
use crate::rbac::{Profile, RbacParams, RbacSubject};
use crate::runner_config::{Change, KubeKey, RunnerConfig};
use crate::service_account::ServiceAccountRef;

/// Refuses a runner whose executor is not kubernetes, before anything is
/// written: its `[runners.kubernetes]` settings would be ignored.
pub(super) fn check_executor(config: &RunnerConfig, params: &SetupParams) -> Result<()> {
    let index = config.select(&params.runner)?;
    let runners = config.runners()?;
    let Some(r) = runners.iter().find(|r| r.index == index) else {
        return Ok(());
    };
    match r.executor.as_deref() {
        Some("kubernetes") => Ok(()),
        other => Err(Error::NotKubernetesRunner {
            runner: r.name.clone().unwrap_or_else(|| format!("#{index}")),
            executor: other.unwrap_or_default().to_string(),
        }
        .in_file(&params.config)),
    }
}

pub(super) fn config_changes(params: &SetupParams, paths: &SetupPaths) -> Vec<Change> {
    let mut changes = file_changes(&paths.installed);
    changes.insert(0, Change::set(KubeKey::Host, params.server.clone()));
    // A token left from token auth would be a second identity.
    changes.push(Change::unset(KubeKey::BearerToken));
    changes.extend([
        Change::set(KubeKey::Namespace, params.namespace.clone()),
        Change::set(KubeKey::ServiceAccount, params.service_account.clone()),
    ]);
    changes
}

/// `cert_file`, `key_file` and `ca_file` pointing at `files`.
pub(super) fn file_changes(files: &ClientFiles) -> Vec<Change> {
    let p = |x: &Path| x.display().to_string();
    vec![
        Change::set(KubeKey::CertFile, p(&files.cert_file)),
        Change::set(KubeKey::KeyFile, p(&files.key_file)),
        Change::set(KubeKey::CaFile, p(&files.ca_file)),
    ]
}

/// RBAC for the runner (`runner`: its user, or its service account with
/// token auth) and for the job pods' service account, plus the runner's
/// `auditor` rights (so that `doctor --online` can name any cluster-admin
/// binding left for it or its job pods); with
/// `renews_through_api`, also the runner's rights to renew itself through
/// the CSR API (profile `renewer`, for `runnerkey approver`).
pub(super) fn rbac_yaml(
    params: &SetupParams,
    runner: RbacSubject,
    renews_through_api: bool,
) -> Result<String> {
    let who = match &runner {
        RbacSubject::User(id) => id.user().to_string(),
        RbacSubject::ServiceAccount(sa) => sa.user(),
        RbacSubject::Group(g) => format!("group {g}"),
    };
    let renewer = if renews_through_api && matches!(runner, RbacSubject::User(_)) {
        let mut renewer = RbacParams::new(runner.clone(), Profile::Renewer);
        renewer.with_namespaces = false;
        renewer.manifests()?.to_yaml()?
    } else {
        String::new()
    };
    let mut auditor = RbacParams::new(runner.clone(), Profile::Auditor);
    auditor.with_namespaces = false;
    let mut runner = RbacParams::new(runner, Profile::Executor);
    runner.namespace = Some(params.namespace.clone());
    let mut jobs = RbacParams::new(
        RbacSubject::ServiceAccount(ServiceAccountRef::new(
            params.namespace.clone(),
            params.service_account.clone(),
        )?),
        Profile::Deployer,
    );
    jobs.with_namespaces = false;
    Ok(format!(
        "# RBAC for runner identity {} and job service account {}/{} (runnerkey setup)\n{}{}{}{}",
        who,
        params.namespace,
        params.service_account,
        runner.manifests()?.to_yaml()?,
        jobs.manifests()?.to_yaml()?,
        auditor.manifests()?.to_yaml()?,
        renewer
    ))
}
