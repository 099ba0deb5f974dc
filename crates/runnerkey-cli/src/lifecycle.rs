//! `runnerkey status`: prints the library's status report, and writes it
//! as a Prometheus text file when asked.

use runnerkey::{Credential, Lifetime, RenewalPolicy, Result, RunnerStatus, StatusParams};

use crate::Outcome;
use crate::args::StatusArgs;

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
pub fn run(a: &StatusArgs) -> Result<Outcome> {
    let path = &a.config.config;
    let config = crate::stdio::load_config(path)?;
    let mut policy = RenewalPolicy::at(a.renew_at)?;
    if let Some(before) = &a.renew_before {
        policy.before = Some(before.parse::<Lifetime>()?.as_duration());
    }
    let params = {
        let mut p = StatusParams::default();
        p.runner = crate::args::pick_runner(&a.runner, a.runner_index);
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
