//! Public keys as they appear in certificates and CSRs: their type, size,
//! fingerprint and identifier, and signature verification.

use std::fmt;

use aws_lc_rs::{digest, signature};
use der::asn1::UintRef;
use der::{Decode, Encode, Sequence};
use serde::Serialize;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::error::{Error, Result};
use crate::oid;

/// The type and size of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "algorithm", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KeyType {
    /// RSA with the modulus size in bits.
    Rsa {
        /// Modulus size.
        bits: usize,
    },
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// ECDSA on NIST P-521 (read, never generated).
    EcdsaP521,
    /// Ed25519.
    Ed25519,
}

/// A key's algorithm family (serialised and shown as `RSA`, `ECDSA` or
/// `Ed25519`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum KeyFamily {
    /// RSA.
    #[serde(rename = "RSA")]
    Rsa,
    /// ECDSA.
    #[serde(rename = "ECDSA")]
    Ecdsa,
    /// Ed25519.
    #[serde(rename = "Ed25519")]
    Ed25519,
}

impl KeyFamily {
    /// `RSA`, `ECDSA` or `Ed25519`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyFamily::Rsa => "RSA",
            KeyFamily::Ecdsa => "ECDSA",
            KeyFamily::Ed25519 => "Ed25519",
        }
    }
}

crate::named::display_as_str!(KeyFamily);

/// An ECDSA key's curve (serialised and shown as `P-256`, `P-384` or
/// `P-521`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256.
    #[serde(rename = "P-256")]
    P256,
    /// NIST P-384.
    #[serde(rename = "P-384")]
    P384,
    /// NIST P-521.
    #[serde(rename = "P-521")]
    P521,
}

impl Curve {
    /// `P-256`, `P-384` or `P-521`.
    pub fn as_str(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }
}

crate::named::display_as_str!(Curve);

impl KeyType {
    /// The algorithm family.
    pub fn family(&self) -> KeyFamily {
        match self {
            KeyType::Rsa { .. } => KeyFamily::Rsa,
            KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::EcdsaP521 => KeyFamily::Ecdsa,
            KeyType::Ed25519 => KeyFamily::Ed25519,
        }
    }

    /// The key size in bits (the curve size for EC keys).
    pub fn bits(&self) -> usize {
        match self {
            KeyType::Rsa { bits } => *bits,
            KeyType::EcdsaP256 | KeyType::Ed25519 => 256,
            KeyType::EcdsaP384 => 384,
            KeyType::EcdsaP521 => 521,
        }
    }

    /// The curve name of an EC key.
    pub fn curve(&self) -> Option<Curve> {
        match self {
            KeyType::EcdsaP256 => Some(Curve::P256),
            KeyType::EcdsaP384 => Some(Curve::P384),
            KeyType::EcdsaP521 => Some(Curve::P521),
            _ => None,
        }
    }

    /// Whether runnerkey considers this key too weak (RSA below 2048 bits).
    pub fn is_weak(&self) -> bool {
        matches!(self, KeyType::Rsa { bits } if *bits < 2048)
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyType::Rsa { bits } => write!(f, "RSA {bits}"),
            KeyType::Ed25519 => f.write_str("Ed25519"),
            other => write!(f, "ECDSA {}", other.curve().map_or("?", Curve::as_str)),
        }
    }
}

/// PKCS#1 RSAPublicKey (only the modulus is read).
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    _public_exponent: UintRef<'a>,
}

/// Bit length of a big-endian unsigned integer.
pub(crate) fn bit_len(bytes: &[u8]) -> usize {
    let bytes = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => return 0,
    };
    bytes.len() * 8 - bytes[0].leading_zeros() as usize
}

/// A subject public key, as found in a certificate or CSR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    spki: SubjectPublicKeyInfoOwned,
    der: Vec<u8>,
}

impl PublicKey {
    /// From a DER SubjectPublicKeyInfo.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let spki =
            SubjectPublicKeyInfoOwned::from_der(der).map_err(|e| Error::der("public key", e))?;
        Ok(Self {
            spki,
            der: der.to_vec(),
        })
    }

    pub(crate) fn from_spki(spki: SubjectPublicKeyInfoOwned) -> Result<Self> {
        let der = spki.to_der().map_err(|e| Error::der("public key", e))?;
        Ok(Self { spki, der })
    }

    pub(crate) fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The raw key bits (the BIT STRING contents).
    fn raw(&self) -> &[u8] {
        self.spki.subject_public_key.raw_bytes()
    }

    /// The key's type and size.
    pub fn key_type(&self) -> Result<KeyType> {
        let alg = &self.spki.algorithm;
        if alg.oid == oid::RSA_ENCRYPTION {
            let k =
                RsaPublicKey::from_der(self.raw()).map_err(|e| Error::der("RSA public key", e))?;
            return Ok(KeyType::Rsa {
                bits: bit_len(k.modulus.as_bytes()),
            });
        }
        if alg.oid == oid::ED25519 {
            return Ok(KeyType::Ed25519);
        }
        if alg.oid == oid::EC_PUBLIC_KEY {
            let curve = alg
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok());
            return match curve {
                Some(c) if c == oid::SECP256R1 => Ok(KeyType::EcdsaP256),
                Some(c) if c == oid::SECP384R1 => Ok(KeyType::EcdsaP384),
                Some(c) if c == oid::SECP521R1 => Ok(KeyType::EcdsaP521),
                Some(c) => Err(Error::UnsupportedKey(format!("EC curve {c}"))),
                None => Err(Error::UnsupportedKey("EC key without a named curve".into())),
            };
        }
        Err(Error::UnsupportedKey(format!(
            "public key algorithm {}",
            oid::name(&alg.oid)
        )))
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo, as colon-separated hex.
    pub fn sha256_fingerprint(&self) -> String {
        colon_hex(digest::digest(&digest::SHA256, &self.der).as_ref())
    }

    /// The key identifier RFC 5280 method 1 gives: SHA-1 of the key bits.
    pub fn key_identifier(&self) -> Vec<u8> {
        digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, self.raw())
            .as_ref()
            .to_vec()
    }

    /// Verifies `signature` over `message` made with `algorithm` by this key.
    pub(crate) fn verify(
        &self,
        algorithm: &AlgorithmIdentifierOwned,
        message: &[u8],
        sig: &[u8],
    ) -> Result<()> {
        let key_type = self.key_type()?;
        let a = algorithm.oid;
        let alg: &'static dyn signature::VerificationAlgorithm = match key_type {
            KeyType::Rsa { .. } if a == oid::SHA256_WITH_RSA => {
                &signature::RSA_PKCS1_2048_8192_SHA256
            }
            KeyType::Rsa { .. } if a == oid::SHA384_WITH_RSA => {
                &signature::RSA_PKCS1_2048_8192_SHA384
            }
            KeyType::Rsa { .. } if a == oid::SHA512_WITH_RSA => {
                &signature::RSA_PKCS1_2048_8192_SHA512
            }
            // Go's crypto/x509 takes ECDSA with SHA-256, -384 or -512 on
            // any curve.
            KeyType::EcdsaP256 if a == oid::ECDSA_SHA256 => &signature::ECDSA_P256_SHA256_ASN1,
            KeyType::EcdsaP256 if a == oid::ECDSA_SHA384 => &signature::ECDSA_P256_SHA384_ASN1,
            KeyType::EcdsaP256 if a == oid::ECDSA_SHA512 => &signature::ECDSA_P256_SHA512_ASN1,
            KeyType::EcdsaP384 if a == oid::ECDSA_SHA256 => &signature::ECDSA_P384_SHA256_ASN1,
            KeyType::EcdsaP384 if a == oid::ECDSA_SHA384 => &signature::ECDSA_P384_SHA384_ASN1,
            KeyType::EcdsaP384 if a == oid::ECDSA_SHA512 => &signature::ECDSA_P384_SHA512_ASN1,
            KeyType::EcdsaP521 if a == oid::ECDSA_SHA256 => &signature::ECDSA_P521_SHA256_ASN1,
            KeyType::EcdsaP521 if a == oid::ECDSA_SHA384 => &signature::ECDSA_P521_SHA384_ASN1,
            KeyType::EcdsaP521 if a == oid::ECDSA_SHA512 => &signature::ECDSA_P521_SHA512_ASN1,
            KeyType::Ed25519 if a == oid::ED25519 => &signature::ED25519,
            _ => {
                return Err(Error::BadSignature(format!(
                    "unsupported signature algorithm {} for a {key_type} key",
                    oid::name(&a)
                )));
            }
        };
        signature::UnparsedPublicKey::new(alg, self.raw())
            .verify(message, sig)
            .map_err(|_| Error::BadSignature("the signature does not verify".into()))
    }
}

/// Bytes as upper-case hex separated by colons, as openssl prints them.
pub(crate) fn colon_hex(bytes: &[u8]) -> String {
    crate::hex::colon_upper(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::{KeyAlgorithm, PrivateKey};

    #[test]
    fn families_and_curves_read_as_before() {
        let ec = KeyType::EcdsaP384;
        assert_eq!(
            (ec.family(), ec.curve()),
            (KeyFamily::Ecdsa, Some(Curve::P384))
        );
        assert_eq!(serde_json::to_value(ec.family()).unwrap(), "ECDSA");
        assert_eq!(serde_json::to_value(ec.curve()).unwrap(), "P-384");
        assert_eq!(ec.to_string(), "ECDSA P-384");
        let rsa = KeyType::Rsa { bits: 2048 };
        assert_eq!((rsa.family().as_str(), rsa.curve()), ("RSA", None));
        assert_eq!(serde_json::to_value(KeyFamily::Ed25519).unwrap(), "Ed25519");
        assert_eq!(Curve::P521.to_string(), "P-521");
    }

    #[test]
    fn key_types_and_fingerprints() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
        let public = key.public_key();
        assert_eq!(public.key_type().unwrap(), KeyType::EcdsaP384);
        assert_eq!(PublicKey::from_der(public.to_der()).unwrap(), *public);
        let fp = public.sha256_fingerprint();
        assert_eq!((fp.len(), fp.matches(':').count()), (95, 31));
        assert_eq!(public.key_identifier().len(), 20);
    }

    #[test]
    fn a_signature_by_another_key_does_not_verify() {
        let a = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let b = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let sig = a.sign(b"m").unwrap();
        assert!(
            b.public_key()
                .verify(&a.signature_algorithm(), b"m", &sig)
                .is_err()
        );
        assert!(
            a.public_key()
                .verify(&a.signature_algorithm(), b"other", &sig)
                .is_err()
        );
    }
}
