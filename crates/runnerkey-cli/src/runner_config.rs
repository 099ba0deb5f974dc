//! `runner-config show|set|lint`.

use runnerkey::Severity;
use runnerkey::runner_config::lint::{Finding, LintOptions};
use runnerkey::runner_config::{
    Change, KubeKey, RunnerConfig, RunnerInfo, RunnerSelector, SaveOptions,
};
use runnerkey::{Error, Result};

use crate::Outcome;
use crate::args::{LintArgs, RunnerConfigCommand, SetArgs, ShowArgs};

/// Dispatches `runner-config` subcommands.
pub fn run(c: &RunnerConfigCommand) -> Result<Outcome> {
    match c {
        RunnerConfigCommand::Show(a) => show(a),
        RunnerConfigCommand::Set(a) => set(a),
        RunnerConfigCommand::Lint(a) => lint(a),
    }
}

fn show(a: &ShowArgs) -> Result<Outcome> {
    let cfg = crate::stdio::load_config(&a.config.config)?;
    let mut runners = cfg.runners().map_err(|e| e.in_file(&a.config.config))?;
    if let Some(name) = &a.runner {
        let i = cfg
            .select(&RunnerSelector::Name(name.clone()))
            .map_err(|e| e.in_file(&a.config.config))?;
        runners.retain(|r| r.index == i);
    }
    if !a.show_secrets {
        runners = runners.iter().map(RunnerInfo::redacted).collect();
    }
    if a.out.data() {
        if a.show_secrets {
            let exposed: Vec<_> = runners
                .iter()
                .map(RunnerInfo::to_json_exposing_secrets)
                .collect();
            a.out.print(&exposed)?;
        } else {
            a.out.print(&runners)?;
        }
        return Ok(Outcome::Ok);
    }
    let none = || "-".to_string();
    for r in &runners {
        out!(
            "[{}] {}  executor={}  url={}",
            r.index,
            r.name.clone().unwrap_or_else(none),
            r.executor.clone().unwrap_or_else(none),
            r.url.clone().unwrap_or_else(none)
        );
        match &r.kubernetes {
            None => out!("    (no [runners.kubernetes] table)"),
            Some(k) => {
                for &key in KubeKey::ALL {
                    // A secret is here only as `<redacted>`, unless
                    // --show-secrets asked for it.
                    let secret = k.secret(key).map(|s| s.expose_secret());
                    if let Some(v) = k.get(key).or(secret) {
                        out!("    {key:<16}= {v:?}");
                    }
                }
            }
        }
    }
    Ok(Outcome::Ok)
}

fn changes(a: &SetArgs) -> Result<Vec<Change>> {
    let mut out = Vec::new();
    let sets = [
        (KubeKey::Host, &a.host),
        (KubeKey::CertFile, &a.cert_file),
        (KubeKey::KeyFile, &a.key_file),
        (KubeKey::CaFile, &a.ca_file),
        (KubeKey::Namespace, &a.namespace),
        (KubeKey::ServiceAccount, &a.service_account),
    ];
    for (key, value) in sets {
        if let Some(v) = value {
            out.push(Change::set(key, v.clone()));
        }
    }
    if let Some(p) = &a.bearer_token_file {
        let raw = runnerkey::fs::read(p)?;
        let token = String::from_utf8(raw).map_err(|_| {
            Error::InvalidArgument(format!("{}: the token is not UTF-8", p.display()))
        })?;
        let token = token.trim();
        if token.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{}: the file is empty",
                p.display()
            )));
        }
        out.push(Change::set(KubeKey::BearerToken, token));
    }
    for k in &a.unset {
        out.push(Change::unset(k.parse()?));
    }
    if out.is_empty() {
        return Err(Error::InvalidArgument(
            "nothing to do: give --host, --cert-file, --key-file, --ca-file, --namespace, --service-account, --bearer-token-file or --unset".into(),
        ));
    }
    Ok(out)
}

fn set(a: &SetArgs) -> Result<Outcome> {
    let path = &a.config.config;
    let changes = changes(a)?;
    let selector = match (&a.runner, a.runner_index) {
        (_, Some(i)) => RunnerSelector::Index(i),
        (Some(n), None) => RunnerSelector::Name(n.clone()),
        (None, None) => {
            return Err(Error::InvalidArgument(
                "give --runner NAME or --runner-index N".into(),
            ));
        }
    };
    let options = {
        let mut p = SaveOptions::default();
        p.backup = !a.no_backup;
        p.lock_timeout = runnerkey::Timeout::parse("lock timeout", &a.lock_timeout)?.as_duration();
        p
    };
    let runner = match &selector {
        RunnerSelector::Name(n) => n.clone(),
        RunnerSelector::Index(i) => format!("#{i}"),
    };
    crate::stdio::refuse_for_edit(path)?;
    let edited = RunnerConfig::edit_file(path, &selector, &changes, &options, a.dry_run)?;
    if edited.changed.is_empty() {
        out!("runner {runner}: unchanged, nothing written");
        return Ok(Outcome::Ok);
    }
    let names: Vec<&str> = edited.changed.iter().map(|k| k.name()).collect();
    match &edited.saved {
        None => {
            let diff = if a.show_secrets {
                let mut cfg = RunnerConfig::load(path)?;
                cfg.set_kubernetes(&selector, &changes)?;
                cfg.diff(true)
            } else {
                edited.diff.clone()
            };
            crate::term::write_out(&diff);
            out!(
                "dry run: runner {runner} would change {}; nothing written",
                names.join(", ")
            );
        }
        Some(saved) => {
            out!(
                "runner {runner}: set {} in {}",
                names.join(", "),
                saved.path.display()
            );
            if let Some(b) = &saved.backup {
                out!("backup: {}", b.display());
            }
            if let Some(note) = saved.narrowed_note() {
                crate::warn(&note);
            }
        }
    }
    Ok(Outcome::Ok)
}

fn print_finding(f: &Finding) {
    let mark = match f.severity {
        Severity::Error => "✗ error",
        Severity::Warning => "! warning",
        Severity::Info => "· info",
    };
    let mut place = Vec::new();
    if let Some(r) = &f.runner {
        place.push(format!("runner {r:?}"));
    }
    if let Some(l) = f.line {
        place.push(format!("line {l}"));
    }
    let place = if place.is_empty() {
        String::new()
    } else {
        format!(" ({})", place.join(", "))
    };
    out!("{mark} [{}]{place}: {}", f.code, f.message);
    out!("    fix: {}", f.fix);
    if let Some(step) = &f.next {
        out!("      $ {}", crate::next_step::command(step));
    }
}

fn lint(a: &LintArgs) -> Result<Outcome> {
    let path = &a.config.config;
    let cfg = crate::stdio::load_config(path)?;
    let options = {
        let mut p = LintOptions::default();
        p.runner = crate::args::pick_runner(&a.runner, a.runner_index);
        p.now = None;
        p
    };
    let findings = cfg.lint(&options).map_err(|e| e.in_file(path))?;
    if a.out.data() {
        a.out.print(&findings)?;
    } else if findings.is_empty() {
        out!("{}: no problems found", path.display());
    } else {
        for f in &findings {
            print_finding(f);
        }
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if !a.out.data() && !findings.is_empty() {
        out!(
            "{errors} error(s), {} other finding(s)",
            findings.len() - errors
        );
    }
    Ok(if errors > 0 {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}
