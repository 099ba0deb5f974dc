//! `runnerkey doctor`: prints the library's diagnosis.

use runnerkey::Severity;
use runnerkey::doctor::{DoctorOptions, DoctorReport, PermissionCheck, RunnerDiagnosis, diagnose};
use runnerkey::runner_config::lint::Finding;
use runnerkey::{Error, Result};

use crate::Outcome;
use crate::args::DoctorArgs;

fn mark(f: &Finding) -> &'static str {
    match f.severity {
        Severity::Error => "✗",
        Severity::Warning => "!",
        Severity::Info => "·",
    }
}

fn table(title: &str, rows: &[PermissionCheck]) {
    if rows.is_empty() {
        return;
    }
    let allowed = rows.iter().filter(|r| r.allowed).count();
    out!("  {title} ({allowed}/{} allowed):", rows.len());
    for r in rows {
        let group = if r.permission.api_group.is_empty() {
            "core"
        } else {
            &r.permission.api_group
        };
        out!(
            "    {} {:<7} {:<22} {}",
            if r.allowed {
                "✓ allowed"
            } else {
                "✗ denied "
            },
            r.permission.verb,
            r.permission.resource,
            group
        );
    }
}

fn print_runner(r: &RunnerDiagnosis, kubeconfig: bool, online_asked: bool) -> Vec<Fix> {
    let mut fixes = Vec::new();
    let host = r
        .host
        .as_deref()
        .map(|h| format!(" → {h}"))
        .unwrap_or_default();
    if kubeconfig {
        out!("{}{host}", r.runner);
    } else {
        out!("runner {:?}{host}", r.runner);
    }
    out!("  presents:  {}", r.presents);
    if !kubeconfig {
        out!(
            "  job pods:  namespace {}, service account {} → kubectl in a job acts as {}",
            r.job_namespace,
            r.job_service_account,
            r.job_identity
        );
    }
    for c in &r.certificates {
        out!(
            "  {:<9}  {} valid until {} ({} days left)",
            c.role,
            c.subject,
            crate::term::rfc3339(c.not_after),
            c.days_left
        );
    }
    for c in &r.checks {
        if c.ok {
            out!("  ✓ {}", c.message);
        }
    }
    for f in &r.findings {
        out!("  {} [{}] {}", mark(f), f.code, f.message);
        fixes.push((f.code.to_string(), f.fix.clone(), f.next.clone()));
    }
    table(
        &format!("executor permissions in namespace {}", r.job_namespace),
        &r.permissions,
    );
    table(
        &format!("deploy permissions of {}", r.job_identity),
        &r.deployer_permissions,
    );
    if let Some(n) = &r.deployer_note {
        out!("  · {n}");
    }
    let skipped = r
        .checks
        .iter()
        .any(|c| c.code == runnerkey::Code::OnlineSkipped);
    if !r.online && !skipped {
        if online_asked {
            out!("  (not checked online: the findings above stop it; fix them, then check again)");
        } else {
            out!("  (offline checks only: add --online to connect to the API server)");
        }
    }
    fixes
}

/// A finding's code, fix and next step.
type Fix = (String, String, Option<runnerkey::NextStep>);

fn print(report: &DoctorReport, kubeconfig: bool, online_asked: bool) {
    let mut fixes = Vec::new();
    for f in &report.findings {
        out!("{} [{}] {}", mark(f), f.code, f.message);
        fixes.push((f.code.to_string(), f.fix.clone(), f.next.clone()));
    }
    for r in &report.runners {
        fixes.extend(print_runner(r, kubeconfig, online_asked));
        out!();
    }
    if fixes.is_empty() {
        out!("all good");
    } else {
        out!("fixes:");
        // One command can fix several findings (one kubectl delete for
        // every cluster-admin binding): it is printed once, at the first.
        let mut shown = std::collections::HashSet::new();
        for (code, fix, step) in fixes {
            out!("  [{code}] {fix}");
            if let Some(step) = step {
                let command = crate::next_step::command(&step);
                if shown.insert(command.clone()) {
                    out!("      $ {command}");
                } else {
                    out!("      (the command above)");
                }
            }
        }
    }
}

/// `runnerkey doctor`
pub fn run(a: &DoctorArgs) -> Result<Outcome> {
    let options = {
        let mut p = DoctorOptions::default();
        p.runner = a.runners.pick();
        p.online = a.online;
        p.timeout = runnerkey::Timeout::parse("timeout", &a.timeout)?.as_duration();
        p.now = None;
        p
    };
    if let Some(file) = &a.kubeconfig {
        let paths = match file {
            Some(f) => vec![f.clone()],
            None => runnerkey::default_kubeconfig_paths(),
        };
        if paths.is_empty() {
            return Err(Error::InvalidArgument(
                "no kubeconfig: KUBECONFIG is empty and HOME is not set".into(),
            ));
        }
        let source = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        let config = runnerkey::load_kubeconfig(&paths)?;
        let mut context = config.resolve_context(a.context.as_deref(), &source)?;
        if let Some(ns) = &a.namespace {
            context.set_namespace(ns)?;
        }
        let report = runnerkey::doctor::diagnose_context(context, &options);
        return finish(a, &report, true);
    }
    let path = &a.config.config;
    let config = crate::stdio::load_config(path)?;
    let report = diagnose(&config, &options).map_err(|e| e.in_file(path))?;
    if report.runners.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{}: no kubernetes runner to check",
            path.display()
        )));
    }
    finish(a, &report, false)
}

fn finish(a: &DoctorArgs, report: &DoctorReport, kubeconfig: bool) -> Result<Outcome> {
    if a.out.data() {
        a.out.print(report)?;
    } else {
        print(report, kubeconfig, a.online);
    }
    Ok(if report.has_errors() {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}
