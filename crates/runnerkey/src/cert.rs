//! X.509 certificates, read the way a Kubernetes admin thinks of them.

use std::path::Path;
use std::sync::OnceLock;

use aws_lc_rs::digest;
use der::{Decode, Encode};
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};

use crate::error::{Error, Result};
use crate::identity::{Identity, SubjectReading, name_to_string};
use crate::lifetime;
use crate::oid;
use crate::pem_block;
use crate::public_key::{PublicKey, colon_hex};

/// An X.509 certificate: its DER bytes and their parsed form.
#[derive(Clone, Debug)]
pub struct Certificate {
    der: Vec<u8>,
    x509: OnceLock<x509_cert::Certificate>,
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl Certificate {
    /// From DER.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let x509 =
            x509_cert::Certificate::from_der(der).map_err(|e| Error::der("certificate", e))?;
        Ok(Self {
            der: der.to_vec(),
            x509: OnceLock::from(x509),
        })
    }

    /// From DER that runnerkey itself just encoded: parsed on first use,
    /// which keeps issuing cheap.
    pub(crate) fn from_own_der(der: Vec<u8>) -> Self {
        Self {
            der,
            x509: OnceLock::new(),
        }
    }

    /// The first `CERTIFICATE` block of PEM text.
    pub fn from_pem(data: &[u8]) -> Result<Self> {
        Self::all_from_pem(data)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Pem("no certificate".into()))
    }

    /// Every `CERTIFICATE` block of PEM text (at least one).
    pub fn all_from_pem(data: &[u8]) -> Result<Vec<Self>> {
        let blocks = pem_block::parse(data)?;
        let certs = blocks
            .iter()
            .filter(|b| b.is("CERTIFICATE"))
            .map(|b| Self::from_der(b.contents()))
            .collect::<Result<Vec<_>>>()?;
        if certs.is_empty() {
            return Err(pem_block::wrong_block("certificate", &blocks, data));
        }
        Ok(certs)
    }

    /// Reads the first certificate of a PEM file; errors name the file.
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_pem(&crate::file::read(path)?).map_err(|e| e.in_file(path))
    }

    /// Reads every certificate of a PEM file.
    pub fn load_all(path: &Path) -> Result<Vec<Self>> {
        Self::all_from_pem(&crate::file::read(path)?).map_err(|e| e.in_file(path))
    }

    /// DER bytes.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// Writes the PEM to `path` atomically (mode 0644), refusing to replace
    /// an existing file unless `overwrite`.
    pub fn write(&self, path: &Path, overwrite: bool) -> Result<()> {
        crate::file::write_atomic(
            path,
            self.to_pem().as_bytes(),
            crate::file::PUBLIC,
            overwrite,
        )
    }

    /// PEM text.
    pub fn to_pem(&self) -> String {
        pem_block::encode("CERTIFICATE", self.der.clone())
    }

    pub(crate) fn x509(&self) -> &x509_cert::Certificate {
        self.x509.get_or_init(|| {
            x509_cert::Certificate::from_der(&self.der).expect("runnerkey's own encoding decodes")
        })
    }

    /// The X.509 version: 1 or 3 (2 is rare).
    pub fn version(&self) -> u8 {
        self.x509().tbs_certificate().version() as u8 + 1
    }

    /// The subject, e.g. `CN=gitlab-admin, O=runners`.
    pub fn subject(&self) -> String {
        name_to_string(self.x509().tbs_certificate().subject())
    }

    /// The issuer's name.
    pub fn issuer(&self) -> String {
        name_to_string(self.x509().tbs_certificate().issuer())
    }

    /// The Kubernetes user and groups, as the API server reads them: the
    /// last CN and every O; an error when they are no valid [`Identity`]
    /// (no CN, a deceptive or empty name: see [`Certificate::subject_reading`]
    /// for what it holds then).
    pub fn identity(&self) -> Result<Identity> {
        Identity::from_name(self.x509().tbs_certificate().subject())
    }

    /// Whether the certificate is for `identity` to Kubernetes (the same
    /// user and set of groups); never for a subject that is no valid identity.
    pub fn is_for(&self, identity: &Identity) -> bool {
        self.identity().is_ok_and(|i| i.same_as(identity))
    }

    /// The subject as Go reads it, with every CN and anything that makes it
    /// ambiguous.
    pub fn subject_reading(&self) -> SubjectReading {
        SubjectReading::of(self.x509().tbs_certificate().subject())
    }

    /// The serial number as lower-case hex.
    pub fn serial_hex(&self) -> String {
        let bytes = self.x509().tbs_certificate().serial_number().as_bytes();
        let hex = crate::hex::lower(bytes);
        let trimmed = hex.trim_start_matches('0');
        if trimmed.is_empty() {
            "0".into()
        } else {
            trimmed.into()
        }
    }

    /// Start of validity.
    pub fn not_before(&self) -> OffsetDateTime {
        lifetime::from_x509(&self.x509().tbs_certificate().validity().not_before)
    }

    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        lifetime::from_x509(&self.x509().tbs_certificate().validity().not_after)
    }

    /// Whole days from `now` to the end of validity (negative once expired).
    pub fn days_left(&self, now: OffsetDateTime) -> i64 {
        (self.not_after() - now).whole_seconds().div_euclid(86_400)
    }

    /// The subject public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_spki(
            self.x509()
                .tbs_certificate()
                .subject_public_key_info()
                .clone(),
        )
        .expect("a decoded key re-encodes")
    }

    /// The signature algorithm's OID, dotted.
    pub(crate) fn signature_algorithm_oid(&self) -> String {
        self.x509().signature_algorithm().oid.to_string()
    }

    /// The signature algorithm's name.
    pub fn signature_algorithm(&self) -> String {
        oid::name(&self.x509().signature_algorithm().oid)
    }

    fn extension<'a, T: der::Decode<'a> + const_oid::AssociatedOid>(&'a self) -> Option<(bool, T)> {
        self.x509()
            .tbs_certificate()
            .get_extension::<T>()
            .ok()
            .flatten()
    }

    /// BasicConstraints CA flag, when the extension is present.
    pub fn basic_constraints_ca(&self) -> Option<bool> {
        self.extension::<BasicConstraints>().map(|(_, bc)| bc.ca)
    }

    /// Whether the certificate may act as a CA: CA:TRUE, or an X.509 v1
    /// certificate (no extensions at all), as OpenSSL and Go accept.
    pub fn is_ca(&self) -> bool {
        match self.basic_constraints_ca() {
            Some(ca) => ca,
            None => self.x509().tbs_certificate().extensions().is_none() && self.version() == 1,
        }
    }

    /// KeyUsage bits by their RFC 5280 names, when the extension is present.
    pub fn key_usage(&self) -> Option<Vec<&'static str>> {
        let (_, ku) = self.extension::<KeyUsage>()?;
        let all = [
            (KeyUsages::DigitalSignature, "digitalSignature"),
            (KeyUsages::NonRepudiation, "nonRepudiation"),
            (KeyUsages::KeyEncipherment, "keyEncipherment"),
            (KeyUsages::DataEncipherment, "dataEncipherment"),
            (KeyUsages::KeyAgreement, "keyAgreement"),
            (KeyUsages::KeyCertSign, "keyCertSign"),
            (KeyUsages::CRLSign, "cRLSign"),
            (KeyUsages::EncipherOnly, "encipherOnly"),
            (KeyUsages::DecipherOnly, "decipherOnly"),
        ];
        Some(
            all.into_iter()
                .filter(|(flag, _)| ku.0.contains(*flag))
                .map(|(_, n)| n)
                .collect(),
        )
    }

    /// ExtendedKeyUsage purposes by name, when the extension is present.
    pub fn extended_key_usage(&self) -> Option<Vec<String>> {
        let (_, eku) = self.extension::<ExtendedKeyUsage>()?;
        Some(eku.0.iter().map(oid::name).collect())
    }

    /// Whether the certificate may be used for TLS client authentication
    /// by its EKU (absent EKU means any purpose).
    pub fn allows_client_auth(&self) -> bool {
        match self.extension::<ExtendedKeyUsage>() {
            // Go takes anyExtendedKeyUsage for every usage.
            Some((_, eku)) => {
                eku.0.contains(&oid::KP_CLIENT_AUTH) || eku.0.contains(&oid::ANY_EXTENDED_KEY_USAGE)
            }
            None => true,
        }
    }

    /// SubjectKeyIdentifier bytes.
    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        self.extension::<SubjectKeyIdentifier>()
            .map(|(_, s)| s.0.as_bytes().to_vec())
    }

    /// AuthorityKeyIdentifier key id bytes.
    pub fn authority_key_id(&self) -> Option<Vec<u8>> {
        self.extension::<AuthorityKeyIdentifier>()
            .and_then(|(_, a)| a.key_identifier.map(|k| k.as_bytes().to_vec()))
    }

    /// Subject alternative names as `DNS:…`, `IP:…`, `URI:…`, `email:…`.
    pub fn subject_alt_names(&self) -> Vec<String> {
        let Some((_, san)) = self.extension::<SubjectAltName>() else {
            return Vec::new();
        };
        san.0
            .iter()
            .filter_map(|n| match n {
                GeneralName::DnsName(d) => Some(format!("DNS:{}", d.as_str())),
                GeneralName::Rfc822Name(e) => Some(format!("email:{}", e.as_str())),
                GeneralName::UniformResourceIdentifier(u) => Some(format!("URI:{}", u.as_str())),
                GeneralName::IpAddress(ip) => ip_text(ip.as_bytes()).map(|i| format!("IP:{i}")),
                _ => None,
            })
            .collect()
    }

    /// SHA-256 of the DER certificate, colon-separated upper-case hex
    /// (what `openssl x509 -fingerprint -sha256` prints).
    pub fn sha256_fingerprint(&self) -> String {
        colon_hex(digest::digest(&digest::SHA256, &self.der).as_ref())
    }

    /// Checks that `issuer_key` made this certificate's signature.
    pub fn verify_signature(&self, issuer_key: &PublicKey) -> Result<()> {
        let tbs = self
            .x509()
            .tbs_certificate()
            .to_der()
            .map_err(|e| Error::der("certificate", e))?;
        issuer_key.verify(
            self.x509().signature_algorithm(),
            &tbs,
            self.x509().signature().raw_bytes(),
        )
    }

    /// The subject name's DER bytes.
    #[cfg(test)]
    pub(crate) fn subject_der(&self) -> Result<Vec<u8>> {
        self.x509()
            .tbs_certificate()
            .subject()
            .to_der()
            .map_err(|e| Error::der("certificate subject", e))
    }
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}
