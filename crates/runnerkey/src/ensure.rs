//! Ensure a runner's client files: keep a key and certificate that are
//! still good, (re-)issue what is missing, wrong or about to expire, and
//! change nothing otherwise. What `issue --keep-valid`, Python
//! `CertificateAuthority.ensure` and the Ansible module `client_cert` run.

use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;

use crate::CertificateAuthority;
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::file;
use crate::identity::Identity;
use crate::issue::{ClientFiles, IssueParams};
use crate::keep_or_issue::keep_or_issue;
use crate::key::KeyAlgorithm;
use crate::lifetime::Lifetime;
use crate::plan::{FileAction, FileChange, Plan};
use crate::renewal::RenewalPolicy;

/// How to ensure a runner's key, certificate and CA certificate.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EnsureParams {
    /// The identity the certificate must carry.
    pub identity: Identity,
    /// Algorithm of a new key (an existing key is kept unless `force`).
    pub algorithm: KeyAlgorithm,
    /// Validity of a new certificate.
    pub lifetime: Lifetime,
    /// When a kept certificate is due and re-issued: the policy `renew`
    /// renews by (default: after two thirds of its lifetime, less a
    /// jitter fixed per certificate; `before`: also within that of the
    /// end).
    pub renewal: RenewalPolicy,
    /// New key and certificate even when the existing ones are fine.
    pub force: bool,
    /// Plan only: write nothing.
    pub dry_run: bool,
    /// Permit the group `system:masters` and the other privileged groups.
    pub allow_system_masters: bool,
    /// The time to decide and issue at (now when `None`).
    pub now: Option<OffsetDateTime>,
}

impl EnsureParams {
    /// Defaults for `identity`: ECDSA P-256, 365 days, renewed by
    /// [`RenewalPolicy::default`] (as `renew`).
    pub fn new(identity: Identity) -> Self {
        Self {
            identity,
            algorithm: KeyAlgorithm::EcdsaP256,
            lifetime: Lifetime::default(),
            renewal: RenewalPolicy::default(),
            force: false,
            dry_run: false,
            allow_system_masters: false,
            now: None,
        }
    }

    /// Ensures `files`: keeps an existing key (unless `force`), keeps its
    /// certificate when it belongs to the key, carries the identity, is
    /// accepted by `ca` and is not due by `renewal`, and
    /// otherwise signs a new one; copies the CA certificate when it
    /// differs. Missing directories are created (the key's 0700); a kept
    /// key that others can read is set to 0600. Everything is prepared
    /// before the first write, and the files are replaced atomically.
    pub fn run(&self, ca: &CertificateAuthority, files: &ClientFiles) -> Result<EnsureReport> {
        files.check_not_ca(ca)?;
        files.check_distinct()?;
        // Another run making the same files at the same moment: what it
        // wrote first is on disk now; plan again against it (and keep it
        // when it is good).
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.run_once(ca, files) {
                Err(Error::Exists { .. }) if attempts < 3 && !self.dry_run => continue,
                other => return other,
            }
        }
    }

    fn run_once(&self, ca: &CertificateAuthority, files: &ClientFiles) -> Result<EnsureReport> {
        let now = self.now.unwrap_or_else(OffsetDateTime::now_utc);
        let parent = |p: &Path| {
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf()
        };
        if !self.dry_run {
            for p in [&files.key_file, &files.cert_file, &files.ca_file] {
                file::remove_stale_temps_once(&parent(p));
            }
        }
        let mut plan = Plan::new(self.dry_run);
        const PURPOSE: &str = "key_file: the runner's private key";
        let key = match plan.key(&files.key_file, self.algorithm, self.force, true, PURPOSE) {
            // An empty or damaged key file (no key in it) is replaced like
            // a key that does not belong to its certificate; an encrypted
            // or unreadable one is not.
            Err(e) if !self.force && e.kind() == crate::error::ErrorKind::Malformed => {
                plan.key(&files.key_file, self.algorithm, true, true, PURPOSE)?
            }
            other => other?,
        };
        if key.matches(&ca.certificate().public_key()) {
            return Err(Error::CaKeyAsRunnerKey {
                path: files.key_file.clone(),
                ca: ca.certificate().subject(),
            });
        }
        let decided = keep_or_issue(
            ca,
            &self.identity,
            &key,
            &files.cert_file,
            &self.renewal,
            self.force,
            &IssueParams {
                lifetime: self.lifetime,
                allow_system_masters: self.allow_system_masters,
                now: Some(now),
            },
            now,
        )?;
        // With an intermediate CA: the leaf and the chain above it in
        // cert_file, the root the API server trusts in ca_file.
        let (chain, root) = ca.client_chain()?;
        let mut certs = vec![decided.certificate.clone()];
        certs.extend(chain);
        plan.add_certificates(
            &files.cert_file,
            &certs,
            "cert_file: the runner's client certificate",
        )?;
        plan.add_certificate(&files.ca_file, &root, "ca_file: the cluster CA")?;
        plan.share(&files.ca_file);
        if !self.dry_run {
            // The key's directory first, 0700, even when the certificates
            // share it.
            file::create_dirs(&parent(&files.key_file), file::PRIVATE_DIR)?;
            for p in [&files.cert_file, &files.ca_file] {
                file::create_dirs(&parent(p), file::PUBLIC_DIR)?;
            }
            // A pair replaced in place switches as one unit (key,
            // certificate and CA certificate in a credential directory): a
            // kill at any instant leaves the old pair or the new one.
            let updated = |p: &Path| {
                plan.actions
                    .iter()
                    .any(|a| a.path == p && a.action == FileChange::Updated)
            };
            let credentials = match files.one_dir() {
                Some(_) if updated(&files.key_file) || updated(&files.cert_file) => {
                    plan.take_credentials(&[&files.key_file, &files.cert_file, &files.ca_file])?
                }
                None if updated(&files.key_file) && updated(&files.cert_file) => {
                    return Err(Error::InvalidArgument(format!(
                        "{} and {} would both be replaced but are not in one directory with {}: a pair is replaced only as one unit",
                        files.key_file.display(),
                        files.cert_file.display(),
                        files.ca_file.display()
                    )));
                }
                _ => None,
            };
            if let (Some(credentials), Some(dir)) = (&credentials, files.one_dir()) {
                crate::credential_dir::CredentialDir::new(&dir).install(credentials)?;
            }
            let (outputs, _) = plan.stage(&parent(&files.key_file))?;
            outputs.commit()?;
            plan.fix_modes()?;
        }
        let mut warnings = decided.warnings;
        if let Some(before) = self.renewal.before
            && before >= self.lifetime.as_duration()
        {
            warnings.push(format!(
                "the renewal window ({}) is not shorter than the validity ({}): every run re-issues",
                Lifetime::from_duration(before),
                self.lifetime
            ));
        }
        let changed = plan
            .actions
            .iter()
            .any(|a| a.action != FileChange::Unchanged);
        Ok(EnsureReport {
            changed,
            dry_run: self.dry_run,
            files: plan.actions,
            issued: decided.issued,
            subject: decided.certificate.subject(),
            not_after: decided.certificate.not_after(),
            note: decided.note,
            warnings,
            certificate: decided.certificate,
        })
    }
}

/// What [`EnsureParams::run`] did (or, in a dry run, would do).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct EnsureReport {
    /// Whether any file was (or would be) written or its mode changed.
    pub changed: bool,
    /// A dry run: nothing was written.
    pub dry_run: bool,
    /// Key, certificate and CA certificate, with what happened to each.
    pub files: Vec<FileAction>,
    /// Whether a new certificate was (or would be) issued.
    pub issued: bool,
    /// The certificate's subject.
    pub subject: String,
    /// The certificate's notAfter (RFC 3339 on the wire).
    #[serde(with = "crate::lifetime::serde_rfc3339")]
    pub not_after: OffsetDateTime,
    /// Why the certificate was kept or issued.
    pub note: String,
    /// Advice from issuing (long validity, clamped to the CA).
    pub warnings: Vec<String>,
    /// The certificate the files hold (or would hold).
    #[serde(skip)]
    pub certificate: Certificate,
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    use super::*;
    use crate::CaParams;

    fn ca() -> CertificateAuthority {
        CertificateAuthority::generate(&CaParams {
            algorithm: KeyAlgorithm::EcdsaP256,
            ..CaParams::default()
        })
        .unwrap()
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn actions(r: &EnsureReport) -> Vec<&str> {
        r.files.iter().map(|f| f.action.as_str()).collect()
    }

    #[test]
    fn creates_then_changes_nothing() {
        let (ca, tmp) = (ca(), tempfile::tempdir().unwrap());
        let files = ClientFiles::in_dir(&tmp.path().join("new/ssl"), "runner").unwrap();
        let params = EnsureParams::new(Identity::new("runner", ["ci"]).unwrap());
        let first = params.run(&ca, &files).unwrap();
        assert!(first.changed && first.issued);
        assert_eq!(actions(&first), ["created", "created", "created"]);
        assert_eq!(mode(&files.key_file), 0o600);
        assert_eq!(mode(files.key_file.parent().unwrap()), 0o700);
        let before = std::fs::read(&files.cert_file).unwrap();
        let second = params.run(&ca, &files).unwrap();
        assert!(!second.changed && !second.issued, "{second:?}");
        assert_eq!(actions(&second), ["unchanged", "unchanged", "unchanged"]);
        assert_eq!(std::fs::read(&files.cert_file).unwrap(), before);
    }

    #[test]
    fn an_empty_or_damaged_key_is_replaced_an_encrypted_one_is_not() {
        let (ca, tmp) = (ca(), tempfile::tempdir().unwrap());
        let files = ClientFiles::in_dir(tmp.path(), "runner").unwrap();
        let params = EnsureParams::new(Identity::new("runner", ["ci"]).unwrap());
        params.run(&ca, &files).unwrap();
        for damaged in ["", "-----BEGIN PRIVATE KEY-----\ntruncated"] {
            std::fs::write(&files.key_file, damaged).unwrap();
            let again = params.run(&ca, &files).unwrap();
            assert!(again.issued, "{again:?}");
            let key = crate::key::PrivateKey::load(&files.key_file, None).unwrap();
            assert!(key.matches(&Certificate::load(&files.cert_file).unwrap().public_key()));
            assert_eq!(mode(&files.key_file), 0o600);
        }
        let encrypted = include_str!("../../../tests/fixtures/pki/rsa-pkcs8-encrypted.key.pem");
        std::fs::write(&files.key_file, encrypted).unwrap();
        assert!(params.run(&ca, &files).is_err());
        assert_eq!(std::fs::read_to_string(&files.key_file).unwrap(), encrypted);
    }

    #[test]
    fn reissues_for_another_identity_and_keeps_the_key() {
        let (ca, tmp) = (ca(), tempfile::tempdir().unwrap());
        let files = ClientFiles::in_dir(tmp.path(), "runner").unwrap();
        EnsureParams::new(Identity::new("runner", ["a"]).unwrap())
            .run(&ca, &files)
            .unwrap();
        let key = std::fs::read(&files.key_file).unwrap();
        let other = EnsureParams::new(Identity::new("runner", ["b"]).unwrap())
            .run(&ca, &files)
            .unwrap();
        assert!(
            other.issued && other.note.contains("is for"),
            "{}",
            other.note
        );
        assert_eq!(actions(&other), ["unchanged", "updated", "unchanged"]);
        assert_eq!(std::fs::read(&files.key_file).unwrap(), key);
        assert_eq!(
            Certificate::load(&files.cert_file)
                .unwrap()
                .identity()
                .unwrap(),
            Identity::new("runner", ["b"]).unwrap()
        );
    }

    #[test]
    fn renews_by_the_renewal_policy_and_force_makes_a_new_key() {
        let (ca, tmp) = (ca(), tempfile::tempdir().unwrap());
        let files = ClientFiles::in_dir(tmp.path(), "runner").unwrap();
        let mut params = EnsureParams::new(Identity::new("runner", ["a"]).unwrap());
        params.lifetime = Lifetime::days(30);
        let start = OffsetDateTime::now_utc();
        params.now = Some(start);
        params.run(&ca, &files).unwrap();
        let cert = std::fs::read(&files.cert_file).unwrap();
        // A 30-day certificate from a daily timer: kept until renew would
        // renew it (about two thirds of its life), not re-issued each day.
        let day = |n: i64| Some(start + time::Duration::days(n));
        for n in 1..=18 {
            params.now = day(n);
            let kept = params.run(&ca, &files).unwrap();
            assert!(!kept.changed && !kept.issued, "day {n}: {}", kept.note);
        }
        assert_eq!(std::fs::read(&files.cert_file).unwrap(), cert);
        params.now = day(20);
        let renewed = params.run(&ca, &files).unwrap();
        assert!(renewed.issued, "{}", renewed.note);
        assert!(renewed.note.contains("renewal window"), "{}", renewed.note);
        // A window before the end, as renew's --renew-before.
        params.now = day(21);
        params.renewal.before = Some(Duration::from_secs(29 * 86_400));
        assert!(params.run(&ca, &files).unwrap().issued);
        params.renewal.before = Some(Duration::from_secs(86_400));
        assert!(!params.run(&ca, &files).unwrap().changed);
        let key = std::fs::read(&files.key_file).unwrap();
        params.force = true;
        let forced = params.run(&ca, &files).unwrap();
        assert_eq!(forced.note, "issued (forced)");
        assert_ne!(std::fs::read(&files.key_file).unwrap(), key);
        assert_eq!(mode(&files.key_file), 0o600);
    }

    #[test]
    fn dry_run_writes_nothing_and_a_readable_key_is_tightened() {
        let (ca, tmp) = (ca(), tempfile::tempdir().unwrap());
        let files = ClientFiles::in_dir(&tmp.path().join("d"), "runner").unwrap();
        let mut params = EnsureParams::new(Identity::new("runner", ["a"]).unwrap());
        params.dry_run = true;
        let plan = params.run(&ca, &files).unwrap();
        assert!(plan.changed);
        assert!(!tmp.path().join("d").exists());
        params.dry_run = false;
        params.run(&ca, &files).unwrap();
        std::fs::set_permissions(&files.key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let fixed = params.run(&ca, &files).unwrap();
        assert!(fixed.changed && !fixed.issued);
        assert_eq!(fixed.files[0].action, FileChange::ModeSetTo600);
        assert_eq!(mode(&files.key_file), 0o600);
    }

    #[test]
    fn refuses_to_replace_the_cas_own_files() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = ca();
        ca.write_kubeadm(tmp.path(), false).unwrap();
        let ca = CertificateAuthority::load_dir(tmp.path(), None).unwrap();
        let files = ClientFiles {
            key_file: tmp.path().join("ca.key"),
            cert_file: tmp.path().join("r.crt"),
            ca_file: tmp.path().join("ca.crt"),
        };
        let err = EnsureParams::new(Identity::new("r", Vec::<String>::new()).unwrap())
            .run(&ca, &files)
            .unwrap_err();
        assert!(matches!(err, crate::Error::WouldReplaceCa { .. }), "{err}");
    }

    #[test]
    fn the_three_paths_must_differ_and_the_cas_key_is_refused() {
        let (ca, tmp) = (ca(), tempfile::tempdir().unwrap());
        let params = EnsureParams::new(Identity::new("r", ["g"]).unwrap());
        let files = ClientFiles::in_dir(tmp.path(), "r").unwrap();
        params.run(&ca, &files).unwrap();
        let key = std::fs::read(&files.key_file).unwrap();
        let same = ClientFiles {
            ca_file: files.key_file.clone(),
            ..files.clone()
        };
        let err = params.run(&ca, &same).unwrap_err();
        assert!(matches!(err, Error::SamePath { .. }), "{err}");
        assert_eq!(std::fs::read(&files.key_file).unwrap(), key);
        // A copy of the CA's key is not a runner key.
        std::fs::write(&files.key_file, ca.key().to_pem()).unwrap();
        let err = params.run(&ca, &files).unwrap_err();
        assert!(matches!(err, Error::CaKeyAsRunnerKey { .. }), "{err}");
        // A directory where the certificate goes: named, nothing replaced.
        let dir_cert = ClientFiles::in_dir(&tmp.path().join("d"), "r").unwrap();
        std::fs::create_dir_all(&dir_cert.cert_file).unwrap();
        let err = params.run(&ca, &dir_cert).unwrap_err();
        assert!(
            err.chain().contains("not a regular file"),
            "{}",
            err.chain()
        );
    }

    #[test]
    fn concurrent_runs_on_the_same_files_all_succeed() {
        let (ca, tmp) = (ca(), tempfile::tempdir().unwrap());
        let files = ClientFiles::in_dir(&tmp.path().join("c"), "r").unwrap();
        let params = EnsureParams::new(Identity::new("r", ["g"]).unwrap());
        std::thread::scope(|s| {
            let runs: Vec<_> = (0..8)
                .map(|_| s.spawn(|| params.run(&ca, &files)))
                .collect();
            for r in runs {
                r.join().unwrap().unwrap();
            }
        });
        let cert = Certificate::load(&files.cert_file).unwrap();
        let key = crate::PrivateKey::load(&files.key_file, None).unwrap();
        assert!(key.matches(&cert.public_key()));
        assert!(!params.run(&ca, &files).unwrap().changed);
    }

    #[test]
    fn groups_in_another_order_are_the_same_identity() {
        let (ca, tmp) = (ca(), tempfile::tempdir().unwrap());
        let files = ClientFiles::in_dir(tmp.path(), "r").unwrap();
        EnsureParams::new(Identity::new("r", ["a", "b"]).unwrap())
            .run(&ca, &files)
            .unwrap();
        let again = EnsureParams::new(Identity::new("r", ["b", "a"]).unwrap())
            .run(&ca, &files)
            .unwrap();
        assert!(!again.changed, "{}", again.note);
    }
}
