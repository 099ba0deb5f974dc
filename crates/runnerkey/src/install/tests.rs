//! Unit tests.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::ca::CaParams;
use crate::issue::IssueParams;
use crate::key::KeyAlgorithm;
use crate::lifetime::Lifetime;
use crate::{CertificateAuthority, ClientFiles};

fn ca() -> CertificateAuthority {
    CertificateAuthority::generate(&CaParams {
        algorithm: KeyAlgorithm::EcdsaP256,
        ..CaParams::default()
    })
    .unwrap()
}

struct Pem {
    key: Vec<u8>,
    cert: Vec<u8>,
    ca: Vec<u8>,
}

impl Pem {
    fn offered(&self) -> OfferedPair<'_> {
        OfferedPair {
            key: &self.key,
            cert: &self.cert,
            ca: &self.ca,
        }
    }
}

fn pair(ca: &CertificateAuthority, user: &str, groups: &[&str], days: u32) -> Pem {
    let (key, issued) = ca
        .issue(
            &Identity::new(user, groups.iter().copied()).unwrap(),
            KeyAlgorithm::EcdsaP256,
            &IssueParams {
                lifetime: Lifetime::days(days),
                ..IssueParams::default()
            },
        )
        .unwrap();
    Pem {
        key: key.to_pem().as_bytes().to_vec(),
        cert: issued.certificate.to_pem().into_bytes(),
        ca: ca.certificate().to_pem().into_bytes(),
    }
}

fn read(dir: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

#[test]
fn installs_as_one_unit_then_changes_nothing() {
    let (ca, tmp) = (ca(), tempfile::tempdir().unwrap());
    let dir = tmp.path().join("k8s");
    let staged = pair(&ca, "gitlab-runner:r1", &["gitlab-runners"], 90);
    let params = InstallParams::new(&dir, "runner");
    let first = params.run(staged.offered()).unwrap();
    assert_eq!(
        (first.changed, first.action),
        (true, InstallAction::Installed)
    );
    let v = serde_json::to_value(&first).unwrap();
    assert_eq!(v["action"], "installed");
    assert_eq!(v["not_after"], crate::lifetime::rfc3339(first.not_after));
    for (action, text) in [
        (InstallAction::CaUpdated, "ca-updated"),
        (InstallAction::Kept, "kept"),
        (InstallAction::Unchanged, "unchanged"),
    ] {
        assert_eq!(serde_json::to_value(action).unwrap(), text);
        assert_eq!(action.to_string(), text);
    }
    assert_eq!(read(&dir, "runner.key"), staged.key);
    assert_eq!(read(&dir, "runner.crt"), staged.cert);
    assert_eq!(read(&dir, "ca.crt"), staged.ca);
    // Stable links into one version: the three switch together.
    assert!(dir.join("runner.key").is_symlink() && dir.join("ca.crt").is_symlink());
    let meta = std::fs::metadata(dir.join("runner.key")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let again = params.run(staged.offered()).unwrap();
    assert_eq!(
        (again.changed, again.action),
        (false, InstallAction::Unchanged)
    );
}

#[test]
fn a_pair_renewed_on_the_host_stays_until_it_is_due_or_wrong() {
    let (ca, tmp) = (ca(), tempfile::tempdir().unwrap());
    let dir = tmp.path().join("k8s");
    let staged = pair(&ca, "gitlab-runner:r1", &["gitlab-runners"], 90);
    let mut params = InstallParams::new(&dir, "runner");
    params.run(staged.offered()).unwrap();
    // renew on the host: a new key and certificate in the directory.
    let renewed = pair(&ca, "gitlab-runner:r1", &["gitlab-runners"], 90);
    params
        .install(
            &params.names().unwrap(),
            &renewed.key,
            &renewed.cert,
            &renewed.ca,
        )
        .unwrap();
    let kept = params.run(staged.offered()).unwrap();
    assert_eq!(
        (kept.changed, kept.action),
        (false, InstallAction::Kept),
        "{}",
        kept.note
    );
    assert_eq!(read(&dir, "runner.key"), renewed.key);
    // Dry run of a change writes nothing.
    params.identity = Some(Identity::new("gitlab-runner:r1", ["other"]).unwrap());
    params.dry_run = true;
    let planned = params.run(staged.offered());
    assert!(
        planned.is_err(),
        "the offered pair is not for that identity either"
    );
    // Another identity wanted (the control plane re-issued for new groups).
    let regrouped = pair(&ca, "gitlab-runner:r1", &["gitlab-runners", "arm"], 90);
    params.identity = None;
    let planned = params.run(regrouped.offered()).unwrap();
    assert_eq!(
        (planned.changed, planned.action),
        (true, InstallAction::Installed)
    );
    assert!(planned.note.contains("is for"), "{}", planned.note);
    assert_eq!(read(&dir, "runner.key"), renewed.key);
    params.dry_run = false;
    params.run(regrouped.offered()).unwrap();
    assert_eq!(read(&dir, "runner.crt"), regrouped.cert);
    // Due by the renewal policy (two thirds of 90 days, as renew): the
    // offered pair (only checked to be valid) replaces it.
    let later = pair(&ca, "gitlab-runner:r1", &["gitlab-runners", "arm"], 90);
    params.now = Some(OffsetDateTime::now_utc() + time::Duration::days(61));
    let due = params.run(later.offered()).unwrap();
    assert_eq!(due.action, InstallAction::Installed, "{}", due.note);
    assert!(due.note.contains("due"), "{}", due.note);
}

#[test]
fn a_mismatched_host_pair_or_another_ca_is_replaced_and_a_bad_offer_refused() {
    let (ca, tmp) = (ca(), tempfile::tempdir().unwrap());
    let dir = tmp.path().join("k8s");
    let staged = pair(&ca, "u", &[], 30);
    let other = pair(&ca, "u", &[], 30);
    // Plain files left by an older push: key of one pair, cert of another.
    let files = ClientFiles::in_dir(&dir, "runner").unwrap();
    crate::file::write_atomic(&files.key_file, &other.key, 0o600, false).unwrap();
    crate::file::write_atomic(&files.cert_file, &staged.cert, 0o644, false).unwrap();
    crate::file::write_atomic(&files.ca_file, &staged.ca, 0o644, false).unwrap();
    let params = InstallParams::new(&dir, "runner");
    let fixed = params.run(staged.offered()).unwrap();
    assert_eq!(fixed.action, InstallAction::Installed);
    assert!(fixed.note.contains("does not belong"), "{}", fixed.note);
    assert_eq!(read(&dir, "runner.key"), staged.key);
    // A new CA: the host's pair is not accepted by it any more.
    let ca2 = self::ca();
    let moved = pair(&ca2, "u", &[], 30);
    let r = params.run(moved.offered()).unwrap();
    assert_eq!(r.action, InstallAction::Installed, "{}", r.note);
    assert!(r.note.contains("not accepted"), "{}", r.note);
    // An offer whose key is not the certificate's: refused, nothing written.
    let before = read(&dir, "runner.crt");
    let bad = Pem {
        key: staged.key.clone(),
        cert: other.cert.clone(),
        ca: staged.ca.clone(),
    };
    let e = params.run(bad.offered()).unwrap_err();
    assert!(matches!(e, crate::Error::NotInstallable { .. }), "{e}");
    assert_eq!(e.kind(), crate::ErrorKind::Untrusted);
    assert_eq!(read(&dir, "runner.crt"), before);
}

#[test]
fn an_offered_pair_never_shows_its_key() {
    let key = b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n";
    let pair = OfferedPair {
        key,
        cert: b"CERT",
        ca: b"CA",
    };
    let shown = format!("{pair:?}");
    assert!(
        !shown.contains("MIGHAgEA") && !shown.contains("PRIVATE"),
        "{shown}"
    );
    assert!(shown.contains("CERT") && shown.contains(&format!("<{} bytes", key.len())));
}
