//! `setup`: the whole procedure in one safe, repeatable step. Every input
//! is checked and every output prepared before the first write; then the
//! files are moved into place and the runner's config is edited (backup,
//! atomic, locked). A second identical run changes nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;

use crate::CertificateAuthority;
use crate::code::Code;
use crate::defaults;

mod certificate;
mod edits;
mod paths;
mod report;
mod request;
mod source;
mod token;

use crate::cert::Certificate;
use crate::credential_dir::CredentialDir;
use crate::csr::{CertificateRequest, CsrParams};
use crate::doctor::{DoctorOptions, diagnose};
use crate::error::{Error, Result};
use crate::file;
use crate::identity::Identity;
use crate::issue::ClientFiles;
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::kubeconfig::Kubeconfig;
use crate::lifetime::Lifetime;
pub use crate::plan::FileAction;
use crate::plan::Plan;
use crate::rbac::RbacSubject;
use crate::runner_config::{ConfigLock, RunnerConfig, RunnerSelector, SaveOptions};
use certificate::client_certificate;
use edits::{check_executor, config_changes, file_changes, rbac_yaml};
pub use paths::SetupPaths;
pub use report::SetupReport;
use report::next_steps;
pub use request::RequestReport;
pub use source::{Auth, SetupSource, SourceChoice};

/// Everything `setup` needs besides where the certificate comes from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SetupParams {
    /// gitlab-runner's config.toml.
    pub config: PathBuf,
    /// The runner to point at the cluster.
    pub runner: RunnerSelector,
    /// API server URL (`host`).
    pub server: String,
    /// The runner's Kubernetes identity (certificate CN and O).
    pub identity: Identity,
    /// Where the key, certificate, ca.crt, rbac.yaml and kubeconfig go.
    pub out_dir: PathBuf,
    /// Where those files will live on the runner host, when setup runs
    /// elsewhere and they are copied there (absolute; `None`: `out_dir`).
    /// config.toml and the kubeconfig name these paths; the doctor checks
    /// the files written to `out_dir` as if they were there.
    pub install_dir: Option<PathBuf>,
    /// Namespace of the job pods.
    pub namespace: String,
    /// Service account of the job pods.
    pub service_account: String,
    /// Key algorithm of a new key.
    pub algorithm: KeyAlgorithm,
    /// Validity of a new certificate.
    pub lifetime: Lifetime,
    /// Re-issue a kept certificate that expires within this (default 30 days).
    pub renew_before: Duration,
    /// New key and certificate even when the existing ones are fine.
    pub force: bool,
    /// Plan only: write nothing.
    pub dry_run: bool,
    /// Permit the group `system:masters`.
    pub allow_system_masters: bool,
    /// A key made for this run (through the CSR API) that is not on disk
    /// yet: written with the rest.
    new_key: Option<std::sync::Arc<PrivateKey>>,
}

impl SetupParams {
    /// Defaults ([`crate::defaults`]): user gitlab-admin,
    /// /etc/ssl/kubernetes, namespace gitlab-runner, service account
    /// gitlab-deployer, ECDSA P-256, 365 days, renewed 30 days before.
    pub fn new(
        config: impl Into<PathBuf>,
        runner: RunnerSelector,
        server: impl Into<String>,
    ) -> Result<Self> {
        Ok(Self {
            config: config.into(),
            runner,
            server: server.into(),
            identity: Identity::new(defaults::USER, Vec::<String>::new())?,
            out_dir: PathBuf::from(defaults::OUT_DIR),
            install_dir: None,
            namespace: defaults::NAMESPACE.into(),
            service_account: defaults::JOB_SERVICE_ACCOUNT.into(),
            algorithm: defaults::KEY_ALGORITHM,
            lifetime: Lifetime::default(),
            renew_before: defaults::RENEW_BEFORE_DURATION,
            force: false,
            dry_run: false,
            allow_system_masters: false,
            new_key: None,
        })
    }
}

/// Where the client certificate comes from.
pub enum CertSource<'a> {
    /// Sign it here with the CA (the CA is on this host).
    Ca(&'a CertificateAuthority),
    /// It was signed elsewhere (`csr sign` on the control plane, or the
    /// cluster's CSR API): the certificate and the cluster CA certificate.
    Issued {
        /// The client certificate.
        cert: Box<Certificate>,
        /// The cluster CA certificate (public).
        ca: Box<Certificate>,
    },
}

/// Where the signed certificate of the split way comes from.
#[derive(Clone, Copy, Debug)]
pub enum Signed<'a> {
    /// A certificate file, as `csr sign` writes it on the control plane.
    Certificate(&'a Path),
    /// A CertificateSigningRequest object as `kubectl get csr NAME -o json`
    /// prints it, approved and issued.
    CsrObject(&'a Path),
}

impl SetupParams {
    /// Runs setup: with the CA at hand, or completing a certificate signed
    /// elsewhere.
    pub fn run(&self, source: CertSource<'_>) -> Result<SetupReport> {
        run(
            self,
            match source {
                CertSource::Ca(ca) => Source::Ca(ca),
                CertSource::Issued { cert, ca } => Source::Issued {
                    cert,
                    ca,
                    chain: Vec::new(),
                },
            },
        )
    }

    /// Finishes the split way on the runner host: the cluster CA from
    /// `ca_file` (PEM, or a kubeconfig's CA data) and the certificate signed
    /// for this host's key, then everything [`SetupParams::run`] does.
    pub fn complete(&self, ca_file: &Path, signed: Signed<'_>) -> Result<SetupReport> {
        let ca = crate::ca::load_certificates(ca_file)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::InvalidArgument(format!("{}: no CA certificate", ca_file.display()))
            })?;
        // A certificate from an intermediate CA comes with the chain above
        // it (as `csr sign` writes it): kept after the leaf in cert_file.
        let (cert, chain) = match signed {
            Signed::Certificate(path) => {
                let mut all = Certificate::load_all(path)?;
                let leaf = all.remove(0);
                (leaf, all)
            }
            Signed::CsrObject(path) => {
                let key = PrivateKey::load(&SetupPaths::new(self)?.key, None)?;
                let cert = crate::k8s_csr::K8sCsr::load(path)?
                    .issued_certificate(&key)
                    .map_err(|e| e.in_file(path))?;
                (cert, Vec::new())
            }
        };
        run(
            self,
            Source::Issued {
                cert: Box::new(cert),
                ca: Box::new(ca),
                chain,
            },
        )
    }

    /// The whole setup through the cluster's CSR API with `context`'s
    /// identity — no CA key anywhere: the runner's key (kept when it
    /// exists), a certificate kept while it is still good or else requested
    /// from the cluster (approved too with `approve`, waited for up to
    /// `wait`) and checked, the cluster CA from the kubeconfig, then
    /// everything [`SetupParams::run`] does.
    pub fn through_csr_api(
        &self,
        context: crate::kube_context::KubeContext,
        approve: bool,
        wait: Duration,
    ) -> Result<SetupReport> {
        let ca = cluster_ca(&context)?;
        let paths = SetupPaths::new(self)?;
        let mut params = self.clone();
        let key = match PrivateKey::load(&paths.key, None) {
            Ok(key) if !self.force => key,
            _ if self.dry_run => {
                return Err(Error::InvalidArgument(
                    "a dry run through the CSR API needs the runner's key in place: nothing is sent to the cluster".into(),
                ));
            }
            _ => {
                // Written by `run` with the certificate, as one version.
                let key = PrivateKey::generate(self.algorithm)?;
                params.new_key = Some(std::sync::Arc::new(PrivateKey::from_pem(
                    key.to_pem().as_bytes(),
                    None,
                )?));
                key
            }
        };
        let now = OffsetDateTime::now_utc();
        let kept = crate::keep_or_issue::keepable(
            &self.identity,
            &crate::keep_or_issue::due_before_end(self.renew_before),
            &paths.cert,
            &key,
            &ca,
            now,
        )
        .ok()
        .filter(|_| !self.force);
        let cert = match kept {
            Some(cert) => cert,
            None if self.dry_run => {
                return Err(Error::InvalidArgument(
                    "a dry run through the CSR API cannot show a certificate it would have to request".into(),
                ));
            }
            None => {
                let csr = CertificateRequest::create(&key, &CsrParams::new(self.identity.clone()))?;
                let submit = crate::csr_api::SubmitParams {
                    expiration: Some(self.lifetime.as_duration()),
                    approve,
                    wait,
                    leave_pending: false,
                    ..crate::csr_api::SubmitParams::default()
                };
                submit.run(context, &csr, &key)?.certificate
            }
        };
        params.run(CertSource::Issued {
            cert: Box::new(cert),
            ca: Box::new(ca),
        })
    }

    /// `setup --request`: see [`RequestReport`].
    pub fn request(
        &self,
        csr_name: &str,
        expiration: Option<std::time::Duration>,
    ) -> Result<RequestReport> {
        request::request(self, csr_name, expiration)
    }
}

/// The cluster CA a kubeconfig context names: setup writes it to ca_file.
fn cluster_ca(context: &crate::kube_context::KubeContext) -> Result<Certificate> {
    context.cas.first().cloned().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "{}: the context names no cluster CA (certificate-authority-data): setup needs it for ca_file",
            context.source
        ))
    })
}

/// Where the runner's credential comes from (private: [`CertSource`] and
/// the token way).
enum Source<'a> {
    Ca(&'a CertificateAuthority),
    Issued {
        cert: Box<Certificate>,
        ca: Box<Certificate>,
        /// Intermediates sent after the leaf.
        chain: Vec<Certificate>,
    },
    Token(Box<token::TokenSource>),
}

fn run(params: &SetupParams, source: Source<'_>) -> Result<SetupReport> {
    let paths = SetupPaths::new(params)?;
    if !params.dry_run {
        // Leftovers of a run that was killed: temporary files (some hold
        // keys), unreferenced versions, temporary links.
        if let Some(dir) = paths.key.parent() {
            file::remove_stale_temps(dir);
            CredentialDir::new(dir).clean();
        }
        if let Some(dir) = params.config.parent() {
            file::remove_stale_temps(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            });
        }
    }
    let now = OffsetDateTime::now_utc();
    let mut config = RunnerConfig::load(&params.config)?;
    check_executor(&config, params)?;
    let runner_name = crate::pin::runner_name(&config, &params.runner)?;
    let changes = match &source {
        Source::Token(t) => token::config_changes(params, &paths, t.token.expose_secret()),
        _ => config_changes(params, &paths),
    };
    config
        .set_kubernetes(&params.runner, &changes)
        .map_err(|e| e.in_file(&params.config))?;

    if let Source::Ca(ca) = &source {
        for p in [
            &paths.key,
            &paths.cert,
            &paths.ca,
            &paths.rbac,
            &paths.kubeconfig,
        ] {
            ca.check_output(p)?;
        }
    }
    // With an intermediate CA, ca_file gets the root the API server trusts
    // and cert_file the intermediates after the leaf.
    let ca_cert = match &source {
        Source::Ca(ca) => ca.client_chain()?.1,
        Source::Issued { ca, .. } => (**ca).clone(),
        Source::Token(t) => t.ca.clone(),
    };
    let mut plan = Plan::new(params.dry_run);
    let mut warnings = Vec::new();
    let (credential, note) = match &source {
        Source::Token(t) => {
            warnings.extend(t.warnings.iter().cloned());
            (t.summary.clone(), t.note.clone())
        }
        _ => client_certificate(
            params,
            &paths,
            &source,
            &ca_cert,
            &mut plan,
            &mut warnings,
            now,
        )?,
    };
    plan.add_certificate(&paths.ca, &ca_cert, "ca_file: the cluster CA")?;
    let runner_subject = match &source {
        Source::Token(t) => t.subject(),
        _ => RbacSubject::User(params.identity.clone()),
    };
    plan.add(
        &paths.rbac,
        rbac_yaml(
            params,
            runner_subject,
            matches!(source, Source::Issued { .. }),
        )?
        .into_bytes(),
        file::PUBLIC,
        true,
        "RBAC to kubectl apply on the cluster",
    )?;
    if !matches!(source, Source::Token(_)) {
        let kubeconfig = Kubeconfig::referencing(
            &params.server,
            params.identity.user(),
            "kubernetes",
            &paths.installed.ca_file,
            &paths.installed.cert_file,
            &paths.installed.key_file,
        )?;
        plan.add(
            &paths.kubeconfig,
            kubeconfig.to_yaml()?.into_bytes(),
            file::PRIVATE,
            true,
            "kubeconfig to test the identity with kubectl",
        )?;
    }
    let pin = crate::pin::Pin {
        config: params.config.clone(),
        runner: runner_name,
        way: match &source {
            Source::Token(_) => crate::pin::PinnedWay::BearerToken,
            _ => crate::pin::PinnedWay::ClientCertificate,
        },
        user: (!matches!(source, Source::Token(_))).then(|| params.identity.user().to_string()),
        groups: match &source {
            Source::Token(_) => Vec::new(),
            _ => params.identity.groups().to_vec(),
        },
        ca_sha256: Some(ca_cert.sha256_fingerprint()),
        service_account: match &source {
            Source::Token(t) => Some(t.account.clone()),
            _ => None,
        },
    };
    let report = commit_and_check(
        params,
        &paths,
        config,
        plan,
        credential,
        note,
        warnings,
        matches!(source, Source::Token(_)),
    )?;
    if !params.dry_run {
        // What root's renewal will renew, and nothing else (see pin.rs).
        crate::pin::record(&pin)?;
    }
    Ok(report)
}

/// Writes the plan and the config (credentials first, config.toml last),
/// then checks the result with the offline doctor.
#[allow(clippy::too_many_arguments)]
fn commit_and_check(
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
    let changed = plan.actions.iter().any(|f| f.action != "unchanged") || !config_diff.is_empty();
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
    })
}

#[cfg(test)]
mod tests;
