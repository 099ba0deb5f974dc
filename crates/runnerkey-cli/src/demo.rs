//! `runnerkey demo`: the whole procedure on a throwaway CA, no cluster.

use std::path::Path;

use runnerkey::runner_config::lint::LintOptions;
use runnerkey::runner_config::{Change, KubeKey, RunnerConfig, RunnerSelector, SaveOptions};
use runnerkey::verify::verify_client_cert;
use runnerkey::{
    CaParams, CertificateAuthority, ClientFiles, Error, Identity, IssueParams, KeyAlgorithm, Result,
};

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

fn mkdir(d: &Path) -> Result<()> {
    std::fs::create_dir_all(d).map_err(|source| Error::Io {
        path: d.to_owned(),
        source,
    })
}

/// `runnerkey demo`
pub fn run(a: &DemoArgs) -> Result<Outcome> {
    mkdir(&a.dir)?;
    let dir = std::fs::canonicalize(&a.dir).map_err(|source| Error::Io {
        path: a.dir.clone(),
        source,
    })?;
    let pki = dir.join("pki");
    let out = dir.join("ssl");
    mkdir(&pki)?;
    mkdir(&out)?;
    println!("runnerkey demo in {}", dir.display());

    let ca = CertificateAuthority::generate(&CaParams::default())?;
    ca.write_kubeadm(&pki, true)?;
    println!(
        "1. made a throwaway cluster CA like kubeadm's: {}/ca.crt, ca.key",
        pki.display()
    );

    let who = Identity::new("gitlab-admin", ["gitlab-runners"])?;
    let (key, issued) = ca.issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())?;
    let files = ClientFiles::in_dir(&out, &who.user);
    files.write(&key, &issued.certificate, ca.certificate(), true)?;
    println!(
        "2. issued a client certificate for {} ({}), valid until {}",
        who,
        key.key_type(),
        runnerkey::lifetime::rfc3339(issued.certificate.not_after())
    );
    println!("   key_file  = {} (mode 0600)", files.key_file.display());
    println!("   cert_file = {}", files.cert_file.display());
    println!("   ca_file   = {}", files.ca_file.display());

    let report = verify_client_cert(
        std::slice::from_ref(ca.certificate()),
        &issued.certificate,
        Some(&key),
        None,
    );
    if !report.ok {
        for p in &report.problems {
            println!("3. ✗ [{}] {}", p.code, p.message);
        }
        return Ok(Outcome::Problems);
    }
    println!("3. verified: accepted for client authentication by the CA, key matches");

    let config = dir.join("config.toml");
    if !config.exists() {
        runnerkey::file::write_atomic(
            &config,
            SAMPLE_CONFIG.as_bytes(),
            runnerkey::file::PRIVATE,
            false,
        )?;
    }
    let path = |p: &Path| p.display().to_string();
    let changes = [
        Change::set(KubeKey::Host, "https://127.0.0.1:6443"),
        Change::set(KubeKey::CertFile, path(&files.cert_file)),
        Change::set(KubeKey::KeyFile, path(&files.key_file)),
        Change::set(KubeKey::CaFile, path(&files.ca_file)),
        Change::set(KubeKey::Namespace, "gitlab-runner"),
        Change::set(KubeKey::ServiceAccount, "gitlab-deployer"),
    ];
    let runner = RunnerSelector::Name("demo-runner".into());
    let edited =
        RunnerConfig::edit_file(&config, &runner, &changes, &SaveOptions::default(), false)?;
    match &edited.saved {
        Some(saved) => {
            let names: Vec<&str> = edited.changed.iter().map(|k| k.name()).collect();
            println!(
                "4. pointed [runners.kubernetes] of \"demo-runner\" in {} at them: {}",
                config.display(),
                names.join(", ")
            );
            if let Some(b) = &saved.backup {
                println!("   backup of the previous config: {}", b.display());
            }
        }
        None => println!("4. {} already points at them: unchanged", config.display()),
    }
    let findings = RunnerConfig::load(&config)?.lint(&LintOptions::default())?;
    if findings.is_empty() {
        println!("5. lint: no problems in {}", config.display());
        Ok(Outcome::Ok)
    } else {
        for f in &findings {
            println!("5. [{}] {}", f.code, f.message);
        }
        Ok(Outcome::Problems)
    }
}
