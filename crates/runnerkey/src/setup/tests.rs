//! Unit tests.

use super::*;

use super::report::next_steps;
use crate::code::Code;
use crate::doctor::{DoctorOptions, diagnose};
use crate::next_step::NextStep;
use crate::runner_config::{Change, KubeKey, RunnerConfig};
use crate::severity::Severity;
use crate::{Identity, KeyAlgorithm};

fn params(dir: &Path) -> SetupParams {
    let mut p = SetupParams::new(
        dir.join("config.toml"),
        RunnerSelector::Name("r".into()),
        "https://10.0.0.1:6443",
    )
    .unwrap();
    p.out_dir = dir.join("ssl");
    p.algorithm = KeyAlgorithm::EcdsaP256;
    p
}

#[test]
fn a_runner_that_is_not_kubernetes_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = params(dir.path());
    let cfg =
        RunnerConfig::parse("[[runners]]\n  name = \"r\"\n  executor = \"docker\"\n").unwrap();
    let e = check_executor(&cfg, &p).unwrap_err();
    assert!(
        matches!(e.root(), Error::NotKubernetesRunner { executor, .. } if executor == "docker")
    );
    let ok =
        RunnerConfig::parse("[[runners]]\n  name = \"r\"\n  executor = \"kubernetes\"\n").unwrap();
    assert!(check_executor(&ok, &p).is_ok());
}

#[test]
fn the_paths_are_named_after_the_user_and_ca_is_reserved() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = params(dir.path());
    let paths = SetupPaths::new(&p).unwrap();
    assert!(paths.key.ends_with("ssl/gitlab-admin.key") && paths.ca.ends_with("ssl/ca.crt"));
    p.identity = Identity::new("ca", Vec::<String>::new()).unwrap();
    assert!(matches!(
        SetupPaths::new(&p),
        Err(crate::Error::InvalidName { .. })
    ));
    p.identity = Identity::new("gitlab-admin", Vec::<String>::new()).unwrap();
    p.namespace = "Not_A_Label".into();
    assert!(matches!(
        SetupPaths::new(&p),
        Err(crate::Error::InvalidName { .. })
    ));
}

#[test]
fn the_install_dir_is_what_the_config_names_and_must_be_absolute() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = params(dir.path());
    let same = SetupPaths::new(&p).unwrap();
    assert_eq!(same.installed.key_file, same.key);
    assert_eq!(next_steps(&p, &same, false).len(), 3);
    p.install_dir = Some(PathBuf::from("/etc/ssl/kubernetes"));
    let paths = SetupPaths::new(&p).unwrap();
    assert!(paths.key.starts_with(dir.path()));
    assert_eq!(
        paths.installed.key_file,
        Path::new("/etc/ssl/kubernetes/gitlab-admin.key")
    );
    let changes = config_changes(&p, &paths);
    assert!(changes.contains(&Change::set(
        KubeKey::CaFile,
        "/etc/ssl/kubernetes/ca.crt".to_string()
    )));
    let steps = next_steps(&p, &paths, false);
    assert!(steps.iter().any(
        |s| matches!(s, NextStep::InstallFiles { to, .. } if to == Path::new("/etc/ssl/kubernetes"))
    ));
    p.install_dir = Some(PathBuf::from("//etc//ssl/./kubernetes/"));
    assert_eq!(
        SetupPaths::new(&p).unwrap().installed.ca_file,
        Path::new("/etc/ssl/kubernetes/ca.crt")
    );
    p.install_dir = Some(PathBuf::from("/etc/x/../ssl"));
    assert!(matches!(
        SetupPaths::new(&p),
        Err(crate::Error::InvalidArgument { .. })
    ));
    p.install_dir = Some(PathBuf::from("etc/ssl"));
    assert!(matches!(
        SetupPaths::new(&p).unwrap_err(),
        Error::InvalidArgument(m) if m.contains("absolute")
    ));
}

#[test]
fn a_ca_key_setup_signed_with_here_is_a_warning_then_doctors_error_until_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let ca = crate::CertificateAuthority::generate(&crate::CaParams {
        algorithm: KeyAlgorithm::EcdsaP256,
        ..crate::CaParams::default()
    })
    .unwrap();
    ca.write_kubeadm(&pki, false).unwrap();
    let ca = crate::CertificateAuthority::load_dir(&pki, None).unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[[runners]]\n  name = \"r\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n",
    )
    .unwrap();
    let p = params(dir.path());
    let report = p.run(CertSource::Ca(&ca)).unwrap();
    let key = pki.join("ca.key").canonicalize().unwrap();
    let found: Vec<_> = report.doctor.as_ref().unwrap().runners[0]
        .findings
        .iter()
        .filter(|f| f.code == Code::CaKeyOnRunnerHost)
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].severity, Severity::Warning);
    assert!(found[0].message.contains(&key.display().to_string()));
    let pin = crate::pin::load(&p.config, "r").unwrap().unwrap();
    assert_eq!(pin.ca_key_seen.as_deref(), Some(key.as_path()));
    let doctor = |()| {
        let config = RunnerConfig::load(&p.config).unwrap();
        diagnose(&config, &DoctorOptions::default())
            .unwrap()
            .runners[0]
            .findings
            .iter()
            .filter(|f| f.code == Code::CaKeyOnRunnerHost)
            .map(|f| f.severity)
            .collect::<Vec<_>>()
    };
    assert_eq!(doctor(()), [Severity::Error]);
    std::fs::remove_file(&key).unwrap();
    assert!(doctor(()).is_empty());
}

#[test]
fn a_request_is_named_after_the_user_unless_a_name_is_given() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[[runners]]\n  name = \"r\"\n  executor = \"kubernetes\"\n",
    )
    .unwrap();
    let submitted = |report: &RequestReport| {
        report.next_steps.iter().find_map(|s| match s {
            NextStep::SubmitCsrObject { name, .. } => Some(name.clone()),
            _ => None,
        })
    };
    let mut p = params(dir.path());
    p.identity = Identity::new("gitlab-admin", Vec::<String>::new()).unwrap();
    let report = p.request(None, None).unwrap();
    assert_eq!(
        submitted(&report).as_deref(),
        Some("runnerkey-gitlab-admin")
    );
    let report = p.request(Some("mine"), None).unwrap();
    assert_eq!(submitted(&report).as_deref(), Some("mine"));
    // A user that is not an object name is made one, kept distinct by a digest.
    p.identity = Identity::new("system:ci runner", Vec::<String>::new()).unwrap();
    let name = submitted(&p.request(None, None).unwrap()).unwrap();
    assert!(name.starts_with("runnerkey-system-ci-runner-"), "{name}");
    assert!(
        crate::k8s_name::check_subdomain("name", &name).is_ok(),
        "{name}"
    );
}
