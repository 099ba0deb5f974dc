//! `setup --request`: the runner host's half of the split way — its key,
//! a CSR and a CertificateSigningRequest manifest; no CA key needed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::{FileAction, SetupParams, SetupPaths, check_executor, config_changes};
use crate::csr::{CertificateRequest, CsrParams};
use crate::error::Result;
use crate::file;
use crate::k8s_csr::{K8sCsr, K8sCsrParams};
use crate::key::PrivateKey;
use crate::manifest::to_yaml;
use crate::next_step::NextStep;
use crate::plan::Plan;
use crate::runner_config::RunnerConfig;

/// What `setup --request` wrote.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct RequestReport {
    /// Every file, with its action.
    pub files: Vec<FileAction>,
    /// How to have the CSR signed (either of the first two), then finish.
    pub next_steps: Vec<NextStep>,
    /// Why the runner's existing key is being replaced (a blog identity's
    /// key, or `force`); `None` when the CSR is for the installed key.
    pub key_replaced: Option<String>,
    /// Where the new key waits for `--complete` (the installed key and
    /// config.toml keep working until then), when it is replaced.
    pub staged_key: Option<PathBuf>,
}

/// The key `setup --request` staged for `--complete`, if there is one.
pub(super) fn staged_key(paths: &SetupPaths) -> Result<Option<PrivateKey>> {
    if std::fs::symlink_metadata(&paths.staged_key).is_err() {
        return Ok(None);
    }
    PrivateKey::load(&paths.staged_key, None).map(Some)
}

/// `setup --request`: on the runner host, the key (kept when it exists),
/// a PKCS#10 CSR and a CertificateSigningRequest manifest; the CA key is
/// never needed here.
pub(super) fn request(
    params: &SetupParams,
    csr_name: &str,
    expiration: Option<Duration>,
) -> Result<RequestReport> {
    let paths = SetupPaths::new(params)?;
    let mut probe = RunnerConfig::load(&params.config)?;
    check_executor(&probe, params)?;
    probe
        .set_kubernetes(&params.runner, &config_changes(params, &paths))
        .map_err(|e| e.in_file(&params.config))?;
    let mut plan = Plan::new(params.dry_run);
    let now = time::OffsetDateTime::now_utc();
    // A key to replace (a blog identity's, or with force) is staged beside
    // the installed one: the runner keeps working with the old pair until
    // --complete installs the new key and its certificate as one switch.
    let key_replaced = if params.force && std::fs::symlink_metadata(&paths.key).is_ok() {
        Some("a new key was asked for (force)".to_string())
    } else {
        super::key_replacement::reason(params, &paths, now)
    };
    // A key staged by an earlier run is the one to go on with, unless told
    // to keep the installed one.
    let staging = key_replaced.is_some()
        || (!params.keep_key && std::fs::symlink_metadata(&paths.staged_key).is_ok());
    let key = if staging {
        plan.key(
            &paths.staged_key,
            params.algorithm,
            params.force,
            true,
            "the runner's new private key, staged until its signed certificate is installed (never leaves this host)",
        )?
    } else {
        plan.key(
            &paths.key,
            params.algorithm,
            false,
            true,
            "the runner's private key (never leaves this host)",
        )?
    };
    let csr_purpose = "PKCS#10 CSR, to be signed on the control plane";
    let existing = CertificateRequest::load(&paths.csr).ok().filter(|c| {
        c.identity().is_ok_and(|i| i == params.identity)
            && c.public_key().is_ok_and(|p| key.matches(&p))
    });
    let csr = match existing {
        Some(c) => {
            plan.keep(&paths.csr, file::PUBLIC, csr_purpose);
            c
        }
        None => {
            let c = CertificateRequest::create(
                &key,
                &CsrParams {
                    identity: params.identity.clone(),
                    allow_system_masters: params.allow_system_masters,
                },
            )?;
            plan.add(
                &paths.csr,
                c.to_pem().into_bytes(),
                file::PUBLIC,
                true,
                csr_purpose,
            )?;
            c
        }
    };
    let object = K8sCsr::new(
        &csr,
        &K8sCsrParams {
            name: csr_name.to_string(),
            expiration,
            allow_system_masters: params.allow_system_masters,
        },
    )?;
    plan.add(
        &paths.k8s_csr,
        to_yaml(&object)?.into_bytes(),
        file::PUBLIC,
        true,
        "CertificateSigningRequest for kubectl apply",
    )?;
    if !params.dry_run {
        let dir = paths.key.parent().unwrap_or(Path::new("/")).to_path_buf();
        let (outputs, _) = plan.stage(&dir)?;
        outputs.commit()?;
    }
    let base = params.identity.user();
    Ok(RequestReport {
        files: plan.actions,
        key_replaced,
        staged_key: staging.then(|| paths.staged_key.clone()),
        next_steps: vec![
            NextStep::SignCsr {
                csr: paths.csr.clone(),
                certificate: format!("{base}.crt"),
            },
            NextStep::SubmitCsrObject {
                manifest: paths.k8s_csr.clone(),
                name: csr_name.to_string(),
            },
            NextStep::CompleteSetup {
                certificate: format!("{base}.crt"),
                csr_object: format!("{csr_name}.json"),
                server: params.server.clone(),
                config: params.config.clone(),
                runner: params.runner.label(),
            },
        ],
    })
}
