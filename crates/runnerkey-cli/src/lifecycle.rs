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
    if let (Some(end), Some(left), Some(at)) = (&r.not_after, r.seconds_left, &r.renew_at) {
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
            out!("  last renewal: {} — {}{failures}", l.at, l.message);
        } else {
            out!(
                "  ✗ last renewal failed: {} — {}{failures}",
                l.at,
                l.message
            );
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
    if a.require_usable {
        let unusable: Vec<&RunnerStatus> = report
            .runners
            .iter()
            .filter(|r| r.expired || r.problem.is_some())
            .collect();
        for r in &unusable {
            let why = match (&r.problem, &r.not_after) {
                (Some(p), _) => p.clone(),
                (None, Some(end)) => format!("its credential expired on {end}"),
                (None, None) => "its credential expired".into(),
            };
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
    params.timeout = runnerkey::lifetime::timeout_from_text("timeout", &a.timeout)?;
    if let Some(sa) = &a.expect_service_account {
        let (ns, name) = sa
            .split_once('/')
            .filter(|(n, s)| !n.is_empty() && !s.is_empty())
            .ok_or_else(|| {
                runnerkey::Error::InvalidArgument(format!(
                    "--expect-service-account {sa:?}: give NAMESPACE/NAME"
                ))
            })?;
        params.expect_service_account = Some((ns.to_string(), name.to_string()));
    }
    params.expect_identity = a
        .expect_user
        .as_ref()
        .map(|u| runnerkey::Identity::new(u.clone(), a.expect_groups.clone()))
        .transpose()?;
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
            (_, false, _) if report.old_not_after.is_empty() => {
                out!("{name}: nothing to do ({})", report.reason)
            }
            (_, false, _) => out!(
                "{name}: nothing to do, {what} valid until {} ({})",
                report.old_not_after,
                report.reason
            ),
            (_, true, true) => out!(
                "dry run: {name} would be renewed ({}): {new}{}",
                report.reason,
                report
                    .new_not_after
                    .as_deref()
                    .map(|end| format!(" until {end}"))
                    .unwrap_or_default()
            ),
            (online, true, false) => {
                out!(
                    "✓ {name} renewed ({}): {new} until {}",
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
    let same_name = config
        .runners()?
        .iter()
        .filter(|r| info.name.is_some() && r.name == info.name)
        .count();
    let instance = match &a.instance {
        Some(i)
            if *i != label
                && config
                    .runners()?
                    .iter()
                    .any(|r| r.name.as_deref() == Some(i.as_str())) =>
        {
            return Err(runnerkey::Error::InvalidArgument(format!(
                "--instance {i:?} is the name of another runner in {}: its units would be overwritten; choose a name no runner has",
                a.config.config.display()
            )));
        }
        Some(i) => i.clone(),
        None if same_name > 1 => {
            return Err(runnerkey::Error::InvalidArgument(format!(
                "{} runners in {} are named {label:?}: their units would overwrite each other; give this one a distinct --instance NAME",
                same_name,
                a.config.config.display()
            )));
        }
        None => label.clone(),
    };
    let k = info.kubernetes.unwrap_or_default();
    // The paths renewal acts on: none may carry a line break or another
    // control character into a unit or a command line.
    for (field, value) in [
        ("cert_file", &k.cert_file),
        ("key_file", &k.key_file),
        ("ca_file", &k.ca_file),
        ("host", &k.host),
    ] {
        if let Some(v) = value
            && let Some(c) = v.chars().find(|c| c.is_control())
        {
            return Err(runnerkey::Error::InvalidArgument(format!(
                "runner {label:?}: its {field} {v:?} holds the control character {c:?}: no unit is written for it"
            )));
        }
    }
    let key_dir = k.key_file.filter(|f| !f.is_empty()).and_then(|f| {
        std::path::Path::new(&f)
            .parent()
            .map(std::path::Path::to_path_buf)
    });
    if key_dir.is_none() && k.bearer_token.as_deref().is_none_or(str::is_empty) {
        return Err(runnerkey::Error::InvalidArgument(format!(
            "runner {label:?} has neither key_file nor bearer_token: run setup first"
        )));
    }
    // The renewal exactly as it would run by hand, with absolute paths.
    let program = crate::runnerkey_command()?.display().to_string();
    let config_path = absolute(&a.config.config)?;
    // `--flag=value`: a value starting with `-` stays a value.
    let runner_arg = match &runner {
        runnerkey::runner_config::RunnerSelector::Name(n) => format!("--runner={n}"),
        runnerkey::runner_config::RunnerSelector::Index(i) => format!("--runner-index={i}"),
    };
    let mut exec = vec![
        program.clone(),
        "renew".into(),
        format!("--config={config_path}"),
        runner_arg.clone(),
    ];
    if key_dir.is_none() && a.csr_api.kubeconfig.is_none() {
        return Err(runnerkey::Error::InvalidArgument(format!(
            "runner {label:?} authenticates with a bearer token: its renewal needs --kubeconfig FILE (an identity that may create serviceaccounts/token), not a CA"
        )));
    }
    match (
        &a.csr_api.kubeconfig,
        &a.ca.ca_dir,
        &a.ca.ca_cert,
        &a.ca.ca_key,
    ) {
        (Some(kc), _, _, _) => {
            // Checked now, not at 3 a.m. by the timer.
            a.csr_api.resolve()?;
            exec.push(format!("--kubeconfig={}", absolute(kc)?));
            if let Some(c) = &a.csr_api.context {
                exec.push(format!("--context={c}"));
            }
            if a.csr_api.approve {
                exec.push("--approve".into());
            }
            exec.push(format!("--wait={}", a.csr_api.wait));
        }
        (None, Some(dir), _, _) => exec.push(format!("--ca-dir={}", absolute(dir)?)),
        (None, None, Some(c), Some(k)) => exec.extend([
            format!("--ca-cert={}", absolute(c)?),
            format!("--ca-key={}", absolute(k)?),
        ]),
        _ => {
            return Err(runnerkey::Error::InvalidArgument(
                "give --ca-dir DIR, --ca-cert FILE --ca-key FILE, or --kubeconfig FILE: how renew gets the new credential"
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
    // A token runner's account, pinned in the unit: a token later written
    // into config.toml for another account is not renewed.
    if key_dir.is_none()
        && let Some((ns, name)) = k
            .bearer_token
            .as_deref()
            .and_then(runnerkey::TokenClaims::read)
            .and_then(|c| c.service_account)
    {
        exec.push(format!("--expect-service-account={ns}/{name}"));
    }
    let check = vec![
        program,
        "status".into(),
        format!("--config={config_path}"),
        runner_arg,
        "--require-usable".into(),
    ];
    let config_dir = std::path::Path::new(&config_path)
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| "/".into());
    let mut writable = vec![config_dir];
    if let Some(dir) = key_dir {
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        if !writable.contains(&dir) {
            writable.push(dir);
        }
    }
    let units = runnerkey::RenewUnits::new(instance, exec, check, writable);
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
