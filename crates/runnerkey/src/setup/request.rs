//! `setup --request`: the runner host's half of the split way — its key,
//! a CSR and a CertificateSigningRequest manifest; no CA key needed.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::{FileAction, SetupParams, SetupPaths, check_executor, config_changes};
use crate::csr::{CertificateRequest, CsrParams};
use crate::error::Result;
use crate::file;
use crate::k8s_csr::{K8sCsr, K8sCsrParams};
use crate::manifest::to_yaml;
use crate::next_step::NextStep;
use crate::plan::Plan;
use crate::runner_config::RunnerConfig;

/// What `setup --request` wrote.
#[derive(Clone, Debug, Serialize)]
pub struct RequestReport {
    /// Every file, with its action.
    pub files: Vec<FileAction>,
    /// How to have the CSR signed (either of the first two), then finish.
    pub next_steps: Vec<NextStep>,
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
    let key = plan.key(
        &paths.key,
        params.algorithm,
        params.force,
        true,
        "the runner's private key (never leaves this host)",
    )?;
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
