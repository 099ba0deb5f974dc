//! The issuing CA: loading and checking it, or making a throwaway one the
//! way kubeadm does.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::file::{self, Outputs};
use crate::identity::Identity;
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::lifetime::Lifetime;
use crate::public_key::KeyType;
use crate::secret::Passphrase;
use crate::template::{BACKDATE, random_serial_bytes};

/// The file names kubeadm uses in `/etc/kubernetes/pki`.
pub const CA_CERT_FILE: &str = "ca.crt";
/// See [`CA_CERT_FILE`].
pub const CA_KEY_FILE: &str = "ca.key";

/// How to make a new CA (`runnerkey ca init`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CaParams {
    /// Subject CN; kubeadm uses `kubernetes`.
    pub common_name: String,
    /// Key algorithm; kubeadm uses RSA-2048.
    pub algorithm: KeyAlgorithm,
    /// Validity; kubeadm uses 10 years.
    pub lifetime: Lifetime,
}

impl Default for CaParams {
    fn default() -> Self {
        Self {
            common_name: "kubernetes".into(),
            algorithm: KeyAlgorithm::Rsa2048,
            lifetime: Lifetime::days(3650),
        }
    }
}

/// A CA certificate with its private key, checked to belong together, to be
/// a CA, and to be valid now.
#[derive(Debug)]
pub struct CertificateAuthority {
    cert: Certificate,
    /// The certificates after it in its file: the chain up to the root
    /// when it is an intermediate CA.
    chain: Vec<Certificate>,
    key: PrivateKey,
    warnings: Vec<String>,
    /// The files it was loaded from, which no output may replace.
    sources: Vec<Source>,
}

/// A file a CA was loaded from, resolved once (a batch checks thousands of
/// outputs against it).
#[derive(Clone, Debug)]
struct Source {
    path: PathBuf,
    absolute: PathBuf,
    resolved: PathBuf,
    inode: Option<(u64, u64)>,
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn inode(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

impl Source {
    fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            absolute: absolute(path),
            resolved: file::real_path(path),
            inode: inode(path),
        }
    }
}

/// Trusted CA certificates (no keys) from a PEM bundle or, when the file
/// holds no PEM at all, from a kubeconfig's clusters
/// (`certificate-authority-data`), such as an admin's `~/.kube/config`
/// (with the `kubeconfig` feature; without it, a file without PEM is
/// refused as a PEM bundle without certificates).
pub fn load_certificates(path: &Path) -> Result<Vec<Certificate>> {
    let data = file::read(path)?;
    #[cfg(feature = "kubeconfig")]
    if !data.windows(11).any(|w| w == b"-----BEGIN ") {
        return kubeconfig_cas(path, &data);
    }
    Certificate::all_from_pem(&data).map_err(|e| e.in_file(path))
}

/// The CA certificates of a kubeconfig's clusters.
#[cfg(feature = "kubeconfig")]
fn kubeconfig_cas(path: &Path, data: &[u8]) -> Result<Vec<Certificate>> {
    let config =
        crate::kubeconfig::Kubeconfig::parse(&String::from_utf8_lossy(data)).map_err(|_| {
            Error::WrongPemBlock {
                expected: "CA certificate (PEM, or a kubeconfig)",
                found: "neither PEM nor a kubeconfig".into(),
            }
            .in_file(path)
        })?;
    config.cluster_cas().map_err(|e| e.in_file(path))
}

impl CertificateAuthority {
    /// Pairs a certificate and key after checking, in this order, that the
    /// certificate is a CA, that the key matches it, and that it is valid at
    /// `now` (the current time when `None`).
    pub fn new(cert: Certificate, key: PrivateKey, now: Option<OffsetDateTime>) -> Result<Self> {
        if !cert.is_ca() {
            let why = match cert.basic_constraints_ca() {
                Some(false) => "basicConstraints says CA:FALSE",
                _ => "it is an X.509 v3 certificate without basicConstraints CA:TRUE",
            };
            return Err(Error::NotACa {
                subject: cert.subject(),
                reason: why,
            });
        }
        if let Some(ku) = cert.key_usage()
            && !ku.contains(&"keyCertSign")
        {
            return Err(Error::NotACa {
                subject: cert.subject(),
                reason: "its keyUsage lacks keyCertSign",
            });
        }
        if !key.matches(&cert.public_key()) {
            return Err(Error::KeyMismatch {
                certificate: format!("the CA certificate {}", cert.subject()),
            });
        }
        let now = now.unwrap_or_else(OffsetDateTime::now_utc);
        if now > cert.not_after() {
            return Err(Error::CaNotValid {
                subject: cert.subject(),
                expired: true,
                at: cert.not_after(),
            });
        }
        if now < cert.not_before() {
            return Err(Error::CaNotValid {
                subject: cert.subject(),
                expired: false,
                at: cert.not_before(),
            });
        }
        // A weak RSA key was already refused when it was read.
        let warnings = Vec::new();
        Ok(Self {
            cert,
            chain: Vec::new(),
            key,
            warnings,
            sources: Vec::new(),
        })
    }

    /// From PEM text of the certificate (for an intermediate CA, followed
    /// by the chain up to its root) and the key.
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        passphrase: Option<&Passphrase>,
    ) -> Result<Self> {
        let mut all = Certificate::all_from_pem(cert_pem)?;
        let cert = all.remove(0);
        let key = PrivateKey::from_pem(key_pem, passphrase)?;
        let mut ca = Self::new(cert, key, None)?;
        ca.chain = all;
        Ok(ca)
    }

    /// What a client certificate this CA issues needs around it: the
    /// certificates the client sends after its own (for an intermediate CA,
    /// the CA itself and the intermediates above it, as Go's TLS client
    /// sends cert_file's chain and kube-apiserver verifies with it), and
    /// the root the API server trusts (`--client-ca-file`), for ca_file.
    /// A self-signed CA needs nothing but itself. An intermediate whose
    /// chain up to a root was not given is refused, with the fix.
    pub fn client_chain(&self) -> Result<(Vec<Certificate>, Certificate)> {
        let self_issued = |c: &Certificate| {
            c.issuer() == c.subject() && c.verify_signature(&c.public_key()).is_ok()
        };
        if self_issued(&self.cert) {
            return Ok((Vec::new(), self.cert.clone()));
        }
        let mut intermediates = vec![self.cert.clone()];
        let mut current = &self.cert;
        while intermediates.len() <= 8 {
            let Some(parent) = self.chain.iter().find(|c| {
                c.subject() == current.issuer() && current.verify_signature(&c.public_key()).is_ok()
            }) else {
                return Err(Error::IncompleteChain {
                    ca: current.subject(),
                    issuer: current.issuer(),
                });
            };
            if self_issued(parent) {
                return Ok((intermediates, parent.clone()));
            }
            intermediates.push(parent.clone());
            current = parent;
        }
        Err(Error::ChainTooLong {
            ca: self.cert.subject(),
            max: 8,
        })
    }

    /// Loads `ca.crt` and `ca.key` files; errors name the file at fault.
    /// Warns when the key file is readable by group or others.
    pub fn load(
        cert_path: &Path,
        key_path: &Path,
        passphrase: Option<&Passphrase>,
    ) -> Result<Self> {
        let mut all = Certificate::load_all(cert_path)?;
        let cert = all.remove(0);
        let key = PrivateKey::load(key_path, passphrase)?;
        let mut ca = Self::new(cert, key, None).map_err(|e| match e {
            Error::KeyMismatch { .. } => Error::KeyMismatch {
                certificate: format!("the CA certificate {}", cert_path.display()),
            }
            .in_file(key_path),
            other => other.in_file(cert_path),
        })?;
        ca.sources = vec![Source::new(cert_path), Source::new(key_path)];
        ca.chain = all;
        if let Ok(meta) = std::fs::metadata(key_path)
            && meta.mode() & 0o077 != 0
        {
            ca.warnings.push(format!(
                "{} is readable by group or others (mode {:o}): chmod 600 it",
                key_path.display(),
                meta.mode() & 0o777
            ));
        }
        Ok(ca)
    }

    /// The key file this CA was loaded from (absolute), when it was loaded
    /// from files.
    pub fn key_path(&self) -> Option<&Path> {
        self.sources.get(1).map(|s| s.absolute.as_path())
    }

    /// Loads `ca.crt` and `ca.key` from a directory such as `/etc/kubernetes/pki`.
    pub fn load_dir(dir: &Path, passphrase: Option<&Passphrase>) -> Result<Self> {
        Self::load(&dir.join(CA_CERT_FILE), &dir.join(CA_KEY_FILE), passphrase)
    }

    /// Refuses an output `path` that is one of the files this CA was loaded
    /// from — by name, through symbolic links, or as a hard link to the same
    /// inode — so that no command can replace the cluster CA's key or
    /// certificate. Call it for every output before writing anything.
    pub fn check_output(&self, path: &Path) -> Result<()> {
        if self.sources.is_empty() {
            return Ok(());
        }
        let (abs, res, ino) = (absolute(path), file::real_path(path), inode(path));
        for source in &self.sources {
            let same = abs == source.absolute
                || res == source.resolved
                || ino.is_some_and(|i| Some(i) == source.inode);
            if same {
                return Err(Error::WouldReplaceCa {
                    path: path.to_path_buf(),
                    ca_file: source.path.clone(),
                });
            }
        }
        Ok(())
    }

    /// Makes a new self-signed CA like kubeadm's, with rcgen: CN=kubernetes,
    /// CA:TRUE, keyUsage digitalSignature, keyEncipherment, keyCertSign
    /// (critical), SAN `DNS:<cn>`, subject key identifier, random serial.
    pub fn generate(params: &CaParams) -> Result<Self> {
        use rcgen::{BasicConstraints, DnType, IsCa, KeyUsagePurpose, SerialNumber};
        crate::identity::check_name("CA common name", &params.common_name)?;
        let identity = Identity::new(params.common_name.clone(), Vec::<String>::new())?;
        let key = PrivateKey::generate(params.algorithm)?;
        let sign_alg = match key.key_type() {
            KeyType::Rsa { .. } => &rcgen::PKCS_RSA_SHA256,
            KeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
            _ => &rcgen::PKCS_ECDSA_P256_SHA256,
        };
        let pkcs8 = key.to_der();
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(&pkcs8[..]);
        let rcgen_err = |e: rcgen::Error| Error::Crypto(format!("rcgen: {e}"));
        let pair =
            rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, sign_alg).map_err(rcgen_err)?;
        let mut cert =
            rcgen::CertificateParams::new(vec![identity.user().to_string()]).map_err(rcgen_err)?;
        cert.distinguished_name = rcgen::DistinguishedName::new();
        cert.distinguished_name
            .push(DnType::CommonName, identity.user());
        cert.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        cert.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
        ];
        let now = OffsetDateTime::now_utc();
        cert.not_before = now - BACKDATE;
        cert.not_after = params.lifetime.end_from(now)?;
        cert.serial_number = Some(SerialNumber::from_slice(&random_serial_bytes()?));
        let signed = cert.self_signed(&pair).map_err(rcgen_err)?;
        Self::new(Certificate::from_der(signed.der())?, key, Some(now))
    }

    /// Writes `ca.crt` (0644) and `ca.key` (0600, PKCS#1 or SEC1 as kubeadm
    /// writes them) into `dir` (created if missing), all or nothing.
    pub fn write_kubeadm(&self, dir: &Path, overwrite: bool) -> Result<Vec<PathBuf>> {
        file::create_dirs(dir, file::PRIVATE_DIR)?;
        let mut out = Outputs::new();
        out.add(
            &dir.join(CA_KEY_FILE),
            self.key.to_traditional_pem()?.as_bytes(),
            file::PRIVATE,
            overwrite,
        )?;
        out.add(
            &dir.join(CA_CERT_FILE),
            self.cert.to_pem().as_bytes(),
            file::PUBLIC,
            overwrite,
        )?;
        out.commit()
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The CA private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// Advice found while loading (e.g. a key file readable by others).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_cannot_be_the_cas_files_by_any_path() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        let ca = CertificateAuthority::generate(&CaParams {
            algorithm: KeyAlgorithm::EcdsaP256,
            ..CaParams::default()
        })
        .unwrap();
        ca.write_kubeadm(&pki, false).unwrap();
        let loaded = CertificateAuthority::load_dir(&pki, None).unwrap();
        assert!(matches!(
            loaded.check_output(&pki.join("ca.key")),
            Err(crate::Error::WouldReplaceCa { .. })
        ));
        assert!(matches!(
            loaded.check_output(&pki.join("../pki/ca.crt")),
            Err(crate::Error::WouldReplaceCa { .. })
        ));
        std::os::unix::fs::symlink(pki.join("ca.key"), dir.path().join("link")).unwrap();
        assert!(matches!(
            loaded.check_output(&dir.path().join("link")),
            Err(crate::Error::WouldReplaceCa { .. })
        ));
        std::fs::hard_link(pki.join("ca.key"), dir.path().join("hard")).unwrap();
        assert!(matches!(
            loaded.check_output(&dir.path().join("hard")),
            Err(crate::Error::WouldReplaceCa { .. })
        ));
        assert!(loaded.check_output(&dir.path().join("other.key")).is_ok());
    }

    #[test]
    fn trusted_certificates_come_from_a_bundle_or_a_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            CertificateAuthority::generate(&CaParams::default()).unwrap(),
            CertificateAuthority::generate(&CaParams::default()).unwrap(),
        );
        let bundle = dir.path().join("bundle.crt");
        std::fs::write(
            &bundle,
            format!("{}{}", a.certificate().to_pem(), b.certificate().to_pem()),
        )
        .unwrap();
        assert_eq!(load_certificates(&bundle).unwrap().len(), 2);
        let broken = dir.path().join("broken.crt");
        std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
        assert!(matches!(
            load_certificates(&broken).unwrap_err().root(),
            Error::WrongPemBlock { .. }
        ));
        let neither = dir.path().join("neither");
        std::fs::write(&neither, "just text").unwrap();
        assert!(matches!(
            load_certificates(&neither).unwrap_err().root(),
            Error::WrongPemBlock { .. }
        ));
    }
}
