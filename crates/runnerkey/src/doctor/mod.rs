//! `doctor`: why a runner cannot authenticate to the API server, and who it
//! is when it can. Offline, everything `runner-config lint` checks plus the
//! identity the runner presents and the one its job pods run as; online
//! (opt-in), a connection made exactly as the runner makes it, its failures
//! put in plain words, then SelfSubjectReview and SelfSubjectAccessReview.

mod online;
mod over_privilege;
mod permissions;
mod privilege;
mod report;
mod transport;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use time::OffsetDateTime;

pub use privilege::{AdminBinding, BindingKind, PrivilegeAudit};
pub use report::{
    CertRole, CertStatus, Check, DoctorReport, PermissionCheck, Presented, RunnerDiagnosis,
    UserInfo,
};

use crate::api_client::Credentials;
use crate::cert::Certificate;
use crate::code::Code;
use crate::error::Result;
use crate::key::PrivateKey;
use crate::kube_context::{ContextCredentials, KubeContext};
use crate::next_step::NextStep;
use crate::runner_config::lint::{Finding, LintOptions};
use crate::runner_config::{KubernetesSettings, RunnerConfig, RunnerInfo, RunnerSelector};
use crate::secret::Secret;
use crate::severity::Severity;

/// What to check.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DoctorOptions {
    /// One runner (all kubernetes runners when `None`).
    pub runner: Option<RunnerSelector>,
    /// Also connect to the API server.
    pub online: bool,
    /// The whole online check's deadline, and each read's (default 10 s).
    pub timeout: Duration,
    /// The time to judge validity at (now when `None`).
    pub now: Option<OffsetDateTime>,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        Self {
            runner: None,
            online: false,
            timeout: crate::defaults::ONLINE_TIMEOUT_DURATION,
            now: None,
        }
    }
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

struct Ctx {
    d: RunnerDiagnosis,
    timeout: Duration,
    /// Check the job pods' service account too (not for a kubeconfig).
    jobs: bool,
    /// The runner may also run job pods as its namespace's `default`
    /// service account (`service_account` unset, or
    /// `service_account_overwrite_allowed` set).
    default_account_too: bool,
}

impl Ctx {
    fn find(&mut self, code: Code, severity: Severity, message: String, fix: String) {
        self.d.checks.push(Check {
            code,
            ok: false,
            message: message.clone(),
        });
        self.d.findings.push(Finding {
            code,
            severity,
            runner: Some(self.d.runner.clone()),
            key: None,
            line: None,
            message,
            fix,
            next: None,
        });
    }

    /// Attaches `step` to the finding just made.
    fn then(&mut self, step: NextStep) {
        if let Some(f) = self.d.findings.last_mut() {
            f.next = Some(step);
        }
    }

    fn pass(&mut self, code: Code, message: String) {
        self.d.checks.push(Check {
            code,
            ok: true,
            message,
        });
    }
}

fn load_certs(path: Option<&str>) -> Option<Vec<Certificate>> {
    Certificate::load_all(Path::new(path?)).ok()
}

/// What one runner, or one kubeconfig context, authenticates with: loaded.
struct Subject {
    label: String,
    index: usize,
    host: Option<String>,
    /// The client certificate, then intermediates (`None`: none given or
    /// unreadable).
    chain: Option<Vec<Certificate>>,
    /// A client certificate was named (it may be unreadable).
    cert_named: bool,
    cert_source: String,
    cas: Vec<Certificate>,
    ca_source: String,
    key: Option<PrivateKey>,
    /// Why the named key (or certificate) cannot be used, when it cannot.
    key_problem: Option<String>,
    token: Option<Secret>,
    job_namespace: String,
    job_service_account: String,
    jobs: bool,
    default_account_too: bool,
}

fn diagnose_runner(
    r: &RunnerInfo,
    findings: Vec<Finding>,
    options: &DoctorOptions,
    now: OffsetDateTime,
) -> RunnerDiagnosis {
    let empty = KubernetesSettings::default();
    let k = r.kubernetes.as_ref().unwrap_or(&empty);
    let chain = load_certs(nonempty(&k.cert_file)).filter(|c| !c.is_empty());
    let (key, key_problem) = match (&chain, nonempty(&k.key_file)) {
        (Some(_), Some(key)) => match PrivateKey::load(Path::new(key), None) {
            Ok(k) => (Some(k), None),
            Err(e) => (None, Some(e.chain())),
        },
        (None, _) if nonempty(&k.cert_file).is_some() => (
            None,
            Some(format!(
                "{}: the client certificate cannot be read",
                k.cert_file.as_deref().unwrap_or("")
            )),
        ),
        (Some(_), None) => (None, Some("key_file is not set".into())),
        _ => (None, None),
    };
    let subject = Subject {
        label: r.name.clone().unwrap_or_else(|| format!("#{}", r.index)),
        index: r.index,
        host: nonempty(&k.host).map(str::to_string),
        chain,
        cert_named: nonempty(&k.cert_file).is_some(),
        cert_source: k.cert_file.clone().unwrap_or_default(),
        cas: load_certs(nonempty(&k.ca_file)).unwrap_or_default(),
        ca_source: k.ca_file.clone().unwrap_or_default(),
        key,
        key_problem,
        token: k.bearer_token.clone().filter(|t| !t.is_empty()),
        job_namespace: nonempty(&k.namespace).unwrap_or("default").to_string(),
        job_service_account: nonempty(&k.service_account)
            .unwrap_or("default")
            .to_string(),
        jobs: true,
        default_account_too: nonempty(&k.service_account).is_none()
            || nonempty(&k.service_account_overwrite_allowed).is_some(),
    };
    diagnose_subject(subject, findings, options, now)
}

fn diagnose_subject(
    s: Subject,
    findings: Vec<Finding>,
    options: &DoctorOptions,
    now: OffsetDateTime,
) -> RunnerDiagnosis {
    let cert = s.chain.as_ref().and_then(|c| c.first().cloned());
    let presents = match (&s.host, s.cert_named, &cert, &s.token) {
        (None, _, _, _) => Presented::InCluster,
        (_, true, Some(c), _) => {
            let id = c.subject_reading();
            Presented::ClientCertificate {
                user: id.user,
                groups: id.groups,
            }
        }
        (_, true, None, _) => Presented::UnreadableCertificate,
        (_, false, _, Some(_)) => Presented::BearerToken,
        _ => Presented::Anonymous,
    };
    let mut certificates = Vec::new();
    for (role, certs, path) in [
        (
            CertRole::CertFile,
            cert.iter().cloned().collect::<Vec<_>>(),
            &s.cert_source,
        ),
        (CertRole::CaFile, s.cas.clone(), &s.ca_source),
    ] {
        for c in certs {
            certificates.push(CertStatus {
                role,
                path: path.clone(),
                subject: c.subject(),
                not_after: c.not_after(),
                days_left: c.days_left(now),
            });
        }
    }
    let job_identity = format!(
        "system:serviceaccount:{}:{}",
        s.job_namespace, s.job_service_account
    );
    let mut ctx = Ctx {
        d: RunnerDiagnosis {
            runner: s.label,
            index: s.index,
            host: s.host.as_deref().map(crate::url::without_userinfo),
            presents,
            job_identity,
            job_namespace: s.job_namespace,
            job_service_account: s.job_service_account,
            certificates,
            online: false,
            server_version: None,
            authenticated_as: None,
            checks: Vec::new(),
            permissions: Vec::new(),
            deployer_permissions: Vec::new(),
            deployer_note: None,
            runner_privileges: None,
            job_privileges: None,
            admin_bindings: Vec::new(),
            findings,
        },
        timeout: options.timeout,
        jobs: s.jobs,
        default_account_too: s.default_account_too,
    };
    let offline_errors = ctx
        .d
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if offline_errors == 0 {
        ctx.pass(
            Code::Config,
            if s.jobs {
                "the runner's kubernetes settings and files are consistent".into()
            } else {
                "the kubeconfig's context, certificates and key are consistent".into()
            },
        );
    }
    if options.online {
        match s.host {
            None => ctx.pass(Code::OnlineSkipped, "host is empty: the runner uses in-cluster credentials; run doctor inside the cluster to check them".into()),
            // A certificate the runner names but that cannot be used: going
            // on without it would check system:anonymous, not the runner.
            Some(_) if s.cert_named && s.key_problem.is_some() => {
                let why = s.key_problem.unwrap_or_default();
                ctx.find(
                    Code::ClientSetup,
                    Severity::Error,
                    format!(
                        "not checked online: the runner's client certificate cannot be used ({why}); without it the API server would see system:anonymous, not the runner"
                    ),
                    "fix the key and certificate (see the findings above), then check online again".into(),
                );
            }
            Some(host) => {
                ctx.d.online = true;
                let credentials = match (&cert, s.key, s.token) {
                    (Some(c), Some(key), _) => Credentials::ClientCertificate(
                        s.chain.clone().unwrap_or_else(|| vec![c.clone()]),
                        Box::new(key),
                    ),
                    (None, _, Some(t)) if !s.cert_named => Credentials::BearerToken(t),
                    _ => Credentials::Anonymous,
                };
                ctx.online(&host, &s.cas, credentials);
            }
        }
    }
    ctx.d
}

/// Diagnoses one kubeconfig context (`doctor --kubeconfig`): its
/// credentials offline (certificate against the cluster CA, key, validity,
/// the risk audit), then, with `options.online`, the same connection,
/// identity and permission checks as for a runner — the job pods' service
/// account aside, which a kubeconfig does not name.
pub fn diagnose_context(context: KubeContext, options: &DoctorOptions) -> DoctorReport {
    let now = options.now.unwrap_or_else(OffsetDateTime::now_utc);
    let label = format!("context {}", context.name);
    let mut findings = Vec::new();
    let mut find = |code, severity, message: String, fix: &str| {
        findings.push(Finding {
            code,
            severity,
            runner: Some(label.clone()),
            key: None,
            line: None,
            message,
            fix: fix.to_string(),
            next: None,
        })
    };
    let scheme_missing =
        crate::api_client::Endpoint::parse(&context.server).is_ok_and(|e| e.scheme_missing);
    if scheme_missing {
        find(
            Code::HostWithoutScheme,
            Severity::Error,
            format!(
                "{}: server {:?} has no scheme: kubectl then speaks plain http to it",
                context.source, context.server
            ),
            "write the server in full, https://HOST:PORT",
        );
    }
    if context.insecure_skip_tls_verify {
        find(
            Code::InsecureSkipTlsVerify,
            Severity::Warning,
            format!(
                "{}: the cluster entry turns server certificate checks off (insecure-skip-tls-verify); doctor verifies the server against {} anyway",
                context.source, context.ca_source
            ),
            "set certificate-authority-data to the cluster CA and remove insecure-skip-tls-verify",
        );
    }
    let (mut chain, mut key, mut token, mut cert_source) = (None, None, None, String::new());
    match context.credentials {
        ContextCredentials::ClientCertificate {
            chain: c,
            key: k,
            source,
        } => {
            let report = crate::verify::verify_client_chain(&context.cas, &c, Some(&k), Some(now));
            for p in &report.problems {
                let Some((code, severity, _, fix)) =
                    crate::runner_checks::client_finding(p.code, !context.cas.is_empty())
                else {
                    continue;
                };
                find(code, severity, format!("{source}: {}", p.message), &fix);
            }
            // Due by the policy renewal and status use.
            let policy = crate::renewal::RenewalPolicy::default();
            if policy.is_due(&c[0], now) && now <= c[0].not_after() {
                find(
                    Code::CertExpiring,
                    Severity::Warning,
                    format!(
                        "{source}: the client certificate is due for renewal since {} ({} days left)",
                        crate::lifetime::rfc3339(policy.due_at(&c[0])),
                        c[0].days_left(now)
                    ),
                    "renew the certificate",
                );
            }
            chain = Some(c);
            key = Some(*k);
            cert_source = source;
        }
        ContextCredentials::Token { token: t, .. } => token = Some(t),
        ContextCredentials::Plugin { what } => find(
            Code::KubeconfigPlugin,
            Severity::Error,
            format!(
                "the context's user authenticates with {what}: runnerkey does not run credential plugins or basic auth, and gitlab-runner's [runners.kubernetes] cannot use them"
            ),
            "give the runner its own identity (a client certificate for it) and check that kubeconfig",
        ),
        _ => {}
    }
    let cert_named = chain.is_some();
    let subject = Subject {
        label: label.clone(),
        index: 0,
        host: Some(context.server),
        chain,
        cert_named,
        cert_source,
        cas: context.cas,
        ca_source: context.ca_source,
        key,
        key_problem: None,
        token,
        job_namespace: context.namespace.unwrap_or_else(|| "default".into()),
        job_service_account: "default".into(),
        jobs: false,
        default_account_too: false,
    };
    let plugin = findings.iter().any(|f| f.code == Code::KubeconfigPlugin) || scheme_missing;
    let options = DoctorOptions {
        online: options.online && !plugin,
        ..options.clone()
    };
    DoctorReport {
        findings: Vec::new(),
        runners: vec![diagnose_subject(subject, findings, &options, now)],
    }
}

/// The CA key setup recorded in the runner's pin (it signed with it on
/// this host), while that file is still here and no other finding names it.
fn pinned_ca_key(config: &RunnerConfig, label: &str, found: &[Finding]) -> Option<Finding> {
    let pin = crate::pin::load(config.path()?, label).ok().flatten()?;
    let key = pin.ca_key_seen?;
    std::fs::symlink_metadata(&key).ok()?;
    let shown = key.display().to_string();
    let named = found
        .iter()
        .any(|f| f.code == Code::CaKeyOnRunnerHost && f.message.contains(&shown));
    (!named).then(|| crate::setup::ca_key::finding(&key, label, Severity::Error))
}

/// Diagnoses the runners of `config` (see [`DoctorOptions`]).
pub fn diagnose(config: &RunnerConfig, options: &DoctorOptions) -> Result<DoctorReport> {
    let now = options.now.unwrap_or_else(OffsetDateTime::now_utc);
    let runners = config.runners()?;
    let selected: BTreeSet<usize> = match &options.runner {
        Some(s) => BTreeSet::from([config.select(s)?]),
        None => runners
            .iter()
            .filter(|r| r.executor.as_deref() == Some("kubernetes") || r.kubernetes.is_some())
            .map(|r| r.index)
            .collect(),
    };
    let mut report = DoctorReport {
        findings: Vec::new(),
        runners: Vec::new(),
    };
    // One runner asked for: lint only it (plus file-wide findings), so the
    // cost does not grow with the other runners.
    let all = config.lint(&LintOptions {
        runner: options.runner.clone(),
        now: Some(now),
    })?;
    let (file_wide, per_runner): (Vec<Finding>, Vec<Finding>) =
        all.into_iter().partition(|f| f.runner.is_none());
    report.findings = file_wide;
    for r in runners.iter().filter(|r| selected.contains(&r.index)) {
        let label = r.name.clone().unwrap_or_else(|| format!("#{}", r.index));
        let mut mine: Vec<Finding> = per_runner
            .iter()
            .filter(|f| f.runner.as_deref() == Some(label.as_str()))
            .cloned()
            .collect();
        mine.extend(pinned_ca_key(config, &label, &mine));
        report.runners.push(diagnose_runner(r, mine, options, now));
    }
    Ok(report)
}
