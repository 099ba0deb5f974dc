//! Building X.509 certificates: the to-be-signed structure, signed with
//! the issuer's key, a random serial, extensions. Used by `issue` (client
//! certificates); `ca` shares the serial and the backdating.

use std::time::Duration;

use const_oid::AssociatedOid;
use der::asn1::{AnyRef, BitString, OctetString};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use time::OffsetDateTime;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::key::PrivateKey;
use crate::lifetime;
use crate::public_key::PublicKey;

/// How far notBefore is set in the past, for clocks that lag.
pub(crate) const BACKDATE: Duration = Duration::from_secs(5 * 60);

#[derive(Sequence)]
struct ValidityRaw {
    not_before: Time,
    not_after: Time,
}

#[derive(Sequence)]
struct TbsCertificate {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: ValidityRaw,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

#[derive(Sequence)]
struct CertificateRaw<'a> {
    tbs: AnyRef<'a>,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// Everything of a certificate but the issuer's signature.
pub(crate) struct Template<'a> {
    pub(crate) issuer: &'a Name,
    pub(crate) subject: &'a Name,
    pub(crate) public_key: &'a PublicKey,
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
    pub(crate) extensions: Vec<Extension>,
}

impl Template<'_> {
    /// Signs the template with `signer`, with a fresh random serial.
    pub(crate) fn sign(self, signer: &PrivateKey) -> Result<Certificate> {
        let tbs = TbsCertificate {
            version: 2,
            serial: random_serial()?,
            signature: signer.signature_algorithm(),
            issuer: self.issuer.clone(),
            validity: ValidityRaw {
                not_before: lifetime::to_x509(self.not_before)?,
                not_after: lifetime::to_x509(self.not_after)?,
            },
            subject: self.subject.clone(),
            spki: self.public_key.spki().clone(),
            extensions: self.extensions,
        };
        let tbs_der = tbs.to_der().map_err(|e| Error::der("certificate", e))?;
        let signature = signer.sign(&tbs_der)?;
        let raw = CertificateRaw {
            tbs: AnyRef::from_der(&tbs_der).map_err(|e| Error::der("certificate", e))?,
            algorithm: signer.signature_algorithm(),
            signature: BitString::from_bytes(&signature)
                .map_err(|e| Error::der("certificate", e))?,
        };
        Ok(Certificate::from_own_der(
            raw.to_der().map_err(|e| Error::der("certificate", e))?,
        ))
    }
}

/// A positive 127-bit random serial (16 bytes, top bit clear, never short).
pub(crate) fn random_serial_bytes() -> Result<[u8; 16]> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|e| Error::Crypto(e.to_string()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(bytes)
}

fn random_serial() -> Result<SerialNumber> {
    SerialNumber::new(&random_serial_bytes()?).map_err(|e| Error::der("serial", e))
}

/// Encodes an extension.
pub(crate) fn extension<T: Encode + AssociatedOid>(critical: bool, value: &T) -> Result<Extension> {
    let der = value.to_der().map_err(|e| Error::der("extension", e))?;
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(der).map_err(|e| Error::der("extension", e))?,
    })
}
