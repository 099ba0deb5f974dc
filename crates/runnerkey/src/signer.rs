//! The signing half of a private key, straight on aws-lc-rs: generating
//! here costs one key generation, with no re-parse of the new key.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING,
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::key_algorithm::KeyAlgorithm;

fn crypto(what: &str) -> impl FnOnce(aws_lc_rs::error::Unspecified) -> Error + '_ {
    move |_| Error::Crypto(format!("{what} failed"))
}

/// A key pair that can sign, by algorithm.
pub(crate) enum Signer {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// The curve of an EC key to load.
#[derive(Clone, Copy)]
pub(crate) enum Curve {
    P256,
    P384,
    P521,
}

impl Signer {
    /// A new key.
    pub(crate) fn generate(algorithm: KeyAlgorithm) -> Result<Self> {
        let rsa = |size| {
            RsaKeyPair::generate(size)
                .map(Signer::Rsa)
                .map_err(crypto("RSA key generation"))
        };
        let ec = |alg| {
            EcdsaKeyPair::generate(alg)
                .map(Signer::Ecdsa)
                .map_err(crypto("EC key generation"))
        };
        match algorithm {
            KeyAlgorithm::Rsa2048 => rsa(KeySize::Rsa2048),
            KeyAlgorithm::Rsa3072 => rsa(KeySize::Rsa3072),
            KeyAlgorithm::Rsa4096 => rsa(KeySize::Rsa4096),
            KeyAlgorithm::EcdsaP256 => ec(&ECDSA_P256_SHA256_ASN1_SIGNING),
            KeyAlgorithm::EcdsaP384 => ec(&ECDSA_P384_SHA384_ASN1_SIGNING),
            KeyAlgorithm::Ed25519 => Ed25519KeyPair::generate()
                .map(Signer::Ed25519)
                .map_err(crypto("Ed25519 key generation")),
        }
    }

    /// The key as PKCS#8 v1 DER (secret).
    pub(crate) fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>> {
        let der = match self {
            Signer::Rsa(k) => {
                let der: Pkcs8V1Der<'_> = k.as_der().map_err(crypto("RSA key encoding"))?;
                der.as_ref().to_vec()
            }
            Signer::Ecdsa(k) => k
                .to_pkcs8v1()
                .map_err(crypto("EC key encoding"))?
                .as_ref()
                .to_vec(),
            Signer::Ed25519(k) => k
                .to_pkcs8v1()
                .map_err(crypto("Ed25519 key encoding"))?
                .as_ref()
                .to_vec(),
        };
        Ok(Zeroizing::new(der))
    }

    /// An RSA key from PKCS#8 DER.
    pub(crate) fn rsa_from_pkcs8(der: &[u8]) -> Result<Self> {
        RsaKeyPair::from_pkcs8(der)
            .map(Signer::Rsa)
            .map_err(|e| Error::UnsupportedKey(format!("the RSA key was refused: {e}")))
    }

    /// An EC key from PKCS#8 DER.
    pub(crate) fn ec_from_pkcs8(curve: Curve, der: &[u8]) -> Result<Self> {
        let alg = match curve {
            Curve::P256 => &ECDSA_P256_SHA256_ASN1_SIGNING,
            Curve::P384 => &ECDSA_P384_SHA384_ASN1_SIGNING,
            Curve::P521 => &ECDSA_P521_SHA512_ASN1_SIGNING,
        };
        EcdsaKeyPair::from_pkcs8(alg, der)
            .map(Signer::Ecdsa)
            .map_err(|e| Error::UnsupportedKey(format!("the EC key was refused: {e}")))
    }

    /// An Ed25519 key from PKCS#8 DER.
    pub(crate) fn ed25519_from_pkcs8(der: &[u8]) -> Result<Self> {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(Signer::Ed25519)
            .map_err(|e| Error::UnsupportedKey(format!("the Ed25519 key was refused: {e}")))
    }

    /// The DER SubjectPublicKeyInfo.
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>> {
        let der: PublicKeyX509Der<'_> = match self {
            Signer::Rsa(k) => k.public_key().as_der(),
            Signer::Ecdsa(k) => k.public_key().as_der(),
            Signer::Ed25519(k) => k.public_key().as_der(),
        }
        .map_err(crypto("public key encoding"))?;
        Ok(der.as_ref().to_vec())
    }

    /// Signs: RSA PKCS#1 v1.5 SHA-256, ECDSA with the curve's hash, Ed25519.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match self {
            Signer::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(crypto("RSA signing"))?;
                Ok(sig)
            }
            Signer::Ecdsa(k) => Ok(k
                .sign(&rng, message)
                .map_err(crypto("ECDSA signing"))?
                .as_ref()
                .to_vec()),
            Signer::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }
}
