//! The identity's lifecycle: `runnerkey status` (the library's status
//! report, and its Prometheus text file) and `runnerkey renew`.

use runnerkey::{
    Credential, Lifetime, OnlineCheck, RenewParams, RenewalPolicy, Result, RunnerStatus,
    StatusParams,
};

use crate::args::{OneRunner, RenewArgs, RenewalArgs, StatusArgs, SystemdArgs};
use crate::{Outcome, inputs};

fn line(r: &RunnerStatus) {
    let name = format!("runner {:?} (#{})", r.runner, r.index);
    match r.credential {
        Credential::InCluster => out!("{name}: in-cluster credentials (host is empty)"),
        Credential::BearerToken => out!("{name}: bearer token (its lifetime is not known here)"),
        Credential::None => out!("{name}: no credentials"),
        Credential::ClientCertificate => {
            let who = match (&r.user, r.groups.is_empty()) {
                (Some(u), true) => format!("user {u:?}"),
                (Some(u), false) => format!("user {u:?}, groups {:?}", r.groups),
                (None, _) => "unreadable certificate".into(),
            };
            out!("{name}: client certificate, {who}");
            if let (Some(end), Some(left), Some(at)) = (&r.not_after, r.seconds_left, &r.renew_at) {
                let days = left.div_euclid(86_400);
                let state = if r.expired {
                    format!("✗ expired on {end}")
                } else if r.renewal_due {
                    format!("! valid until {end} ({days} days left); renewal was due on {at}")
                } else {
                    format!("✓ valid until {end} ({days} days left); renewal due on {at}")
                };
                out!("  {state}");
            }
        }
    }
    if let Some(p) = &r.problem {
        out!("  ✗ {p}");
    }
}

/// `runnerkey status`
pub fn status(a: &StatusArgs) -> Result<Outcome> {
    let path = &a.config.config;
    let config = crate::stdio::load_config(path)?;
    let policy = policy(&a.when)?;
    let params = {
        let mut p = StatusParams::default();
        p.runner = a.runners.pick();
        p.policy = policy;
        p
    };
    let report = params.run(&config).map_err(|e| e.in_file(path))?;
    if let Some(file) = &a.prometheus {
        crate::stdio::write_public(file, &report.prometheus(), true)?;
    }
    if a.out.data() {
        a.out.print(&report)?;
    } else if !a.prometheus.as_deref().is_some_and(crate::stdio::is_dash) {
        if report.runners.is_empty() {
            out!("no kubernetes runner in {}", path.display());
        }
        for r in &report.runners {
            line(r);
        }
    }
    Ok(if report.needs_attention() {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}

fn policy(a: &RenewalArgs) -> Result<RenewalPolicy> {
    let mut policy = RenewalPolicy::at(a.renew_at)?;
    if let Some(before) = &a.renew_before {
        policy.before = Some(before.parse::<Lifetime>()?.as_duration());
    }
    Ok(policy)
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
    params.timeout = runnerkey::lifetime::timeout_from_secs("timeout", a.timeout as f64)?;
    let ca;
    let signer = match a.csr_api.resolve()? {
        Some((context, approve, wait)) => runnerkey::Signer::CsrApi {
            context: Box::new(context),
            approve,
            wait,
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
    if a.json {
        crate::term::print_json(&report)?;
    } else {
        let name = format!("runner {:?}", report.runner);
        match (&report.online, report.renewed, report.dry_run) {
            (OnlineCheck::Refused { reason }, _, _) => {
                out!(
                    "✗ {name}: the API server refused the new certificate ({reason}); the old pair was kept"
                );
            }
            (_, false, _) => out!(
                "{name}: nothing to do, certificate valid until {} ({})",
                report.old_not_after,
                report.reason
            ),
            (_, true, true) => out!(
                "dry run: {name} would be renewed ({}): a new key, a certificate until {}",
                report.reason,
                report.new_not_after.as_deref().unwrap_or("?")
            ),
            (online, true, false) => {
                out!(
                    "✓ {name} renewed ({}): a new key, a certificate until {}",
                    report.reason,
                    report.new_not_after.as_deref().unwrap_or("?")
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
                out!("  the previous pair is kept for rollback; config.toml is unchanged");
            }
        }
    }
    Ok(if report.failed() {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}

fn absolute(p: &std::path::Path) -> Result<String> {
    std::path::absolute(p)
        .map(|p| p.display().to_string())
        .map_err(|source| runnerkey::Error::Io {
            path: p.to_path_buf(),
            source,
        })
}

/// `runnerkey systemd`
pub fn systemd(a: &SystemdArgs) -> Result<Outcome> {
    let runner = one_runner(&a.runner)?;
    crate::stdio::refuse_for_edit(&a.config.config)?;
    policy(&a.when)?;
    let config = runnerkey::runner_config::RunnerConfig::load(&a.config.config)?;
    let index = config.select(&runner)?;
    let info = config
        .runners()?
        .into_iter()
        .find(|r| r.index == index)
        .ok_or_else(|| runnerkey::Error::InvalidArgument("the runner disappeared".into()))?;
    let label = info.name.clone().unwrap_or_else(|| format!("#{index}"));
    let key_file = info
        .kubernetes
        .and_then(|k| k.key_file)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            runnerkey::Error::InvalidArgument(format!(
                "runner {label:?} has no key_file: run setup first"
            ))
        })?;
    let key_dir = std::path::Path::new(&key_file)
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    // The renewal exactly as it would run by hand, with absolute paths.
    let program = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|source| runnerkey::Error::Io {
            path: "runnerkey".into(),
            source,
        })?;
    // `--flag=value`: a value starting with `-` stays a value.
    let mut exec = vec![
        program.display().to_string(),
        "renew".into(),
        format!("--config={}", absolute(&a.config.config)?),
    ];
    exec.push(match &runner {
        runnerkey::runner_config::RunnerSelector::Name(n) => format!("--runner={n}"),
        runnerkey::runner_config::RunnerSelector::Index(i) => format!("--runner-index={i}"),
    });
    match (&a.ca.ca_dir, &a.ca.ca_cert, &a.ca.ca_key) {
        (Some(dir), _, _) => exec.push(format!("--ca-dir={}", absolute(dir)?)),
        (None, Some(c), Some(k)) => exec.extend([
            format!("--ca-cert={}", absolute(c)?),
            format!("--ca-key={}", absolute(k)?),
        ]),
        _ => {
            return Err(runnerkey::Error::InvalidArgument(
                "give --ca-dir DIR or --ca-cert FILE --ca-key FILE: where renew finds the CA"
                    .into(),
            ));
        }
    }
    if let Some(p) = &a.ca.ca_passphrase_file {
        exec.push(format!("--ca-passphrase-file={}", absolute(p)?));
    }
    if a.when.renew_at != 2.0 / 3.0 {
        exec.push(format!("--renew-at={}", a.when.renew_at));
    }
    if let Some(b) = &a.when.renew_before {
        exec.push(format!("--renew-before={b}"));
    }
    let units = runnerkey::RenewUnits::new(
        label,
        exec,
        vec![std::path::absolute(&key_dir).unwrap_or(key_dir)],
    );
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
        crate::term::write_data(&format!(
            "# {name}.service\n{}\n# {name}.timer\n{}",
            units.service()?,
            units.timer()?,
            name = units.name()
        ));
    }
    Ok(Outcome::Ok)
}
