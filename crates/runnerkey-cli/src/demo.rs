//! `runnerkey demo`: the whole procedure on a throwaway CA, no cluster.

use std::path::Path;

use runnerkey::kubeconfig::{Kubeconfig, KubeconfigParams};
use runnerkey::rbac::{Profile, RbacParams, RbacSubject, rbac};
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
    let rbac_path = dir.join("rbac.yaml");
    let mut runner_rbac = RbacParams::new(RbacSubject::User(who.clone()), Profile::Executor);
    runner_rbac.namespace = Some("gitlab-runner".into());
    let jobs_rbac = RbacParams::new(
        RbacSubject::service_account("gitlab-runner/gitlab-deployer")?,
        Profile::Deployer,
    );
    let yaml = format!(
        "{}{}",
        rbac(&runner_rbac)?.to_yaml()?,
        rbac(&jobs_rbac)?.to_yaml()?
    );
    runnerkey::file::write_atomic(&rbac_path, yaml.as_bytes(), runnerkey::file::PUBLIC, true)?;
    println!(
        "5. wrote {}: least privilege for the runner (executor) and for the jobs' service account gitlab-deployer (deployer)",
        rbac_path.display()
    );
    let kubeconfig_path = dir.join("kubeconfig");
    let kubeconfig = Kubeconfig::new(&KubeconfigParams {
        server: "https://127.0.0.1:6443".into(),
        ca_file: files.ca_file.clone(),
        cert_file: files.cert_file.clone(),
        key_file: files.key_file.clone(),
        user: None,
        cluster: None,
        reference_files: false,
    })?;
    kubeconfig.write(&kubeconfig_path, true)?;
    println!(
        "6. wrote {} (mode 0600) to test the identity with kubectl",
        kubeconfig_path.display()
    );
    let findings = RunnerConfig::load(&config)?.lint(&LintOptions::default())?;
    if findings.is_empty() {
        println!("7. lint: no problems in {}", config.display());
        println!(
            "on a real cluster: kubectl apply -f {}",
            rbac_path.display()
        );
        Ok(Outcome::Ok)
    } else {
        for f in &findings {
            println!("7. [{}] {}", f.code, f.message);
        }
        Ok(Outcome::Problems)
    }
}
