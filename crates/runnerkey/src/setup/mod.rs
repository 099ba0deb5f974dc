//! `setup`: the whole procedure in one safe, repeatable step. Every input
//! is checked and every output prepared before the first write; then the
//! files are moved into place and the runner's config is edited (backup,
//! atomic, locked). A second identical run changes nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;

use crate::CertificateAuthority;
use crate::defaults;

pub(crate) mod ca_key;
mod certificate;
mod cluster_ca;
mod commit;
mod complete;
mod edits;
mod key_replacement;
mod paths;
mod report;
mod request;
mod source;
mod token;

use cluster_ca::cluster_ca;

use crate::cert::Certificate;
use crate::credential_dir::CredentialDir;
use crate::csr::{CertificateRequest, CsrParams};
use crate::error::{Error, Result};
use crate::file;
use crate::identity::Identity;
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::kubeconfig::Kubeconfig;
use crate::lifetime::Lifetime;
use crate::plan::FileAction;
use crate::plan::Plan;
use crate::rbac::RbacSubject;
use crate::runner_config::{RunnerConfig, RunnerSelector};
use certificate::client_certificate;
use edits::{check_executor, config_changes, rbac_yaml};
pub use paths::SetupPaths;
pub use report::SetupReport;
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
    /// Keep the existing key even when it belongs to a blog identity (an
    /// X.509 v1 certificate, or one in use longer than `lifetime`), which
    /// setup otherwise replaces.
    pub keep_key: bool,
    /// The CA setup signs with is where it belongs — setup runs on the
    /// control plane, not on the runner host (as `runnerkey demo`, whose
    /// throwaway CA plays the cluster's): its key is then neither reported
    /// nor pinned as a CA key on the runner host. Implied by `install_dir`
    /// (the files go to another host).
    pub ca_on_control_plane: bool,
    /// Plan only: write nothing.
    pub dry_run: bool,
    /// Permit the group `system:masters`.
    pub allow_system_masters: bool,
    /// A key made for this run (through the CSR API) that is not on disk
    /// yet: written with the rest.
    new_key: Option<std::sync::Arc<PrivateKey>>,
    /// Why the existing key is being replaced (a blog identity's key).
    key_replaced: Option<String>,
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
            keep_key: false,
            ca_on_control_plane: false,
            dry_run: false,
            allow_system_masters: false,
            new_key: None,
            key_replaced: None,
        })
    }
}

/// Where the client certificate comes from.
#[non_exhaustive]
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
#[non_exhaustive]
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
        complete::complete(self, ca_file, signed)
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
        params.key_replaced = key_replacement::reason(self, &paths, OffsetDateTime::now_utc());
        let key = match PrivateKey::load(&paths.key, None) {
            Ok(key) if !self.force && params.key_replaced.is_none() => key,
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
        .filter(|_| !self.force && params.key_replaced.is_none());
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

    /// `setup --request`: see [`RequestReport`]. The CertificateSigningRequest
    /// is named `csr_name`, by default `runnerkey-USER` (the user made a
    /// valid object name).
    pub fn request(
        &self,
        csr_name: Option<&str>,
        expiration: Option<std::time::Duration>,
    ) -> Result<RequestReport> {
        let name = match csr_name {
            Some(name) => name.to_string(),
            None => format!(
                "runnerkey-{}",
                crate::k8s_name::sanitize(self.identity.user())
            ),
        };
        request::request(self, &name, expiration)
    }
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
    let replacing;
    let params = match source {
        Source::Ca(_) if !params.force && params.key_replaced.is_none() => {
            replacing = SetupParams {
                key_replaced: key_replacement::reason(params, &paths, now),
                ..params.clone()
            };
            &replacing
        }
        _ => params,
    };
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
    let ca_key_seen = ca_key::seen(&source, params, &runner_name);
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
        ca_key_seen,
    };
    let mut report = commit::commit_and_check(
        params,
        &paths,
        config,
        plan,
        credential,
        note,
        warnings,
        matches!(source, Source::Token(_)),
    )?;
    report.key_replaced = params.key_replaced.clone();
    ca_key::report(&mut report, pin.ca_key_seen.as_deref());
    if !params.dry_run {
        // What root's renewal will renew, and nothing else (see pin.rs).
        crate::pin::record(&pin)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
