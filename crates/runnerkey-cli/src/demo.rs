//! `runnerkey demo`: the main job on a built-in default — a throwaway CA
//! and a sample config.toml, then `setup` and the offline doctor.

use std::path::Path;

use runnerkey::doctor::{DoctorOptions, diagnose};
use runnerkey::runner_config::{RunnerConfig, RunnerSelector};
use runnerkey::setup::{CertSource, SetupParams};
use runnerkey::{CA_CERT_FILE, CA_KEY_FILE};
use runnerkey::{CaParams, CertificateAuthority, Error, Identity, Result};

use crate::Outcome;
use crate::args::DemoArgs;

/// A config.toml as `gitlab-runner register` leaves it for the kubernetes
/// executor, before anyone points it at a cluster.
const SAMPLE_CONFIG: &str = r#"concurrent = 1
check_interval = 0

[session_server]
  session_timeout = 1800

# registered with: gitlab-runner register --executor kubernetes
[[runners]]
  name = "demo-runner"
  url = "https://gitlab.example.com/"
  token = "glrt-demo-not-a-real-token"
  executor = "kubernetes"
  [runners.kubernetes]
    image = "alpine:3.20"
"#;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// `runnerkey demo`
pub fn run(a: &DemoArgs) -> Result<Outcome> {
    runnerkey::fs::create_dirs(&a.dir, runnerkey::fs::Visibility::Public)?;
    let dir = std::fs::canonicalize(&a.dir).map_err(io(&a.dir))?;
    out!(
        "runnerkey demo in {} (a throwaway CA; no cluster needed)\n",
        dir.display()
    );

    let pki = dir.join("pki");
    let ca = if pki.join(CA_CERT_FILE).exists() && pki.join(CA_KEY_FILE).exists() {
        out!(
            "1. the demo cluster CA from a previous run: {}",
            pki.display()
        );
        CertificateAuthority::load_dir(&pki, None)?
    } else {
        let ca = CertificateAuthority::generate(&CaParams::default())?;
        ca.write_kubeadm(&pki, false)?;
        out!(
            "1. made a throwaway cluster CA like kubeadm's (what /etc/kubernetes/pki holds): {}",
            pki.display()
        );
        ca
    };
    let config = dir.join("config.toml");
    if !config.exists() {
        runnerkey::fs::write(
            &config,
            SAMPLE_CONFIG.as_bytes(),
            runnerkey::fs::Visibility::Private,
            false,
        )?;
        out!(
            "2. wrote a sample gitlab-runner config: {}",
            config.display()
        );
    } else {
        out!(
            "2. the sample gitlab-runner config from a previous run: {}",
            config.display()
        );
    }

    out!(
        "3. runnerkey setup --ca-dir {} --server https://127.0.0.1:6443 --runner demo-runner --config {} --out-dir {} --group gitlab-runners\n",
        pki.display(),
        config.display(),
        dir.join("ssl").display()
    );
    let runner = RunnerSelector::Name("demo-runner".into());
    let mut params = SetupParams::new(&config, runner.clone(), "https://127.0.0.1:6443")?;
    params.identity = Identity::new("gitlab-admin", ["gitlab-runners"])?;
    params.out_dir = dir.join("ssl");
    // The throwaway CA plays the control plane's: on a real runner host its
    // key would be reported (ca-key-on-runner-host).
    params.ca_on_control_plane = true;
    let report = params.run(CertSource::Ca(&ca))?;
    if !report.changed {
        out!(
            "   nothing to do: everything is already in place (run it again: setup is idempotent)"
        );
    }
    out!(
        "   certificate: {} — {}",
        report.certificate,
        report.certificate_note
    );
    for f in &report.files {
        out!(
            "   {:<10} {} (mode {}) — {}",
            f.action,
            f.path.display(),
            f.mode,
            f.purpose
        );
    }
    if !report.config_diff.is_empty() {
        out!("   config.toml changed:");
        for line in report.config_diff.lines() {
            out!("   {line}");
        }
    }

    out!(
        "\n4. runnerkey doctor --config {} (offline)",
        config.display()
    );
    let diagnosis = diagnose(&RunnerConfig::load(&config)?, &{
        let mut p = DoctorOptions::default();
        p.runner = Some(runner);
        p
    })?;
    for r in &diagnosis.runners {
        out!("   presents: {}", r.presents);
        out!("   job pods act as {}", r.job_identity);
        for c in r.checks.iter().filter(|c| c.ok) {
            out!("   ✓ {}", c.message);
        }
        for f in &r.findings {
            out!("   ✗ [{}] {}", f.code, f.message);
        }
    }
    out!("\non a real cluster, still to do:");
    for s in &report.next_steps {
        out!("   {}", crate::next_step::command(s));
    }
    Ok(if diagnosis.has_errors() {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}
