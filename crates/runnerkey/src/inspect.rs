//! Describing certificates, CSRs and keys the way a Kubernetes admin
//! thinks of them. Field names of the serialised structs are stable and
//! documented in `docs/inspect.md`.

use serde::Serialize;

use crate::secret::Passphrase;
use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::csr::CertificateRequest;
use crate::error::{Error, Result};
use crate::identity::SubjectProblem;
use crate::key::{KeyFormat, PrivateKey};
use crate::pem_block;
use crate::public_key::{Curve, KeyFamily, KeyType, PublicKey, colon_hex};

/// A public key's description.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct KeyDescription {
    /// RSA, ECDSA or Ed25519.
    pub algorithm: KeyFamily,
    /// Key size in bits.
    pub bits: usize,
    /// EC curve name.
    pub curve: Option<Curve>,
    /// RSA below 2048 bits.
    pub weak: bool,
    /// SHA-256 of the DER SubjectPublicKeyInfo (hex with colons).
    pub public_key_sha256: Option<String>,
}

impl KeyDescription {
    fn new(kt: KeyType, public: Option<&PublicKey>) -> Self {
        Self {
            algorithm: kt.family(),
            bits: kt.bits(),
            curve: kt.curve(),
            weak: kt.is_weak(),
            public_key_sha256: public.map(PublicKey::sha256_fingerprint),
        }
    }

    fn of(public: &PublicKey) -> Option<Self> {
        public.key_type().ok().map(|kt| Self::new(kt, Some(public)))
    }
}

/// What `inspect` says of a certificate.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct CertificateInfo {
    /// Kubernetes user name: the subject's last CN, as the API server reads it.
    pub user: String,
    /// Kubernetes groups (every subject O).
    pub groups: Vec<String>,
    /// Every CN of the subject, in order (the last one is `user`).
    pub common_names: Vec<String>,
    /// What makes the subject ambiguous or deceptive (several CNs, control
    /// characters, odd string types); empty for a clean subject.
    pub subject_problems: Vec<SubjectProblem>,
    /// Subject, e.g. `CN=gitlab-admin, O=runners`.
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// X.509 version (1 or 3).
    pub version: u8,
    /// Start of validity (RFC 3339, UTC, on the wire).
    #[serde(with = "crate::lifetime::serde_rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity (RFC 3339, UTC, on the wire).
    #[serde(with = "crate::lifetime::serde_rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days left until notAfter (negative when expired).
    pub days_left: i64,
    /// Past notAfter.
    pub expired: bool,
    /// The subject key.
    pub key: Option<KeyDescription>,
    /// Signature algorithm.
    pub signature_algorithm: String,
    /// Whether it can act as a CA: CA:TRUE, or an X.509 v1 certificate,
    /// which Go and OpenSSL accept as a trust anchor.
    pub is_ca: bool,
    /// The basicConstraints CA flag, `null` when the extension is absent.
    pub basic_constraints_ca: Option<bool>,
    /// KeyUsage names, `null` when the extension is absent.
    pub key_usage: Option<Vec<&'static str>>,
    /// ExtendedKeyUsage names, `null` when the extension is absent.
    pub extended_key_usage: Option<Vec<String>>,
    /// Subject alternative names.
    pub subject_alt_names: Vec<String>,
    /// SubjectKeyIdentifier (hex with colons).
    pub subject_key_id: Option<String>,
    /// AuthorityKeyIdentifier key id (hex with colons).
    pub authority_key_id: Option<String>,
    /// SHA-256 of the DER certificate (hex with colons).
    pub sha256_fingerprint: String,
}

impl CertificateInfo {
    /// Describes `cert` as of `now`.
    pub fn new(cert: &Certificate, now: OffsetDateTime) -> Self {
        let reading = cert.subject_reading();
        Self {
            user: reading.user,
            groups: reading.groups,
            common_names: reading.common_names,
            subject_problems: reading.problems,
            subject: cert.subject(),
            issuer: cert.issuer(),
            serial: cert.serial_hex(),
            version: cert.version(),
            not_before: cert.not_before(),
            not_after: cert.not_after(),
            days_left: cert.days_left(now),
            expired: now > cert.not_after(),
            key: KeyDescription::of(&cert.public_key()),
            signature_algorithm: cert.signature_algorithm(),
            is_ca: cert.is_ca(),
            basic_constraints_ca: cert.basic_constraints_ca(),
            key_usage: cert.key_usage(),
            extended_key_usage: cert.extended_key_usage(),
            subject_alt_names: cert.subject_alt_names(),
            subject_key_id: cert.subject_key_id().map(|k| colon_hex(&k)),
            authority_key_id: cert.authority_key_id().map(|k| colon_hex(&k)),
            sha256_fingerprint: cert.sha256_fingerprint(),
        }
    }
}

/// What `inspect` says of a CSR.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct RequestInfo {
    /// Requested user: the last CN, as the API server would read it.
    pub user: String,
    /// Requested groups (every O).
    pub groups: Vec<String>,
    /// Every CN of the subject, in order.
    pub common_names: Vec<String>,
    /// Why the subject would be refused for signing; empty when clean.
    pub subject_problems: Vec<SubjectProblem>,
    /// Subject.
    pub subject: String,
    /// The requested key.
    pub key: Option<KeyDescription>,
    /// The self-signature verified (always true: a bad one is an error).
    pub signature_valid: bool,
}

/// What `inspect` says of a private key. No secret is included.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct PrivateKeyInfo {
    /// How the key is stored.
    pub format: KeyFormat,
    /// The key, when it could be read (not for an encrypted key without
    /// passphrase).
    pub key: Option<KeyDescription>,
    /// Why the key could not be read fully, if so.
    pub note: Option<String>,
}

/// One described PEM block.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    /// A certificate.
    Certificate(Box<CertificateInfo>),
    /// A PKCS#10 request.
    CertificateRequest(RequestInfo),
    /// A private key.
    PrivateKey(PrivateKeyInfo),
    /// A kubeconfig user with a client certificate.
    KubeconfigUser(Box<KubeconfigUserInfo>),
}

/// What `inspect` says of a kubeconfig `users[]` entry.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct KubeconfigUserInfo {
    /// The entry's name.
    pub name: String,
    /// Where the certificate is: `embedded` or the file path.
    pub source: String,
    /// Whether the key is embedded in the kubeconfig (a secret inside it).
    pub key_embedded: bool,
    /// The client certificate, as for `kind: certificate`.
    pub certificate: CertificateInfo,
}

/// Describes PEM text or, when there is no PEM block, a kubeconfig's users
/// with client certificates (embedded or referenced; with the `kubeconfig`
/// feature).
pub fn inspect_file(
    data: &[u8],
    passphrase: Option<&Passphrase>,
    now: Option<OffsetDateTime>,
) -> Result<Vec<Item>> {
    match inspect_pem(data, passphrase, now) {
        #[cfg(feature = "kubeconfig")]
        Err(Error::WrongPemBlock { found, .. }) if found == "no PEM block" => {
            inspect_kubeconfig(data, now)
        }
        other => other,
    }
}

#[cfg(feature = "kubeconfig")]
fn inspect_kubeconfig(data: &[u8], now: Option<OffsetDateTime>) -> Result<Vec<Item>> {
    use base64::Engine;
    let now = now.unwrap_or_else(OffsetDateTime::now_utc);
    let text = String::from_utf8_lossy(data);
    crate::nesting::check(&text, "the input")?;
    let config = crate::kubeconfig::Kubeconfig::parse(&text).map_err(|_| Error::WrongPemBlock {
        expected: "certificate, CSR, private key or kubeconfig",
        found: "neither PEM nor a kubeconfig".into(),
    })?;
    let mut items = Vec::new();
    for u in &config.users {
        let user = &u.value.user;
        let (pem, source) = match (&user.client_certificate_data, &user.client_certificate) {
            (Some(b64), _) => (
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|e| Error::der("client-certificate-data", e))?,
                "embedded".to_string(),
            ),
            (None, Some(path)) => (crate::file::read(std::path::Path::new(path))?, path.clone()),
            (None, None) => continue,
        };
        items.push(Item::KubeconfigUser(Box::new(KubeconfigUserInfo {
            name: u.name.clone(),
            source,
            key_embedded: user.client_key_data.is_some(),
            certificate: CertificateInfo::new(&Certificate::from_pem(&pem)?, now),
        })));
    }
    if items.is_empty() {
        return Err(Error::InvalidArgument(
            "the kubeconfig has no user with a client certificate".into(),
        ));
    }
    Ok(items)
}

/// Describes every certificate, CSR and private key in PEM text, in order.
pub fn inspect_pem(
    data: &[u8],
    passphrase: Option<&Passphrase>,
    now: Option<OffsetDateTime>,
) -> Result<Vec<Item>> {
    let now = now.unwrap_or_else(OffsetDateTime::now_utc);
    let blocks = pem_block::parse(data)?;
    let mut items = Vec::new();
    for block in &blocks {
        let item = match block.label().as_ref() {
            "CERTIFICATE" => Item::Certificate(Box::new(CertificateInfo::new(
                &Certificate::from_der(block.contents())?,
                now,
            ))),
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
                let csr = CertificateRequest::from_der(block.contents())?;
                let reading = csr.subject_reading();
                Item::CertificateRequest(RequestInfo {
                    user: reading.user,
                    groups: reading.groups,
                    common_names: reading.common_names,
                    subject_problems: reading.problems,
                    subject: csr.subject(),
                    key: csr.public_key().ok().as_ref().and_then(KeyDescription::of),
                    signature_valid: true,
                })
            }
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                Item::PrivateKey(describe_key(
                    block,
                    passphrase.map(Passphrase::expose_bytes),
                )?)
            }
            _ => continue,
        };
        items.push(item);
    }
    if items.is_empty() {
        return Err(pem_block::wrong_block(
            "certificate, CSR or private key",
            &blocks,
            data,
        ));
    }
    Ok(items)
}

fn describe_key(block: &pem_block::PemBlock, passphrase: Option<&[u8]>) -> Result<PrivateKeyInfo> {
    let format = match block.label().as_ref() {
        "RSA PRIVATE KEY" => KeyFormat::Pkcs1,
        "EC PRIVATE KEY" => KeyFormat::Sec1,
        "ENCRYPTED PRIVATE KEY" => KeyFormat::EncryptedPkcs8,
        _ => KeyFormat::Pkcs8,
    };
    match PrivateKey::from_block(block, passphrase) {
        Ok(key) => Ok(PrivateKeyInfo {
            format,
            key: Some(KeyDescription::new(key.key_type(), Some(key.public_key()))),
            note: None,
        }),
        Err(Error::WeakKey { bits }) => Ok(PrivateKeyInfo {
            format,
            key: Some(KeyDescription::new(KeyType::Rsa { bits }, None)),
            note: Some(Error::WeakKey { bits }.to_string()),
        }),
        Err(e @ (Error::PassphraseRequired | Error::UnsupportedKeyEncryption(_))) => {
            Ok(PrivateKeyInfo {
                format,
                key: None,
                note: Some(e.to_string()),
            })
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::{CaParams, CertificateAuthority, CsrParams, Identity, IssueParams, KeyAlgorithm};

    #[test]
    fn every_kind_of_block_is_described_without_secrets() {
        let ca = CertificateAuthority::generate(&CaParams {
            algorithm: KeyAlgorithm::EcdsaP256,
            ..CaParams::default()
        })
        .unwrap();
        let who = Identity::new("u", ["g"]).unwrap();
        let (key, issued) = ca
            .issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())
            .unwrap();
        let csr = CertificateRequest::create(&key, &CsrParams::new(who)).unwrap();
        let text = format!(
            "{}{}{}",
            issued.certificate.to_pem(),
            csr.to_pem(),
            key.to_pem().as_str()
        );
        let items = inspect_pem(text.as_bytes(), None, None).unwrap();
        assert_eq!(items.len(), 3);
        let json = serde_json::to_string(&items).unwrap();
        assert!(!json.contains("PRIVATE KEY"));
        match &items[0] {
            Item::Certificate(c) => {
                assert_eq!(
                    (
                        c.user.as_str(),
                        c.common_names.len(),
                        c.basic_constraints_ca
                    ),
                    ("u", 1, Some(false))
                );
                assert!(c.subject_problems.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_v1_certificate_states_no_basic_constraints() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/pki/openssl-ca-x509v1-no-extensions.crt.pem");
        let items = inspect_file(&std::fs::read(path).unwrap(), None, None).unwrap();
        let Item::Certificate(c) = &items[0] else {
            panic!("not a certificate")
        };
        assert_eq!(
            (c.version, c.basic_constraints_ca, c.is_ca),
            (1, None, true)
        );
    }

    #[test]
    #[cfg(feature = "kubeconfig")]
    fn neither_pem_nor_kubeconfig_is_an_error() {
        assert!(matches!(
            inspect_file(b"hello: world\n", None, None),
            Err(crate::Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            inspect_file(&[0xff, 0xfe, 0x00], None, None),
            Err(crate::Error::WrongPemBlock { .. })
        ));
    }

    #[test]
    #[cfg(not(feature = "kubeconfig"))]
    fn without_the_kubeconfig_feature_only_pem_is_read() {
        let kubeconfig = b"apiVersion: v1\nkind: Config\nusers: []\n";
        assert!(matches!(
            inspect_file(kubeconfig, None, None),
            Err(crate::Error::WrongPemBlock { .. })
        ));
    }
}
