//! Unit tests.

use super::*;

use crate::runner_config::RunnerConfig;
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
    assert!(SetupPaths::new(&p).is_err());
    p.identity = Identity::new("gitlab-admin", Vec::<String>::new()).unwrap();
    p.namespace = "Not_A_Label".into();
    assert!(SetupPaths::new(&p).is_err());
}
