//! `runnerkey setup`: translates arguments and prints the library's report.

use runnerkey::Severity;
use runnerkey::runner_config::RunnerSelector;
use runnerkey::setup::{
    RequestReport, SetupParams, SetupReport, SetupSource, Signed, SourceChoice,
};
use runnerkey::{Error, Identity, Lifetime, Result};

use crate::Outcome;
use crate::args::{Auth, CaArgs, SetupArgs};
use crate::inputs;

fn params(a: &SetupArgs) -> Result<SetupParams> {
    let mut p = SetupParams::new(
        &a.config.config,
        RunnerSelector::Name(a.runner.clone()),
        &a.server,
    )?;
    p.identity = Identity::new(a.user.clone(), a.groups.clone())?;
    p.out_dir = a.out_dir.clone();
    p.install_dir = a.install_dir.clone();
    p.namespace = a.namespace.clone();
    let jobs = match a.auth {
        Auth::Token => &a.job_service_account,
        Auth::Certificate if a.job_service_account.is_some() => {
            return Err(Error::InvalidArgument(
                "--job-service-account goes with --auth token; here the job pods' service account is --service-account".into(),
            ));
        }
        Auth::Certificate => &a.service_account,
    };
    p.service_account = jobs
        .clone()
        .unwrap_or_else(|| runnerkey::defaults::JOB_SERVICE_ACCOUNT.into());
    p.algorithm = inputs::algorithm(&a.algorithm)?;
    p.lifetime = inputs::issue_params(&a.lifetime, a.allow_system_masters)?.lifetime;
    p.renew_before = a.renew_before.parse::<Lifetime>()?.as_duration();
    p.force = a.force;
    p.keep_key = a.keep_key;
    p.dry_run = a.dry_run;
    p.allow_system_masters = a.allow_system_masters;
    Ok(p)
}

/// One line per file: its action, path, mode and purpose.
pub(crate) fn print_files(files: &[runnerkey::FileAction]) {
    for f in files {
        out!(
            "  {:<17} {} (mode {}) — {}",
            f.action,
            f.path.display(),
            f.mode,
            f.purpose
        );
    }
}

fn print_report(r: &SetupReport) -> Outcome {
    for w in &r.warnings {
        crate::warn(w);
    }
    if let Some(why) = &r.key_replaced {
        out!("new key: {why}");
    }
    if !r.changed {
        out!("nothing to do: the runner's identity, files and config are already in place");
    } else if r.dry_run {
        out!("dry run: nothing written; this is the plan");
    }
    let what = match r.credential {
        runnerkey::Credential::BearerToken => "token",
        _ => "certificate",
    };
    out!("{what}: {} — {}", r.certificate, r.certificate_note);
    out!("files:");
    print_files(&r.files);
    if r.config_diff.is_empty() {
        out!("config: {} unchanged", r.config.display());
    } else {
        out!(
            "config: {}{}",
            r.config.display(),
            if r.dry_run {
                " would change:"
            } else {
                " changed:"
            }
        );
        crate::term::write_out(&r.config_diff);
        if let Some(b) = &r.config_backup {
            out!("backup: {}", b.display());
        }
    }
    let mut errors = false;
    if let Some(d) = &r.doctor {
        let findings: Vec<_> = d
            .findings
            .iter()
            .chain(d.runners.iter().flat_map(|x| x.findings.iter()))
            .collect();
        if findings.is_empty() {
            out!("doctor (offline): all good");
        } else {
            out!("doctor (offline):");
            for f in findings {
                errors |= f.severity == Severity::Error;
                out!("  [{}] {} — fix: {}", f.code, f.message, f.fix);
            }
        }
    }
    out!("still to do:");
    for s in &r.next_steps {
        out!("  {}", crate::next_step::command(s));
    }
    if errors && !r.dry_run {
        Outcome::Problems
    } else {
        Outcome::Ok
    }
}

fn print_request(r: &RequestReport) {
    if let Some(why) = &r.key_replaced {
        out!("new key: {why}");
    }
    if let Some(staged) = &r.staged_key {
        out!(
            "the new key waits in {} for setup --complete; the installed key and config.toml keep working until then",
            staged.display()
        );
    }
    out!("files:");
    print_files(&r.files);
    out!("to have the certificate signed (the CA key stays on the control plane):");
    for s in &r.next_steps {
        out!("  {}", crate::next_step::command(s));
    }
}

/// `runnerkey setup`
pub fn run(a: &SetupArgs) -> Result<Outcome> {
    crate::stdio::refuse_for_edit(&a.config.config)?;
    let p = params(a)?;
    if a.request {
        let expiration = a
            .expiration
            .as_deref()
            .map(|e| e.parse::<Lifetime>().map(|l| l.as_duration()))
            .transpose()?;
        let report = p.request(a.csr_name.as_deref(), expiration)?;
        if a.out.data() {
            a.out.print(&report)?
        } else {
            print_request(&report)
        }
        return Ok(Outcome::Ok);
    }
    let report = if a.complete {
        let ca_cert = a.ca_cert.clone().ok_or_else(|| {
            Error::InvalidArgument(
                "--complete needs --ca-cert: the cluster's ca.crt (public; no key needed)".into(),
            )
        })?;
        let signed = match (&a.cert, &a.k8s_csr_json) {
            (Some(c), None) => Signed::Certificate(c),
            (None, Some(j)) => Signed::CsrObject(j),
            _ => {
                return Err(Error::InvalidArgument(
                    "--complete needs --cert FILE or --k8s-csr-json FILE".into(),
                ));
            }
        };
        p.setup(SetupSource::Complete { ca_cert, signed })?
    } else {
        let mut choice = SourceChoice::new(a.auth.into());
        if let Some((context, approve, wait)) = a.csr_api.resolve()? {
            (choice.context, choice.approve, choice.wait) = (Some(context), approve, wait);
        }
        let ca = if a.ca_dir.is_some() || a.ca_cert.is_some() || a.ca_key.is_some() {
            Some(inputs::ca(&CaArgs {
                ca_dir: a.ca_dir.clone(),
                ca_cert: a.ca_cert.clone(),
                ca_key: a.ca_key.clone(),
                ca_passphrase_file: a.ca_passphrase_file.clone(),
            })?)
        } else {
            None
        };
        choice.ca = ca.as_ref();
        choice.token_service_account = a.service_account.clone();
        choice.token_duration = a.token_duration.parse::<Lifetime>()?.as_duration();
        p.setup(choice.choose(&p)?)?
    };
    if a.out.data() {
        a.out.print(&report)?;
        return Ok(Outcome::Ok);
    }
    Ok(print_report(&report))
}
