//! The identity's lifecycle: `runnerkey status` (the library's status
//! report, and its Prometheus text file) and `runnerkey renew`.

use runnerkey::{
    Credential, OnlineCheck, Recovery, RenewParams, RenewalPolicy, Result, RunnerStatus,
    StatusParams,
};

use crate::args::{OneRunner, RenewArgs, RenewalArgs, StatusArgs, SystemdArgs};
use crate::term::rfc3339;
use crate::{Outcome, inputs};

fn line(config: &std::path::Path, r: &RunnerStatus) {
    let name = format!("runner {:?} (#{})", r.runner, r.index);
    let who = match (&r.user, r.groups.is_empty()) {
        (Some(u), true) => format!("user {u:?}"),
        (Some(u), false) => format!("user {u:?}, groups {:?}", r.groups),
        (None, _) => String::new(),
    };
    match r.credential {
        Credential::InCluster => out!("{name}: in-cluster credentials (host is empty)"),
        Credential::None => out!("{name}: no credentials"),
        Credential::BearerToken if r.not_after.is_none() => out!(
            "{name}: bearer token{}; it states no end (an opaque or legacy Secret token)",
            if who.is_empty() {
                String::new()
            } else {
                format!(", {who}")
            }
        ),
        Credential::BearerToken => out!("{name}: service account token, {who}"),
        Credential::ClientCertificate if who.is_empty() => {
            out!("{name}: client certificate, unreadable")
        }
        Credential::ClientCertificate => out!("{name}: client certificate, {who}"),
    }
    if let (Some(end), Some(left), Some(at)) = (r.not_after, r.seconds_left, r.renew_at) {
        let (end, at) = (rfc3339(end), rfc3339(at));
        let left = if left.abs() >= 2 * 86_400 {
            format!("{} days left", left.div_euclid(86_400))
        } else {
            format!("{} min left", left.div_euclid(60))
        };
        let state = if r.expired {
            format!("✗ expired on {end}")
        } else if r.renewal_due {
            format!("! valid until {end} ({left}); renewal was due on {at}")
        } else {
            format!("✓ valid until {end} ({left}); renewal due on {at}")
        };
        out!("  {state}");
    }
    if let Some(l) = &r.last_renewal {
        let failures = match l.failures_total {
            0 => String::new(),
            1 => " (1 failed attempt so far)".into(),
            n => format!(" ({n} failed attempts so far)"),
        };
        if l.ok {
            out!(
                "  last renewal: {} — {}{failures}",
                rfc3339(l.at),
                l.message
            );
        } else {
            out!(
                "  ✗ last renewal failed: {} — {}{failures}",
                rfc3339(l.at),
                l.message
            );
        }
    }
    if let Some(p) = &r.problem {
        out!("  ✗ {p}");
    }
    if let Some(fix) = recovery(config, r) {
        out!("  fix: {fix}");
    }
}

/// The one command that recovers an unusable identity (capitals are
/// what the admin fills in).
fn recovery(config: &std::path::Path, r: &RunnerStatus) -> Option<String> {
    use crate::next_step::sh;
    let selector = crate::next_step::runner_flag(&r.selector);
    let config = sh(&config.display().to_string());
    match r.recovery()? {
        Recovery::ReissueCertificate => Some(format!(
            "runnerkey renew --config {config} {selector} --force --kubeconfig ADMIN_KUBECONFIG --approve   (or --ca-dir CA_DIR instead of --kubeconfig and --approve, where the cluster CA's key is)"
        )),
        Recovery::NewToken => {
            let (ns, name) = r
                .user
                .as_deref()
                .and_then(|u| u.strip_prefix("system:serviceaccount:"))
                .and_then(|a| a.split_once(':'))
                .unwrap_or(("NAMESPACE", "SERVICE_ACCOUNT"));
            Some(format!(
                "runnerkey setup --config {config} {selector} --server SERVER --auth token --kubeconfig ADMIN_KUBECONFIG --namespace {} --service-account {}",
                sh(ns),
                sh(name)
            ))
        }
        _ => None,
    }
}

/// `runnerkey status`
pub fn status(a: &StatusArgs) -> Result<Outcome> {
    let path = &a.config.config;
    // gitlab-runner starts without a config.toml (before `register`): the
    // pre-start check has no runner to judge, and does not stop it.
    if a.pre_start && std::fs::symlink_metadata(path).is_err() {
        err!(
            "runnerkey: {} does not exist: no runner to check; gitlab-runner starts",
            path.display()
        );
        return Ok(Outcome::Ok);
    }
    let config = crate::stdio::load_config(path)?;
    let policy = policy(&a.when)?;
    let params = {
        let mut p = StatusParams::default();
        p.runner = a.runners.pick();
        p.policy = policy;
        p
    };
    let report = params.run(&config).map_err(|e| e.in_file(path))?;
    if let Some(target) = &a.prometheus {
        let file = if crate::stdio::is_dash(target) {
            target.clone()
        } else {
            runnerkey::prometheus_textfile(target)?
        };
        crate::stdio::write_public(&file, &report.prometheus(), true)?;
    }
    if a.out.data() {
        a.out.print(&report)?;
    } else if !a.prometheus.as_deref().is_some_and(crate::stdio::is_dash) {
        if report.runners.is_empty() {
            out!("no kubernetes runner in {}", path.display());
        }
        for r in &report.runners {
            line(path, r);
        }
    }
    if a.pre_start {
        let verdict = report.pre_start();
        for u in &verdict.unusable {
            let r = report.runners.iter().find(|r| r.index == u.index);
            err!(
                "runnerkey: runner {:?} cannot authenticate to the cluster: {}; its jobs fail until it is recovered{}",
                u.runner,
                u.reason,
                if verdict.start {
                    "; gitlab-runner starts for the other runners"
                } else {
                    ""
                }
            );
            if let Some(fix) = r.and_then(|r| recovery(path, r)) {
                err!("runnerkey: fix: {fix}");
            }
        }
        if !verdict.start {
            err!(
                "runnerkey: no runner in {} could work: gitlab-runner is not started",
                path.display()
            );
        }
        return Ok(if verdict.start {
            Outcome::Ok
        } else {
            Outcome::Problems
        });
    }
    if a.require_usable {
        let unusable: Vec<&RunnerStatus> = report
            .runners
            .iter()
            .filter(|r| r.expired || r.problem.is_some())
            .collect();
        for r in &unusable {
            let why = r.unusable_reason().unwrap_or_default();
            err!(
                "runnerkey: runner {:?} cannot authenticate to the cluster: {why}",
                r.runner
            );
        }
        return Ok(if unusable.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Problems
        });
    }
    Ok(if report.needs_attention() {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}

fn policy(a: &RenewalArgs) -> Result<RenewalPolicy> {
    RenewalPolicy::from_options(a.renew_at, a.renew_before.as_deref())
}

fn one_runner(a: &OneRunner) -> Result<runnerkey::runner_config::RunnerSelector> {
    crate::args::pick_runner(&a.runner, a.runner_index).ok_or_else(|| {
        runnerkey::Error::InvalidArgument("give --runner NAME or --runner-index N".into())
    })
}

/// `runnerkey renew`
pub fn renew(a: &RenewArgs) -> Result<Outcome> {
    let runner = one_runner(&a.runner)?;
    crate::stdio::refuse_for_edit(&a.config.config)?;
    let mut params = RenewParams::new(&a.config.config, runner);
    params.policy = policy(&a.when)?;
    params.force = a.force;
    params.dry_run = a.dry_run;
    params.online = !a.no_online;
    params.timeout = runnerkey::Timeout::parse("timeout", &a.timeout)?.as_duration();
    params.expect_service_account = a.expect_service_account.clone();
    params.expect_identity = a
        .expect_user
        .as_ref()
        .map(|u| runnerkey::Identity::new(u.clone(), a.expect_groups.clone()))
        .transpose()?;
    let ca;
    let progress = |p: runnerkey::Progress<'_>| crate::csr_api::tell_progress(p);
    let signer = match a.csr_api.resolve()? {
        Some((context, approve, wait)) => runnerkey::Signer::CsrApi {
            context: Box::new(context),
            approve,
            wait,
            progress: Some(&progress),
        },
        None => {
            ca = inputs::ca(&a.ca)?;
            runnerkey::Signer::Ca(&ca)
        }
    };
    let report = params.run(signer)?;
    for w in &report.warnings {
        crate::warn(w);
    }
    if a.out.data() {
        a.out.print(&report)?;
    } else {
        let name = format!("runner {:?} ({})", report.runner, report.identity);
        let token = report.credential == Credential::BearerToken;
        let (what, new, old) = if token {
            ("token", "a new token", "the old token")
        } else {
            ("certificate", "a new key, a certificate", "the old pair")
        };
        match (&report.online, report.renewed, report.dry_run) {
            (OnlineCheck::Refused { reason }, _, _) => {
                out!("✗ {name}: the API server refused the new {what} ({reason}); {old} was kept");
            }
            (_, false, _) => match report.old_not_after {
                None => out!("{name}: nothing to do ({})", report.reason),
                Some(end) => out!(
                    "{name}: nothing to do, {what} valid until {} ({})",
                    rfc3339(end),
                    report.reason
                ),
            },
            (_, true, true) => out!(
                "dry run: {name} would be renewed ({}): {new}{}",
                report.reason,
                report
                    .new_not_after
                    .map(|end| format!(" until {}", rfc3339(end)))
                    .unwrap_or_default()
            ),
            (online, true, false) => {
                out!(
                    "✓ {name} renewed ({}): {new} until {}",
                    report.reason,
                    report.new_not_after.map_or("?".into(), rfc3339)
                );
                match online {
                    OnlineCheck::Authenticated { user } => {
                        out!("  the API server authenticated it as {user:?}")
                    }
                    OnlineCheck::Unreachable { reason } => out!(
                        "  ! the API server could not be reached ({reason}): checked offline against ca_file only"
                    ),
                    _ => {}
                }
                if report.clamped {
                    out!(
                        "  ✗ cut short: it ends with the CA, before its full lifetime; renew the CA"
                    );
                }
                if token {
                    out!(
                        "  bearer_token rewritten in {} (backed up); gitlab-runner reads it at its next reload",
                        a.config.config.display()
                    );
                } else {
                    out!("  the previous pair is kept for rollback; config.toml is unchanged");
                }
            }
        }
    }
    Ok(if report.failed() {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}

/// `runnerkey systemd`
pub fn systemd(a: &SystemdArgs) -> Result<Outcome> {
    let runner = one_runner(&a.runner)?;
    crate::stdio::refuse_for_edit(&a.config.config)?;
    let policy = policy(&a.when)?;
    let config = runnerkey::runner_config::RunnerConfig::load(&a.config.config)?;
    let signer = match (
        &a.csr_api.kubeconfig,
        &a.ca.ca_dir,
        &a.ca.ca_cert,
        &a.ca.ca_key,
    ) {
        (Some(kubeconfig), _, _, _) => {
            // Checked now, not at 3 a.m. by the timer.
            a.csr_api.resolve()?;
            runnerkey::RenewSigner::Kubeconfig {
                path: kubeconfig.clone(),
                context: a.csr_api.context.clone(),
                approve: a.csr_api.approve,
                wait: a.csr_api.wait.clone(),
            }
        }
        (None, Some(dir), _, _) => runnerkey::RenewSigner::CaDir(dir.clone()),
        (None, None, Some(cert), Some(key)) => runnerkey::RenewSigner::CaFiles {
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => {
            return Err(runnerkey::Error::InvalidArgument(
                "give --ca-dir DIR, --ca-cert FILE --ca-key FILE, or --kubeconfig FILE: how renew gets the new credential"
                    .into(),
            ));
        }
    };
    let mut plan = runnerkey::RenewUnitPlan::new(
        &a.config.config,
        runner,
        crate::runnerkey_command()?,
        signer,
    );
    plan.instance = a.instance.clone();
    plan.ca_passphrase_file = a.ca.ca_passphrase_file.clone();
    plan.policy = (a.when.renew_at.is_some() || a.when.renew_before.is_some()).then_some(policy);
    plan.prometheus = a.prometheus.clone();
    let units = plan.units(&config)?;
    if a.install {
        let written = units.install(&a.root)?;
        for p in &written {
            out!("wrote {}", p.display());
        }
        out!(
            "next: systemctl daemon-reload && systemctl enable --now '{}.timer'",
            units.name()
        );
    } else {
        let text: Vec<String> = units
            .files()?
            .iter()
            .map(|(path, text)| format!("# /etc/systemd/system/{}\n{text}", path.display()))
            .collect();
        crate::term::write_data(&text.join("\n"));
    }
    Ok(Outcome::Ok)
}
