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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CertificateAuthority;
    use crate::ca::CaParams;
    use crate::issue::IssueParams;
    use crate::key::KeyAlgorithm;

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/pki")
            .join(name);
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn a_v3_client_certificate_as_runnerkey_issues_it() {
        let ca = CertificateAuthority::generate(&CaParams::default()).unwrap();
        let who = Identity::new("gitlab-runner:h1", ["b", "a"]).unwrap();
        let (key, issued) = ca
            .issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())
            .unwrap();
        let c = &issued.certificate;
        assert_eq!(c.version(), 3);
        assert!(c.identity().unwrap().same_as(&who));
        assert!(!c.is_ca());
        assert_eq!(c.basic_constraints_ca(), Some(false));
        assert!(c.allows_client_auth());
        assert_eq!(c.extended_key_usage(), Some(vec!["clientAuth".to_string()]));
        assert_eq!(c.authority_key_id(), ca.certificate().subject_key_id());
        assert!(key.matches(&c.public_key()));
        assert!(c.verify_signature(&ca.certificate().public_key()).is_ok());
        assert!(c.verify_signature(&c.public_key()).is_err());
        assert_eq!(c.issuer(), ca.certificate().subject());
        assert!(c.subject_alt_names().is_empty());
        // PEM and DER round-trip to the same bytes.
        let again = Certificate::from_pem(c.to_pem().as_bytes()).unwrap();
        assert_eq!(again.to_der(), c.to_der());
        assert_eq!(again.sha256_fingerprint(), c.sha256_fingerprint());
        assert_eq!(c.sha256_fingerprint().split(':').count(), 32);
    }

    #[test]
    fn a_v1_ca_and_a_kubeadm_client_read_as_go_reads_them() {
        let v1 =
            Certificate::from_pem(&fixture("openssl-ca-x509v1-no-extensions.crt.pem")).unwrap();
        assert_eq!(v1.version(), 1);
        // No extensions at all: nothing asserted either way.
        assert_eq!(v1.basic_constraints_ca(), None);
        assert_eq!(v1.key_usage(), None);
        assert_eq!(v1.extended_key_usage(), None);
        assert_eq!(v1.subject_key_id(), None);
        let kubeadm =
            Certificate::from_pem(&fixture("kubeadm-client-expired-system-masters.crt.pem"))
                .unwrap();
        // O before CN in the subject: the identity is read by attribute.
        let id = kubeadm.identity().unwrap();
        assert_eq!(id.user(), "kube-apiserver-kubelet-client");
        assert_eq!(id.groups(), ["system:masters"]);
        assert!(kubeadm.allows_client_auth());
        let ca = Certificate::from_pem(&fixture("kubeadm-ca-rsa2048.crt.pem")).unwrap();
        assert!(ca.is_ca());
        assert_eq!(kubeadm.authority_key_id(), ca.subject_key_id());
        assert!(kubeadm.verify_signature(&ca.public_key()).is_ok());
        assert!(kubeadm.days_left(OffsetDateTime::now_utc()) < 0);
        let serving = Certificate::from_pem(&fixture(
            "kubeadm-apiserver-serving-ip-sans-expired.crt.pem",
        ))
        .unwrap();
        assert!(!serving.allows_client_auth());
        assert!(
            serving
                .subject_alt_names()
                .iter()
                .any(|s| s.contains("10.96.0.1"))
        );
    }

    #[test]
    fn several_blocks_are_read_in_order_and_one_only_where_one_is_asked() {
        let two = fixture("kubeadm-front-proxy-client-wrong-ca.crt.pem");
        let all = Certificate::all_from_pem(&two).unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0].identity().unwrap().user() == "front-proxy-client" && all[1].is_ca());
        assert_eq!(all[0].issuer(), all[1].subject());
        assert!(Certificate::from_der(b"not der").is_err());
        assert!(Certificate::all_from_pem(b"no pem here").is_err());
    }
}
