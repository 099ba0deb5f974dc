//! `doctor`: why a runner cannot authenticate to the API server, and who it
//! is when it can. Offline, everything `runner-config lint` checks plus the
//! identity the runner presents and the one its job pods run as; online
//! (opt-in), a connection made exactly as the runner makes it, its failures
//! put in plain words, then SelfSubjectReview and SelfSubjectAccessReview.

mod online;
mod privilege;
mod report;
mod transport;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use time::OffsetDateTime;

pub use privilege::{AdminBinding, PrivilegeAudit};
pub use report::{
    CertStatus, Check, DoctorReport, PermissionCheck, Presented, RunnerDiagnosis, UserInfo,
};

use crate::api_client::Credentials;
use crate::cert::Certificate;
use crate::code::Code;
use crate::error::Result;
use crate::key::PrivateKey;
use crate::lifetime::rfc3339;
use crate::next_step::NextStep;
use crate::runner_config::lint::{Finding, LintOptions, Severity};
use crate::runner_config::{KubernetesSettings, RunnerConfig, RunnerInfo, RunnerSelector};

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
            timeout: Duration::from_secs(10),
            now: None,
        }
    }
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

struct Ctx<'a> {
    d: RunnerDiagnosis,
    k: &'a KubernetesSettings,
    timeout: Duration,
}

impl Ctx<'_> {
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

fn diagnose_runner(
    r: &RunnerInfo,
    findings: Vec<Finding>,
    options: &DoctorOptions,
    now: OffsetDateTime,
) -> RunnerDiagnosis {
    let empty = KubernetesSettings::default();
    let k = r.kubernetes.as_ref().unwrap_or(&empty);
    let label = r.name.clone().unwrap_or_else(|| format!("#{}", r.index));
    let chain = load_certs(nonempty(&k.cert_file)).filter(|c| !c.is_empty());
    let cert = chain.as_ref().and_then(|c| c.first().cloned());
    let cas = load_certs(nonempty(&k.ca_file)).unwrap_or_default();
    let presents = match (
        nonempty(&k.host),
        nonempty(&k.cert_file),
        &cert,
        nonempty(&k.bearer_token),
    ) {
        (None, _, _, _) => Presented::InCluster,
        (_, Some(_), Some(c), _) => {
            let id = c.identity();
            Presented::ClientCertificate {
                user: id.user,
                groups: id.groups,
            }
        }
        (_, Some(_), None, _) => Presented::UnreadableCertificate,
        (_, None, _, Some(_)) => Presented::BearerToken,
        _ => Presented::Anonymous,
    };
    let job_namespace = nonempty(&k.namespace).unwrap_or("default").to_string();
    let job_service_account = nonempty(&k.service_account)
        .unwrap_or("default")
        .to_string();
    let mut certificates = Vec::new();
    for (role, certs) in [
        ("cert_file", cert.iter().cloned().collect::<Vec<_>>()),
        ("ca_file", cas.clone()),
    ] {
        let path = if role == "cert_file" {
            k.cert_file.clone()
        } else {
            k.ca_file.clone()
        }
        .unwrap_or_default();
        for c in certs {
            certificates.push(CertStatus {
                role,
                path: path.clone(),
                subject: c.subject(),
                not_after: rfc3339(c.not_after()),
                days_left: c.days_left(now),
            });
        }
    }
    let mut ctx = Ctx {
        d: RunnerDiagnosis {
            runner: label,
            index: r.index,
            host: k.host.as_deref().map(crate::url::without_userinfo),
            presents,
            job_identity: format!("system:serviceaccount:{job_namespace}:{job_service_account}"),
            job_namespace,
            job_service_account,
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
        k,
        timeout: options.timeout,
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
            "the runner's kubernetes settings and files are consistent".into(),
        );
    }
    if options.online {
        match nonempty(&ctx.k.host).map(str::to_string) {
            None => ctx.pass(Code::OnlineSkipped, "host is empty: the runner uses in-cluster credentials; run doctor inside the cluster to check them".into()),
            Some(host) => {
                ctx.d.online = true;
                let credentials = match (&cert, nonempty(&ctx.k.key_file), nonempty(&ctx.k.bearer_token)) {
                    (Some(c), Some(key), _) => match PrivateKey::load(Path::new(key), None) {
                        Ok(key) => Credentials::ClientCertificate(
                            chain.clone().unwrap_or_else(|| vec![c.clone()]),
                            Box::new(key),
                        ),
                        Err(_) => Credentials::Anonymous,
                    },
                    (_, _, Some(t)) => Credentials::BearerToken(t.to_string()),
                    _ => Credentials::Anonymous,
                };
                ctx.online(&host, &cas, credentials);
            }
        }
    }
    ctx.d
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
        let mine = per_runner
            .iter()
            .filter(|f| f.runner.as_deref() == Some(label.as_str()))
            .cloned()
            .collect();
        report.runners.push(diagnose_runner(r, mine, options, now));
    }
    Ok(report)
}
