//! PKCS#10 certificate signing requests.

use std::path::Path;

use der::asn1::BitString;
use der::{Decode, Encode};
use x509_cert::request::{CertReq, CertReqInfo, Version};

use crate::error::{Error, Result};
use crate::identity::{Identity, SubjectReading, name_to_string};
use crate::key::PrivateKey;
use crate::pem_block;
use crate::public_key::PublicKey;

/// What to put in a CSR.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CsrParams {
    /// User (CN) and groups (O).
    pub identity: Identity,
    /// Permit the group `system:masters`.
    pub allow_system_masters: bool,
}

impl CsrParams {
    /// Params for `identity`, refusing `system:masters`.
    pub fn new(identity: Identity) -> Self {
        Self {
            identity,
            allow_system_masters: false,
        }
    }
}

/// A PKCS#10 certificate signing request whose self-signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequest {
    der: Vec<u8>,
    req: CertReq,
}

impl CertificateRequest {
    /// Creates and signs a CSR for `params.identity` with `key`.
    pub fn create(key: &PrivateKey, params: &CsrParams) -> Result<Self> {
        params
            .identity
            .check_system_masters(params.allow_system_masters)?;
        let info = CertReqInfo {
            version: Version::V1,
            subject: params.identity.to_name()?,
            public_key: key.public_key().spki().clone(),
            attributes: Default::default(),
        };
        let tbs = info.to_der().map_err(|e| Error::der("CSR", e))?;
        let signature = key.sign(&tbs)?;
        let req = CertReq {
            info,
            algorithm: key.signature_algorithm(),
            signature: BitString::from_bytes(&signature).map_err(|e| Error::der("CSR", e))?,
        };
        let der = req.to_der().map_err(|e| Error::der("CSR", e))?;
        // Signed just now by `key`: no need to verify the self-signature.
        Ok(Self { der, req })
    }

    /// From DER; the self-signature must verify.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let req = CertReq::from_der(der).map_err(|e| Error::der("CSR", e))?;
        let csr = Self {
            der: der.to_vec(),
            req,
        };
        csr.verify_self_signature()?;
        Ok(csr)
    }

    /// The one `CERTIFICATE REQUEST` block `data` holds, read as
    /// kube-apiserver and the signer read a CSR object's `spec.request`
    /// (the first block Go's `encoding/pem` finds); anything else in `data`
    /// (text before or after, a second block, headers) is refused, so that
    /// no reader can find another request in it.
    pub fn from_pem(data: &[u8]) -> Result<Self> {
        let block = pem_block::parse_exactly_one(data, "CERTIFICATE REQUEST")?;
        Self::from_der(block.contents())
    }

    /// Reads a PEM CSR file; errors name the file.
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_pem(&crate::file::read(path)?).map_err(|e| e.in_file(path))
    }

    fn verify_self_signature(&self) -> Result<()> {
        let tbs = self.req.info.to_der().map_err(|e| Error::der("CSR", e))?;
        self.public_key()?
            .verify(&self.req.algorithm, &tbs, self.req.signature.raw_bytes())
            .map_err(|e| Error::BadSignature(format!("CSR self-signature: {}", e.root())))
    }

    /// What the request asks for beyond a user and groups: attributes
    /// (requested extensions such as subjectAltName or basicConstraints)
    /// and subject attributes other than CN and O. Empty for a request
    /// that asks for an identity and nothing else.
    pub fn extras(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .req
            .info
            .attributes
            .iter()
            .map(|a| format!("the attribute {}", a.oid))
            .collect();
        for rdn in self.req.info.subject.as_ref().iter() {
            for atv in rdn.as_ref().iter() {
                if atv.oid != crate::oid::COMMON_NAME && atv.oid != crate::oid::ORGANIZATION {
                    out.push(format!("the subject attribute {}", atv.oid));
                }
            }
        }
        out
    }

    /// The requested public key.
    pub fn public_key(&self) -> Result<PublicKey> {
        PublicKey::from_spki(self.req.info.public_key.clone())
    }

    /// The requested user and groups, as the API server would read them
    /// from the issued certificate (the last CN, every O).
    /// An error when they are no valid [`Identity`].
    pub fn identity(&self) -> Result<Identity> {
        Identity::from_name(&self.req.info.subject)
    }

    /// The subject as Go reads it, with every CN and anything that makes it
    /// ambiguous.
    pub fn subject_reading(&self) -> SubjectReading {
        SubjectReading::of(&self.req.info.subject)
    }

    /// The identity to sign for: refuses a subject that could be read two
    /// ways (several CNs, no CN, deceptive characters, odd string types)
    /// and names that [`Identity::new`] refuses.
    pub fn signable_identity(&self) -> Result<Identity> {
        self.subject_reading().identity()
    }

    /// The subject, e.g. `CN=gitlab-admin, O=a`.
    pub fn subject(&self) -> String {
        name_to_string(&self.req.info.subject)
    }

    pub(crate) fn subject_name(&self) -> &x509_cert::name::Name {
        &self.req.info.subject
    }

    /// DER bytes.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// PEM text (`CERTIFICATE REQUEST`).
    pub fn to_pem(&self) -> String {
        pem_block::encode("CERTIFICATE REQUEST", self.der.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::KeyAlgorithm;

    #[test]
    fn a_created_csr_reads_back_with_its_identity_and_key() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let who = Identity::new("gitlab-admin", ["a", "b"]).unwrap();
        let csr = CertificateRequest::create(&key, &CsrParams::new(who.clone())).unwrap();
        let again = CertificateRequest::from_pem(csr.to_pem().as_bytes()).unwrap();
        assert_eq!(again.identity().unwrap(), who);
        assert_eq!(again.signable_identity().unwrap(), who);
        assert!(key.matches(&again.public_key().unwrap()));
        assert_eq!(again.subject(), "CN=gitlab-admin, O=a, O=b");
    }

    #[test]
    fn a_tampered_csr_fails_its_self_signature() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let who = Identity::new("alice", Vec::<String>::new()).unwrap();
        let mut der = CertificateRequest::create(&key, &CsrParams::new(who))
            .unwrap()
            .to_der()
            .to_vec();
        let at = der.windows(5).position(|w| w == b"alice").unwrap();
        der[at] = b'A';
        assert!(matches!(
            CertificateRequest::from_der(&der),
            Err(Error::BadSignature(_))
        ));
    }

    #[test]
    fn system_masters_needs_permission_and_other_blocks_are_not_csrs() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let who = Identity::new("u", [crate::identity::SYSTEM_MASTERS]).unwrap();
        assert!(matches!(
            CertificateRequest::create(&key, &CsrParams::new(who)),
            Err(Error::SystemMasters)
        ));
        assert!(matches!(
            CertificateRequest::from_pem(key.to_pem().as_bytes()),
            Err(Error::WrongPemBlock { .. })
        ));
    }
}
