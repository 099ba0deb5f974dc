//! `renew`: a configured runner's identity renewed when it is due — always
//! a new key, the same user and groups, the same lifetime — checked offline
//! against the cluster CA and, when the API server answers, by
//! authenticating with it (SelfSubjectReview), then switched atomically
//! under the stable paths config.toml names, the previous pair kept for
//! rollback. Nothing else changes: not config.toml, not the other files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;

use crate::CertificateAuthority;
use crate::api_client::Credentials;
use crate::cert::Certificate;
use crate::credential_dir::{CredentialDir, CredentialFile};
use crate::csr_api::SubmitParams;
use crate::error::{Error, Result};
use crate::file;
use crate::issue::IssueParams;
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::kube_context::KubeContext;
use crate::lifetime::{Lifetime, rfc3339};
use crate::public_key::KeyType;
use crate::renewal::RenewalPolicy;
use crate::runner_config::{RunnerConfig, RunnerSelector};
use crate::secret::Secret;
use crate::service_account::ServiceAccountRef;
use crate::status::Credential;
pub use crate::whoami::OnlineCheck;
use crate::whoami::check_online;

/// How to renew one runner's identity with the CA at hand.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RenewParams {
    /// gitlab-runner's config.toml.
    pub config: PathBuf,
    /// The runner.
    pub runner: RunnerSelector,
    /// When the certificate is due.
    pub policy: RenewalPolicy,
    /// Renew even when not due.
    pub force: bool,
    /// Decide and report; write nothing.
    pub dry_run: bool,
    /// Authenticate with the new pair before switching, when the API
    /// server answers (default true).
    pub online: bool,
    /// The online check's deadline.
    pub timeout: Duration,
    /// The time to decide at (now when `None`).
    pub now: Option<OffsetDateTime>,
    /// A token runner's service account (namespace, name): renewal refuses
    /// a token for any other (config.toml may have been edited).
    pub expect_service_account: Option<ServiceAccountRef>,
    /// The client-certificate identity to renew. When setup pinned one it
    /// must be the same; when none is pinned it is pinned now (after a
    /// successful renewal), for a credential directory that someone else
    /// may write.
    pub expect_identity: Option<crate::identity::Identity>,
}

impl RenewParams {
    /// Renewal of `runner` in `config` by the default policy, checked
    /// online when the server answers.
    pub fn new(config: impl Into<PathBuf>, runner: RunnerSelector) -> Self {
        Self {
            config: config.into(),
            runner,
            policy: RenewalPolicy::default(),
            force: false,
            dry_run: false,
            online: true,
            timeout: crate::defaults::ONLINE_TIMEOUT_DURATION,
            now: None,
            expect_service_account: None,
            expect_identity: None,
        }
    }
}

/// What `renew` did. Serialised with one more field, `failed`
/// ([`RenewReport::failed`]), so that no caller decides it again.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RenewReport {
    /// The runner.
    pub runner: String,
    /// The identity renewed (or checked): the certificate's user and
    /// groups, or the token's service account user.
    pub identity: String,
    /// What it authenticates with: a client certificate, or a bearer token.
    pub credential: Credential,
    /// A new pair is in place (or, in a dry run, would be).
    pub renewed: bool,
    /// A dry run: nothing written.
    pub dry_run: bool,
    /// Why it was or was not renewed.
    pub reason: String,
    /// When the credential in place was (or is) due; `None` for a token
    /// that states no end (`null` on the wire).
    pub due_at: Option<OffsetDateTime>,
    /// The end (notAfter, or a token's `exp`) of the credential in place
    /// before; `None` for a token that states no end (`null` on the wire).
    pub old_not_after: Option<OffsetDateTime>,
    /// The new credential's end.
    pub new_not_after: Option<OffsetDateTime>,
    /// The online check of the new pair.
    pub online: OnlineCheck,
    /// The key, certificate and CA files (unchanged paths); for a token,
    /// config.toml.
    pub files: Vec<PathBuf>,
    /// Advice from issuing.
    pub warnings: Vec<String>,
    /// The new certificate ends with the CA, before the lifetime it
    /// should have: the CA needs renewing.
    pub clamped: bool,
}

impl RenewReport {
    /// Whether the run failed its purpose: due, but the new pair was
    /// refused (the old one was kept), or cut short by the CA's end.
    pub fn failed(&self) -> bool {
        matches!(self.online, OnlineCheck::Refused { .. }) || self.clamped
    }
}

fn algorithm_of(key: &PrivateKey) -> KeyAlgorithm {
    match key.key_type() {
        KeyType::Rsa { bits } if bits >= 4096 => KeyAlgorithm::Rsa4096,
        KeyType::Rsa { bits } if bits >= 3072 => KeyAlgorithm::Rsa3072,
        KeyType::Rsa { .. } => KeyAlgorithm::Rsa2048,
        KeyType::EcdsaP384 | KeyType::EcdsaP521 => KeyAlgorithm::EcdsaP384,
        KeyType::Ed25519 => KeyAlgorithm::Ed25519,
        KeyType::EcdsaP256 => KeyAlgorithm::EcdsaP256,
    }
}

fn required<'a>(value: &'a Option<String>, key: &str, runner: &str) -> Result<&'a Path> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(Path::new)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "runner {runner:?} has no {key}: renew replaces a client certificate that setup made"
            ))
        })
}

/// Who signs the new certificate.
#[non_exhaustive]
pub enum Signer<'a> {
    /// The CA, at hand (its key on this host).
    Ca(&'a CertificateAuthority),
    /// The cluster, through its CSR API with a kubeconfig's identity (the
    /// runner's own, when an approver exists): no CA key anywhere.
    CsrApi {
        /// The kubeconfig context to submit with.
        context: Box<KubeContext>,
        /// Approve the request too (when that identity may).
        approve: bool,
        /// How long to wait for approval and the certificate. A request
        /// still pending then is kept, and the next renew adopts it.
        wait: Duration,
        /// Told the request's name as soon as it exists.
        progress: Option<&'a dyn Fn(crate::csr_api::Progress<'_>)>,
    },
}

impl RenewParams {
    /// Renews the runner's identity with `signer` when it is due (see the
    /// module documentation). Every attempt (not a run that found nothing
    /// due, not a dry run) is recorded for `status`: its result, and a
    /// count of failures.
    pub fn run(&self, signer: Signer<'_>) -> Result<RenewReport> {
        let result = self.attempt(signer);
        if self.dry_run {
            return result;
        }
        let outcome = match &result {
            Ok(r) if r.clamped => Some((
                false,
                "renewed, but the new certificate ends with its CA, before its lifetime: renew the CA".into(),
            )),
            Ok(r) if r.failed() => Some((false, format!("{}: {}", r.reason, online_words(&r.online)))),
            Ok(r) if r.renewed => Some((true, r.reason.clone())),
            Ok(_) => None,
            Err(e) => Some((false, e.chain())),
        };
        if let Some((ok, message)) = outcome
            && std::fs::metadata(&self.config).is_ok()
        {
            // The renewal's own result stands even when it cannot be recorded.
            let _ = crate::renewal_record::record(&self.config, &self.runner.label(), ok, &message);
        }
        result
    }

    fn attempt(&self, signer: Signer<'_>) -> Result<RenewReport> {
        let now = self.now.unwrap_or_else(OffsetDateTime::now_utc);
        let config = RunnerConfig::load(&self.config)?;
        let index = config.select(&self.runner)?;
        let runner = config
            .runners()?
            .into_iter()
            .find(|r| r.index == index)
            .ok_or_else(|| Error::InvalidArgument("the runner disappeared".into()))?;
        let label = runner.name.clone().unwrap_or_else(|| format!("#{index}"));
        let k = runner.kubernetes.unwrap_or_default();
        if k.cert_file.as_deref().is_none_or(str::is_empty)
            && let Some(token) = k
                .bearer_token
                .as_ref()
                .map(Secret::expose_secret)
                .filter(|t| !t.is_empty())
        {
            return token::renew(self, &config, label, token, signer, now);
        }
        let cert_file = required(&k.cert_file, "cert_file", &label)?.to_path_buf();
        let key_file = required(&k.key_file, "key_file", &label)?.to_path_buf();
        let ca_file = required(&k.ca_file, "ca_file", &label)?.to_path_buf();
        let dir = key_file.parent().unwrap_or(Path::new(".")).to_path_buf();
        if cert_file.parent() != Some(dir.as_path()) || ca_file.parent() != Some(dir.as_path()) {
            return Err(Error::InvalidArgument(format!(
                "runner {label:?}: key_file, cert_file and ca_file must be in one directory for the switch to be atomic (setup puts them so)"
            )));
        }
        if let Signer::Ca(ca) = &signer {
            for p in [&key_file, &cert_file, &ca_file] {
                ca.check_output(p)?;
            }
        }
        // The directory may be the runner user's: every file is read
        // without following a link it could have planted (see
        // credential_dir.rs), and the identity comes from the pin setup
        // recorded where that user cannot write, not from these files.
        let cdir = CredentialDir::new(&dir);
        let read =
            |p: &Path| -> Result<Vec<u8>> { cdir.read(&name_of(p)).map_err(|e| e.in_file(p)) };
        let old = Certificate::from_pem(&read(&cert_file)?).map_err(|e| e.in_file(&cert_file))?;
        let trusted =
            Certificate::all_from_pem(&read(&ca_file)?).map_err(|e| e.in_file(&ca_file))?;
        // The identity is copied from the certificate in place: only from
        // one the signing CA (or, through the CSR API, the cluster CA in
        // ca_file) made; whatever else sits in cert_file is vouched for by
        // no one.
        let issuers: Vec<&Certificate> = match &signer {
            Signer::Ca(ca) => vec![ca.certificate()],
            Signer::CsrApi { .. } => trusted.iter().collect(),
        };
        if !issuers.iter().any(|ca| {
            old.issuer() == ca.subject() && old.verify_signature(&ca.public_key()).is_ok()
        }) {
            return Err(Error::NotIssuedByCa {
                path: cert_file.clone(),
                issuers: issuers.iter().map(|c| c.subject()).collect(),
            });
        }
        let Pinned {
            identity,
            to_record,
            in_force,
        } = self.pinned_identity(&label, &dir, &old)?;
        if let Some(pin) = &in_force
            && let Some(fp) = &pin.ca_sha256
        {
            let signer_cas: Vec<String> = match &signer {
                Signer::Ca(ca) => {
                    let mut fps = vec![ca.certificate().sha256_fingerprint()];
                    fps.extend(
                        ca.client_chain()
                            .ok()
                            .map(|(_, root)| root.sha256_fingerprint()),
                    );
                    fps
                }
                Signer::CsrApi { context, .. } => context
                    .cas
                    .iter()
                    .map(Certificate::sha256_fingerprint)
                    .collect(),
            };
            if !signer_cas.contains(fp) {
                return Err(Error::NotPinned {
                    runner: label,
                    pinned: format!("the cluster CA {fp}"),
                    found: format!("the signer's CA is {}", signer_cas.join(", ")),
                });
            }
            if !trusted.iter().any(|c| c.sha256_fingerprint() == *fp) {
                return Err(Error::NotPinned {
                    runner: label,
                    pinned: format!("the cluster CA {fp}"),
                    found: format!("{} holds another CA", ca_file.display()),
                });
            }
        }
        // A key that cannot be read is replaced like a mismatched one.
        let old_key = PrivateKey::from_pem(&read(&key_file)?, None).ok();
        let mismatched = !old_key
            .as_ref()
            .is_some_and(|k| k.matches(&old.public_key()));
        let due_at = self.policy.due_at(&old);
        let mut report = RenewReport {
            runner: label.clone(),
            identity: identity.to_string(),
            credential: Credential::ClientCertificate,
            renewed: false,
            dry_run: self.dry_run,
            reason: String::new(),
            due_at: Some(due_at),
            old_not_after: Some(old.not_after()),
            new_not_after: None,
            online: OnlineCheck::Skipped,
            files: vec![key_file.clone(), cert_file.clone(), ca_file.clone()],
            warnings: Vec::new(),
            clamped: false,
        };
        if !self.force && !mismatched && now < due_at {
            report.reason = format!("not due until {}", rfc3339(due_at));
            return Ok(report);
        }
        report.reason = if self.force {
            "forced".into()
        } else if mismatched {
            "the key in place does not belong to the certificate".into()
        } else {
            format!("due since {}", rfc3339(due_at))
        };
        // The same lifetime, within what the CSR API can ask for again.
        let lifetime = Lifetime::from_duration(
            Duration::try_from(old.not_after() - old.not_before() - crate::template::BACKDATE)
                .unwrap_or_default()
                .clamp(
                    Duration::from_secs(3600),
                    Duration::from_secs(i32::MAX as u64),
                ),
        );
        let algorithm = old_key
            .as_ref()
            .map(algorithm_of)
            .unwrap_or(KeyAlgorithm::EcdsaP256);
        if self.dry_run && matches!(signer, Signer::CsrApi { .. }) {
            // Nothing is sent to the cluster in a dry run.
            report.renewed = true;
            return Ok(report);
        }
        let mut sent_after = Vec::new();
        let (new, key) = match signer {
            Signer::Ca(ca) => {
                let key = PrivateKey::generate(algorithm)?;
                // An intermediate CA's chain goes after the leaf.
                sent_after = ca.client_chain()?.0;
                let issued = ca.sign_public_key(
                    &identity,
                    key.public_key(),
                    &IssueParams {
                        lifetime,
                        allow_system_masters: false,
                        now: Some(now),
                    },
                )?;
                report.warnings = issued.warnings;
                report.clamped = issued.clamped_to.is_some();
                (issued.certificate, key)
            }
            Signer::CsrApi {
                context,
                approve,
                wait,
                progress,
            } => {
                let submit = SubmitParams {
                    expiration: Some(lifetime.as_duration().max(Duration::from_secs(600))),
                    approve,
                    wait,
                    timeout: self.timeout,
                    leave_pending: true,
                    ..SubmitParams::default()
                };
                let signed = through_api::sign(
                    &self.config,
                    &label,
                    &submit,
                    *context,
                    &identity,
                    algorithm,
                    progress,
                )?;
                report.warnings.extend(signed.note);
                (signed.certificate, signed.key)
            }
        };
        let mut whole = vec![new.clone()];
        whole.extend(sent_after.iter().cloned());
        let offline = crate::verify::verify_client_chain(&trusted, &whole, Some(&key), Some(now));
        if !offline.ok {
            return Err(Error::NotAcceptedByCa {
                what: "new",
                ca: ca_file.display().to_string(),
                problems: offline.problems.into_iter().map(|p| p.message).collect(),
                old_kept: true,
            });
        }
        report.new_not_after = Some(new.not_after());
        if self.dry_run {
            report.renewed = true;
            return Ok(report);
        }
        if self.online
            && let Some(host) = k.host.as_deref().filter(|h| !h.is_empty())
        {
            report.online = match PrivateKey::from_pem(key.to_pem().as_bytes(), None) {
                Ok(copy) => check_online(
                    host,
                    &trusted,
                    Credentials::ClientCertificate(whole.clone(), Box::new(copy)),
                    identity.user(),
                    self.timeout,
                ),
                Err(e) => OnlineCheck::Refused { reason: e.chain() },
            };
            if report.failed() {
                return Ok(report);
            }
        }
        let ca_pem: String = trusted.iter().map(Certificate::to_pem).collect();
        let name = |p: &Path| name_of(p);
        cdir.install(&[
            CredentialFile {
                name: name(&key_file),
                content: zeroize::Zeroizing::new(key.to_pem().as_bytes().to_vec()),
                mode: file::PRIVATE,
            },
            CredentialFile {
                name: name(&cert_file),
                content: whole
                    .iter()
                    .map(Certificate::to_pem)
                    .collect::<String>()
                    .into_bytes()
                    .into(),
                mode: file::PUBLIC,
            },
            CredentialFile {
                // The certificates ca_file held, written anew: nothing
                // else of it is carried.
                name: name(&ca_file),
                content: ca_pem.into_bytes().into(),
                mode: file::PUBLIC,
            },
        ])?;
        report.renewed = true;
        if let Some(pin) = to_record {
            // `--expect-user` on a runner with no pin: pinned from now on.
            crate::pin::record(&pin)?;
        }
        Ok(report)
    }
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The online check in a few words, for the record.
fn online_words(online: &OnlineCheck) -> String {
    match online {
        OnlineCheck::Refused { reason } => {
            format!("the API server refused the new credential ({reason})")
        }
        OnlineCheck::Unreachable { reason } => format!("the API server was not reached ({reason})"),
        OnlineCheck::Authenticated { user } => format!("authenticated as {user}"),
        OnlineCheck::Skipped => "not checked online".into(),
    }
}

mod pending;
mod pinned;
mod report_json;
mod through_api;
mod token;

use pinned::Pinned;

#[cfg(test)]
mod tests;
