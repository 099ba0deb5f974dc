//! Signing X.509 v3 certificates: client certificates from a CA, and the
//! self-signed CA certificate of `ca init`.

use der::asn1::OctetString;
use time::OffsetDateTime;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;

use std::path::{Path, PathBuf};

use crate::ca::{CA_CERT_FILE, CertificateAuthority};
use crate::cert::Certificate;
use crate::csr::CertificateRequest;
use crate::error::{Error, Result};
use crate::file::{self, Outputs};
use crate::identity::Identity;
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::lifetime::{self, Lifetime};
use crate::oid;
use crate::public_key::{KeyType, PublicKey};
use crate::template::BACKDATE;
use crate::template::{Template, extension};

/// How to issue a client certificate.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct IssueParams {
    /// Validity from now (365 days by default); clamped to the CA's notAfter.
    pub lifetime: Lifetime,
    /// Permit the group `system:masters`.
    pub allow_system_masters: bool,
    /// The time to issue at (now when `None`); for tests and reproducibility.
    pub now: Option<OffsetDateTime>,
}

/// An issued certificate and what was adjusted or is worth knowing.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Issued {
    /// The certificate.
    pub certificate: Certificate,
    /// Set when the requested lifetime went past the CA's notAfter and was
    /// shortened to end with the CA.
    pub clamped_to: Option<OffsetDateTime>,
    /// Advice for the user (long validity, shortened validity).
    pub warnings: Vec<String>,
}

/// The extensions of a Kubernetes client certificate.
fn client_extensions(public_key: &PublicKey, ca: &Certificate) -> Result<Vec<Extension>> {
    let mut usage = KeyUsages::DigitalSignature.into();
    if matches!(public_key.key_type()?, KeyType::Rsa { .. }) {
        usage |= KeyUsages::KeyEncipherment;
    }
    let mut exts = vec![
        extension(true, &KeyUsage(usage))?,
        extension(false, &ExtendedKeyUsage(vec![oid::KP_CLIENT_AUTH]))?,
        extension(
            true,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        )?,
    ];
    if let Some(ski) = ca.subject_key_id() {
        exts.push(extension(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(ski).map_err(|e| Error::der("AKI", e))?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?);
    }
    exts.push(subject_key_id(public_key)?);
    Ok(exts)
}

/// A SubjectKeyIdentifier extension for `public_key`.
fn subject_key_id(public_key: &PublicKey) -> Result<Extension> {
    let id = OctetString::new(public_key.key_identifier()).map_err(|e| Error::der("SKI", e))?;
    extension(false, &SubjectKeyIdentifier(id))
}

impl CertificateAuthority {
    /// Signs a client certificate for the subject and key of `csr`.
    ///
    /// The subject is copied as the CSR has it (CN = user, every O = a
    /// group) after [`CertificateRequest::signable_identity`] accepted it:
    /// a subject the API server could read as another user is refused.
    pub fn sign(&self, csr: &CertificateRequest, params: &IssueParams) -> Result<Issued> {
        csr.signable_identity()?
            .check_system_masters(params.allow_system_masters)?;
        let mut issued = self.sign_subject(csr.subject_name(), &csr.public_key()?, params)?;
        // A client certificate carries the subject only: say what the
        // request asked for that it does not get.
        for extra in csr
            .extras()
            .into_iter()
            .filter(|e| e.starts_with("the attribute"))
        {
            issued.warnings.push(format!(
                "the request asks for {extra} (requested extensions: subjectAltName, basicConstraints, key usages …), which the certificate does not carry: a Kubernetes client certificate is issued with clientAuth and the subject only"
            ));
        }
        Ok(issued)
    }

    /// Signs a client certificate for `identity` and `public_key`.
    pub fn sign_public_key(
        &self,
        identity: &Identity,
        public_key: &PublicKey,
        params: &IssueParams,
    ) -> Result<Issued> {
        identity.check_system_masters(params.allow_system_masters)?;
        self.sign_subject(&identity.to_name()?, public_key, params)
    }

    /// Generates a key and signs a client certificate for it: everything a
    /// runner's `cert_file` and `key_file` need.
    pub fn issue(
        &self,
        identity: &Identity,
        algorithm: KeyAlgorithm,
        params: &IssueParams,
    ) -> Result<(PrivateKey, Issued)> {
        identity.check_system_masters(params.allow_system_masters)?;
        let key = PrivateKey::generate(algorithm)?;
        let issued = self.sign_public_key(identity, key.public_key(), params)?;
        Ok((key, issued))
    }

    fn sign_subject(
        &self,
        subject: &Name,
        public_key: &PublicKey,
        params: &IssueParams,
    ) -> Result<Issued> {
        let key_type = public_key.key_type()?;
        if key_type.is_weak() {
            return Err(Error::WeakKey {
                bits: key_type.bits(),
            });
        }
        let now = params.now.unwrap_or_else(OffsetDateTime::now_utc);
        let ca = self.certificate();
        let mut warnings = Vec::new();
        let requested = params.lifetime.end_from(now)?;
        let clamped_to = (requested > ca.not_after()).then(|| ca.not_after());
        if let Some(end) = clamped_to {
            warnings.push(format!(
                "the requested validity ({}) ends after the CA's notAfter; the certificate ends with the CA on {}",
                params.lifetime,
                lifetime::rfc3339(end)
            ));
        }
        if params.lifetime.as_duration() > Lifetime::days(366).as_duration() {
            warnings.push(format!(
                "validity of {} exceeds one year: a client certificate cannot be revoked in Kubernetes, so keep it short and renew",
                params.lifetime
            ));
        }
        let not_before = (now - BACKDATE).max(ca.not_before());
        let issuer = ca.x509().tbs_certificate().subject();
        let certificate = Template {
            issuer,
            subject,
            public_key,
            not_before,
            not_after: clamped_to.unwrap_or(requested),
            extensions: client_extensions(public_key, ca)?,
        }
        .sign(self.key())?;
        Ok(Issued {
            certificate,
            clamped_to,
            warnings,
        })
    }
}

/// The three files a runner's `[runners.kubernetes]` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientFiles {
    /// `key_file`: the private key, PKCS#8, mode 0600.
    pub key_file: PathBuf,
    /// `cert_file`: the client certificate.
    pub cert_file: PathBuf,
    /// `ca_file`: the cluster CA certificate.
    pub ca_file: PathBuf,
}

impl ClientFiles {
    /// The paths `BASENAME.key`, `BASENAME.crt` and `ca.crt` in `dir`;
    /// BASENAME must be a plain file name (no `/`, not starting with `.`).
    pub fn in_dir(dir: &Path, basename: &str) -> Result<Self> {
        crate::identity::check_name("file name", basename)?;
        if basename == "ca" {
            return Err(Error::InvalidName {
                field: "file name",
                value: basename.to_string(),
                reason: "is reserved: ca.crt and ca.key are the CA's own files".into(),
            });
        }
        if basename.contains('/') || basename.starts_with('.') {
            return Err(Error::InvalidName {
                field: "file name",
                value: basename.to_string(),
                reason: "must be a plain file name: no '/', not starting with '.'".into(),
            });
        }
        Ok(Self {
            key_file: dir.join(format!("{basename}.key")),
            cert_file: dir.join(format!("{basename}.crt")),
            ca_file: dir.join(CA_CERT_FILE),
        })
    }

    /// Refuses two of the three paths that name one file (where they
    /// really land: links and `..` resolved).
    pub fn check_distinct(&self) -> Result<()> {
        let named = [
            ("key_file", &self.key_file),
            ("cert_file", &self.cert_file),
            ("ca_file", &self.ca_file),
        ];
        let real: Vec<PathBuf> = named.iter().map(|(_, p)| file::real_path(p)).collect();
        for (i, (a, pa)) in named.iter().enumerate() {
            for (j, (b, _)) in named.iter().enumerate().skip(i + 1) {
                if real[i] == real[j] {
                    return Err(Error::SamePath {
                        first: a,
                        second: b,
                        path: pa.to_path_buf(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Refuses, before anything is written, when any of the three files
    /// would replace one `ca` was loaded from.
    pub fn check_not_ca(&self, ca: &CertificateAuthority) -> Result<()> {
        for p in [&self.key_file, &self.cert_file, &self.ca_file] {
            ca.check_output(p)?;
        }
        Ok(())
    }

    /// Whether `ca_file` already holds exactly `ca` (several identities
    /// issued into one directory share it).
    fn holds_ca(&self, ca: &Certificate) -> bool {
        Certificate::load(&self.ca_file).is_ok_and(|c| c == *ca)
    }

    /// Refuses, before anything is written, when a file exists that
    /// [`ClientFiles::write`] would have to replace without `overwrite`.
    pub fn check_free(&self, ca: &Certificate, overwrite: bool) -> Result<()> {
        if overwrite {
            return Ok(());
        }
        for p in [&self.key_file, &self.cert_file] {
            if std::fs::symlink_metadata(p).is_ok() {
                return Err(Error::Exists { path: p.clone() });
            }
        }
        if std::fs::symlink_metadata(&self.ca_file).is_ok() && !self.holds_ca(ca) {
            return Err(Error::Exists {
                path: self.ca_file.clone(),
            });
        }
        Ok(())
    }

    /// The directory all three files are in, when they are in one.
    pub(crate) fn one_dir(&self) -> Option<PathBuf> {
        let dir = |p: &Path| {
            p.parent()
                .map(|d| {
                    if d.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        d
                    }
                })
                .map(Path::to_path_buf)
        };
        let d = dir(&self.key_file)?;
        (dir(&self.cert_file)? == d && dir(&self.ca_file)? == d).then_some(d)
    }

    /// Writes key, certificate and CA certificate, all or nothing; refuses
    /// to replace an existing file unless `overwrite` (an identical
    /// `ca_file` is left as it is). A missing key directory is created
    /// with mode 0700.
    ///
    /// Replacing a pair (`overwrite` with a key or certificate in place)
    /// switches the three files as one unit through a credential directory
    /// (see `credential_dir.rs`): a process killed at any instant leaves
    /// the old pair or the new one. Three files in different directories
    /// cannot switch as one and are not replaced.
    pub fn write(
        &self,
        key: &PrivateKey,
        cert: &Certificate,
        ca: &Certificate,
        overwrite: bool,
    ) -> Result<()> {
        self.write_chain(key, std::slice::from_ref(cert), ca, overwrite)
    }

    /// [`ClientFiles::write`] for a certificate `issuer` issued: with an
    /// intermediate CA, cert_file holds the leaf and the chain above it
    /// (as the client sends it) and ca_file the root the API server trusts.
    pub fn write_issued(
        &self,
        key: &PrivateKey,
        cert: &Certificate,
        issuer: &CertificateAuthority,
        overwrite: bool,
    ) -> Result<()> {
        let (chain, root) = issuer.client_chain()?;
        let mut certs = vec![cert.clone()];
        certs.extend(chain);
        self.write_chain(key, &certs, &root, overwrite)
    }

    fn write_chain(
        &self,
        key: &PrivateKey,
        certs: &[Certificate],
        ca: &Certificate,
        overwrite: bool,
    ) -> Result<()> {
        // Paths given as a struct literal are judged as in_dir's are: one
        // file for two roles would lose the key.
        self.check_distinct()?;
        let cert_pem: String = certs.iter().map(Certificate::to_pem).collect();
        self.check_free(ca, overwrite)?;
        if let Some(dir) = self.key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
            file::create_dirs(dir, file::PRIVATE_DIR)?;
        }
        let replacing = [&self.key_file, &self.cert_file]
            .iter()
            .any(|p| std::fs::symlink_metadata(p).is_ok());
        if overwrite && replacing {
            let Some(dir) = self.one_dir() else {
                return Err(Error::InvalidArgument(format!(
                    "{} and {} exist and are not in one directory with {}: a pair is replaced only as one unit, which needs the key, certificate and CA certificate in one directory",
                    self.key_file.display(),
                    self.cert_file.display(),
                    self.ca_file.display()
                )));
            };
            let name = |p: &Path| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            return crate::credential_dir::CredentialDir::new(&dir).install(&[
                crate::credential_dir::CredentialFile {
                    name: name(&self.key_file),
                    content: zeroize::Zeroizing::new(key.to_pem().as_bytes().to_vec()),
                    mode: file::PRIVATE,
                },
                crate::credential_dir::CredentialFile {
                    name: name(&self.cert_file),
                    content: zeroize::Zeroizing::new(cert_pem.clone().into_bytes()),
                    mode: file::PUBLIC,
                },
                crate::credential_dir::CredentialFile {
                    name: name(&self.ca_file),
                    content: zeroize::Zeroizing::new(ca.to_pem().into_bytes()),
                    mode: file::PUBLIC,
                },
            ]);
        }
        let mut out = Outputs::new();
        // First, so that a different CA file stops the commit before the
        // key and certificate are placed; several identities (and
        // concurrent runs) share an identical ca.crt.
        if overwrite {
            if !self.holds_ca(ca) {
                out.add(&self.ca_file, ca.to_pem().as_bytes(), file::PUBLIC, true)?;
            }
        } else {
            out.add_shared(&self.ca_file, ca.to_pem().as_bytes(), file::PUBLIC)?;
        }
        out.add(
            &self.key_file,
            key.to_pem().as_bytes(),
            file::PRIVATE,
            overwrite,
        )?;
        out.add(
            &self.cert_file,
            cert_pem.as_bytes(),
            file::PUBLIC,
            overwrite,
        )?;
        out.commit().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::CaParams;
    use der::Encode;

    #[test]
    fn issuer_is_byte_identical_to_ca_subject() {
        let ca = CertificateAuthority::generate(&CaParams::default()).unwrap();
        let who = Identity::new("gitlab-admin", ["a", "b"]).unwrap();
        let (_, issued) = ca
            .issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())
            .unwrap();
        let issuer = issued
            .certificate
            .x509()
            .tbs_certificate()
            .issuer()
            .to_der()
            .unwrap();
        let subject = ca.certificate().subject_der().unwrap();
        assert_eq!(issuer, subject);
        let raw = ca.certificate().to_der();
        assert!(raw.windows(subject.len()).any(|w| w == subject.as_slice()));
        assert_eq!(issued.certificate.identity().unwrap(), who);
    }

    #[test]
    fn one_file_for_two_roles_is_refused_before_anything_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::generate(&CaParams::default()).unwrap();
        let who = Identity::new("gitlab-admin", ["a"]).unwrap();
        let (key, issued) = ca
            .issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())
            .unwrap();
        let same = tmp.path().join("pair.pem");
        let files = ClientFiles {
            key_file: same.clone(),
            cert_file: same.clone(),
            ca_file: tmp.path().join("ca.crt"),
        };
        for overwrite in [false, true] {
            let err = files
                .write(&key, &issued.certificate, ca.certificate(), overwrite)
                .unwrap_err();
            assert!(matches!(err, Error::SamePath { .. }), "{err:?}");
        }
        assert!(!same.exists() && !files.ca_file.exists());
    }

    #[test]
    fn clamps_to_ca_not_after() {
        let ca = CertificateAuthority::generate(&CaParams {
            lifetime: Lifetime::days(10),
            algorithm: KeyAlgorithm::EcdsaP256,
            ..CaParams::default()
        })
        .unwrap();
        let who = Identity::new("u", Vec::<String>::new()).unwrap();
        let (_, issued) = ca
            .issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())
            .unwrap();
        assert_eq!(issued.clamped_to, Some(ca.certificate().not_after()));
        assert_eq!(issued.certificate.not_after(), ca.certificate().not_after());
        assert!(!issued.warnings.is_empty());
    }
}
