//! `issue --batch`: the fleet's certificates, with a progress bar on a
//! terminal and a summary.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use runnerkey::{BatchParams, Error, Result};

use crate::Outcome;
use crate::args::IssueArgs;
use crate::inputs;

fn progress_bar(len: usize, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} certificates, {per_sec}, ETA {eta}")
    {
        bar.set_style(style.progress_chars("#>-"));
    }
    bar
}

/// `runnerkey issue --batch FILE`
pub fn issue(a: &IssueArgs, batch: &Path) -> Result<Outcome> {
    let text = crate::stdio::read(batch)?;
    let source = if crate::stdio::is_dash(batch) {
        Path::new("<stdin>")
    } else {
        batch
    };
    let text = String::from_utf8(text)
        .map_err(|_| Error::InvalidArgument("not UTF-8 text".into()).in_file(source))?;
    let mut params = BatchParams::default();
    params.algorithm = inputs::algorithm(&a.algorithm)?;
    params.lifetime = inputs::issue_params(&a.lifetime, a.allow_system_masters)?.lifetime;
    params.groups = a.groups.clone();
    params.user_template = a.user.clone();
    params.allow_system_masters = a.allow_system_masters;
    params.overwrite = a.force;
    if a.keep_valid {
        params.keep_valid = Some(runnerkey::RenewalPolicy::from_options(
            a.renew_at,
            a.renew_before.as_deref(),
        )?);
    }
    params.threads = a.jobs.unwrap_or(0);
    let ca = inputs::ca(&a.ca)?;
    let entries = params.entries(&ca, &text).map_err(|e| e.in_file(source))?;
    let total = entries.len();
    let bar = progress_bar(total, crate::term::quiet());
    let started = Instant::now();
    let report = params.issue(&ca, entries, &|done| bar.set_position(done as u64));
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    for w in report.warning_lines() {
        crate::warn(&format!("{}: {w}", source.display()));
    }
    let failed: Vec<_> = report.failed().collect();
    if a.out.data() {
        a.out.print(&report.data())?;
    } else {
        let kept = match report.kept() {
            0 => String::new(),
            n => format!(", kept {n} still valid,"),
        };
        out!(
            "issued {}{kept} of {total} certificates in {:.2} s",
            report.issued(),
            elapsed.as_secs_f64()
        );
    }
    for f in &failed {
        if let Err(e) = &f.outcome {
            err!(
                "runnerkey: {}: line {} ({}): {}",
                source.display(),
                f.entry.line,
                f.entry.identity.user(),
                e.chain()
            );
        }
    }
    if failed.is_empty() {
        Ok(Outcome::Ok)
    } else {
        Err(Error::InvalidArgument(format!(
            "{} of {total} entries failed; their files were left as they were",
            failed.len()
        )))
    }
}
