//! Unit tests.

use super::*;
use crate::CaParams;
use crate::setup::{CertSource, SetupParams};

fn runner(tmp: &Path) -> (CertificateAuthority, PathBuf, PathBuf) {
    let ca = CertificateAuthority::generate(&CaParams {
        algorithm: KeyAlgorithm::EcdsaP256,
        ..CaParams::default()
    })
    .unwrap();
    let config = tmp.join("config.toml");
    std::fs::write(
        &config,
        "[[runners]]\n  name = \"r\"\n  executor = \"kubernetes\"\n",
    )
    .unwrap();
    let mut p = SetupParams::new(
        &config,
        RunnerSelector::Name("r".into()),
        "https://127.0.0.1:1",
    )
    .unwrap();
    p.out_dir = tmp.join("ssl");
    p.lifetime = Lifetime::days(30);
    p.identity = crate::Identity::new("gitlab-runner:h1", ["ci"]).unwrap();
    p.run(CertSource::Ca(&ca)).unwrap();
    (ca, config, tmp.join("ssl"))
}

#[test]
fn not_due_changes_nothing_and_due_switches_the_pair() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, config, ssl) = runner(tmp.path());
    let cert_file = ssl.join("gitlab-runner:h1.crt");
    let key_file = ssl.join("gitlab-runner:h1.key");
    let (cert0, key0, config0) = (
        std::fs::read(&cert_file).unwrap(),
        std::fs::read(&key_file).unwrap(),
        std::fs::read(&config).unwrap(),
    );
    let mut params = RenewParams::new(&config, RunnerSelector::Name("r".into()));
    let not_yet = params.run(Signer::Ca(&ca)).unwrap();
    assert!(!not_yet.renewed && not_yet.reason.starts_with("not due until"));
    assert_eq!(std::fs::read(&cert_file).unwrap(), cert0);
    // 25 of 30 days later: due; a dry run writes nothing.
    params.now = Some(OffsetDateTime::now_utc() + time::Duration::days(25));
    params.dry_run = true;
    let plan = params.run(Signer::Ca(&ca)).unwrap();
    assert!(plan.renewed && plan.dry_run);
    assert_eq!(std::fs::read(&cert_file).unwrap(), cert0);
    params.dry_run = false;
    let done = params.run(Signer::Ca(&ca)).unwrap();
    assert!(done.renewed, "{done:?}");
    assert!(
        matches!(done.online, OnlineCheck::Unreachable { .. }),
        "{:?}",
        done.online
    );
    let cert = Certificate::load(&cert_file).unwrap();
    let key = PrivateKey::load(&key_file, None).unwrap();
    assert_ne!(std::fs::read(&key_file).unwrap(), key0, "always a new key");
    assert!(key.matches(&cert.public_key()));
    assert_eq!(
        cert.identity().unwrap(),
        crate::Identity::new("gitlab-runner:h1", ["ci"]).unwrap()
    );
    let life = cert.not_after() - cert.not_before();
    assert!(
        (life - time::Duration::days(30)).abs() < time::Duration::minutes(10),
        "{life}"
    );
    assert_eq!(std::fs::read(&config).unwrap(), config0, "config untouched");
    assert!(
        CredentialDir::new(&ssl).previous().is_some(),
        "previous pair kept"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn a_shared_directory_keeps_the_other_runners_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, config, ssl) = runner(tmp.path());
    // A second runner in the same directory, set up the same way.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("[[runners]]\n  name = \"b\"\n  executor = \"kubernetes\"\n");
    std::fs::write(&config, text).unwrap();
    let mut p = SetupParams::new(
        &config,
        RunnerSelector::Name("b".into()),
        "https://127.0.0.1:1",
    )
    .unwrap();
    p.out_dir = ssl.clone();
    p.identity = crate::Identity::new("b", Vec::<String>::new()).unwrap();
    p.run(CertSource::Ca(&ca)).unwrap();
    let a_cert = ssl.join("gitlab-runner:h1.crt");
    assert!(
        Certificate::load(&a_cert).is_ok(),
        "b's setup kept a's files"
    );
    for name in ["r", "b", "r"] {
        let mut renew = RenewParams::new(&config, RunnerSelector::Name(name.into()));
        renew.force = true;
        renew.online = false;
        assert!(renew.run(Signer::Ca(&ca)).unwrap().renewed);
    }
    for (c, k) in [
        ("gitlab-runner:h1.crt", "gitlab-runner:h1.key"),
        ("b.crt", "b.key"),
    ] {
        let cert = Certificate::load(&ssl.join(c)).unwrap();
        let key = PrivateKey::load(&ssl.join(k), None).unwrap();
        assert!(key.matches(&cert.public_key()), "{c}");
    }
}

#[test]
fn concurrent_renewals_leave_one_good_pair() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, config, ssl) = runner(tmp.path());
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    let mut renew = RenewParams::new(&config, RunnerSelector::Name("r".into()));
                    renew.force = true;
                    renew.online = false;
                    renew.run(Signer::Ca(&ca))
                })
            })
            .collect();
        for r in runs {
            r.join().unwrap().unwrap();
        }
    });
    let cert = Certificate::load(&ssl.join("gitlab-runner:h1.crt")).unwrap();
    let key = PrivateKey::load(&ssl.join("gitlab-runner:h1.key"), None).unwrap();
    assert!(key.matches(&cert.public_key()));
    assert!(
        CredentialDir::new(&ssl)
            .previous()
            .is_some_and(|p| p.is_dir())
    );
}

#[test]
fn a_foreign_certificate_is_not_renewed_and_a_wrong_key_is() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, config, ssl) = runner(tmp.path());
    let cert_file = ssl.join("gitlab-runner:h1.crt");
    let key_file = ssl.join("gitlab-runner:h1.key");
    // A key that does not belong to the certificate: due, whatever the date.
    let stray = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    std::fs::write(
        std::fs::canonicalize(&key_file).unwrap(),
        stray.to_pem().as_bytes(),
    )
    .unwrap();
    let mut renew = RenewParams::new(&config, RunnerSelector::Name("r".into()));
    renew.online = false;
    let fixed = renew.run(Signer::Ca(&ca)).unwrap();
    assert!(
        fixed.renewed && fixed.reason.contains("does not belong"),
        "{fixed:?}"
    );
    // A certificate from another CA in cert_file: its identity is not copied.
    let other = CertificateAuthority::generate(&CaParams {
        algorithm: KeyAlgorithm::EcdsaP256,
        ..CaParams::default()
    })
    .unwrap();
    let (k, issued) = other
        .issue(
            &crate::Identity::new("system:admin", ["ops"]).unwrap(),
            KeyAlgorithm::EcdsaP256,
            &IssueParams::default(),
        )
        .unwrap();
    std::fs::write(
        std::fs::canonicalize(&cert_file).unwrap(),
        issued.certificate.to_pem(),
    )
    .unwrap();
    std::fs::write(
        std::fs::canonicalize(&key_file).unwrap(),
        k.to_pem().as_bytes(),
    )
    .unwrap();
    renew.force = true;
    let err = renew.run(Signer::Ca(&ca)).unwrap_err();
    assert!(
        matches!(&err, crate::Error::NotIssuedByCa { issuers, .. } if issuers == &[ca.certificate().subject()]),
        "{err}"
    );
    assert_eq!(err.kind(), crate::ErrorKind::Untrusted);
}

#[test]
fn renewed_files_belong_to_the_directorys_owner() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let (ca, config, ssl) = runner(tmp.path());
    if std::fs::metadata(&config).unwrap().uid() != 0 {
        return; // giving files away needs root
    }
    std::os::unix::fs::chown(&ssl, Some(65534), Some(65534)).unwrap();
    let mut renew = RenewParams::new(&config, RunnerSelector::Name("r".into()));
    renew.force = true;
    renew.online = false;
    renew.run(Signer::Ca(&ca)).unwrap();
    let key = std::fs::canonicalize(ssl.join("gitlab-runner:h1.key")).unwrap();
    for p in [
        key.as_path(),
        key.parent().unwrap(),
        &ssl.join(".runnerkey"),
    ] {
        let m = std::fs::metadata(p).unwrap();
        assert_eq!((m.uid(), m.gid()), (65534, 65534), "{}", p.display());
    }
    assert_eq!(std::fs::metadata(&key).unwrap().mode() & 0o777, 0o600);
}
