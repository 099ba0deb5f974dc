//! Private keys: generating, loading every format a Kubernetes admin meets
//! (PKCS#1 from kubeadm, SEC1, PKCS#8, encrypted PKCS#8) and writing PKCS#8.

use std::fmt;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::OnceLock;

use aws_lc_rs::cipher::{
    AES_128, AES_192, AES_256, DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::pbkdf2;

/// The most PBKDF2 iterations an encrypted key may ask for (OpenSSL writes
/// 2,048; OWASP recommends 600,000 for SHA-256).
pub const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
use der::asn1::{Any, Null, ObjectIdentifier, OctetString, UintRef};
use der::{Decode, Encode, Sequence};
use pkcs5::pbes2;
use serde::Serialize;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

pub use crate::key_algorithm::KeyAlgorithm;

use crate::error::{Error, Result};
use crate::file;
use crate::oid;
use crate::public_key::{KeyType, PublicKey, bit_len};
use crate::secret::Passphrase;
use crate::signer::{Curve, Signer};

/// How a key was stored when it was loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KeyFormat {
    /// `RSA PRIVATE KEY` (what kubeadm writes).
    Pkcs1,
    /// `EC PRIVATE KEY`.
    Sec1,
    /// `PRIVATE KEY`.
    Pkcs8,
    /// `ENCRYPTED PRIVATE KEY`.
    EncryptedPkcs8,
}

/// PKCS#8 PrivateKeyInfo / OneAsymmetricKey.
type PrivateKeyInfo = pkcs8::PrivateKeyInfoOwned;

fn private_key_info(algorithm: AlgorithmIdentifierOwned, key: &[u8]) -> Result<PrivateKeyInfo> {
    let key = OctetString::new(key).map_err(|e| Error::der("private key", e))?;
    Ok(PrivateKeyInfo::new(algorithm, key))
}

/// PKCS#1 RSAPrivateKey (two-prime).
#[derive(Sequence)]
struct RsaPrivateKey<'a> {
    version: u8,
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
    private_exponent: UintRef<'a>,
    prime1: UintRef<'a>,
    prime2: UintRef<'a>,
    exponent1: UintRef<'a>,
    exponent2: UintRef<'a>,
    coefficient: UintRef<'a>,
}

/// PKCS#8 EncryptedPrivateKeyInfo.
#[derive(Sequence)]
struct EncryptedPrivateKeyInfo {
    algorithm: AlgorithmIdentifierOwned,
    data: OctetString,
}

/// A private key that can sign.
///
/// Its `Debug` output names the key type only: key material never appears
/// in logs or error messages.
pub struct PrivateKey {
    key_type: KeyType,
    format: KeyFormat,
    pkcs8: OnceLock<Zeroizing<Vec<u8>>>,
    signer: Signer,
    public: PublicKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("type", &self.key_type.to_string())
            .finish_non_exhaustive()
    }
}

fn crypto(e: impl fmt::Display) -> Error {
    Error::Crypto(e.to_string())
}

impl PrivateKey {
    /// Generates a new key.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self> {
        Self::from_parts(
            Signer::generate(algorithm)?,
            OnceLock::new(),
            KeyFormat::Pkcs8,
        )
    }

    fn from_parts(
        signer: Signer,
        pkcs8: OnceLock<Zeroizing<Vec<u8>>>,
        format: KeyFormat,
    ) -> Result<Self> {
        let public = PublicKey::from_der(&signer.public_key_der()?)?;
        Ok(Self {
            key_type: public.key_type()?,
            format,
            pkcs8,
            signer,
            public,
        })
    }

    /// The PKCS#8 v1 DER, encoded on first use for generated keys.
    fn pkcs8(&self) -> &Zeroizing<Vec<u8>> {
        self.pkcs8
            .get_or_init(|| self.signer.to_pkcs8().expect("aws-lc encodes its own key"))
    }

    /// Reads a private key file (see [`PrivateKey::from_pem`]); errors name the file.
    pub fn load(path: &Path, passphrase: Option<&Passphrase>) -> Result<Self> {
        let data = Zeroizing::new(file::read(path)?);
        Self::from_pem(&data, passphrase).map_err(|e| e.in_file(path))
    }

    /// Parses the first private key in PEM text: `PRIVATE KEY`,
    /// `RSA PRIVATE KEY`, `EC PRIVATE KEY` (an `EC PARAMETERS` block before
    /// it is skipped) or `ENCRYPTED PRIVATE KEY` with `passphrase`.
    pub fn from_pem(data: &[u8], passphrase: Option<&Passphrase>) -> Result<Self> {
        let blocks = crate::pem_block::parse(data)?;
        // Go's tls.X509KeyPair takes the first block whose type is
        // `PRIVATE KEY` or ends in ` PRIVATE KEY`.
        let block = blocks
            .iter()
            .find(|b| b.is("PRIVATE KEY") || b.label_bytes().ends_with(b" PRIVATE KEY"))
            .ok_or_else(|| crate::pem_block::wrong_block("private key", &blocks, data))?;
        Self::from_block(block, passphrase.map(Passphrase::expose_bytes))
    }

    /// Parses a private key from one PEM block.
    pub(crate) fn from_block(
        block: &crate::pem_block::PemBlock,
        passphrase: Option<&[u8]>,
    ) -> Result<Self> {
        let der = block.contents();
        // OpenSSL's legacy encryption (`-----BEGIN RSA PRIVATE KEY-----`
        // with `Proc-Type: 4,ENCRYPTED` headers) is not PKCS#8: say how to
        // convert it instead of failing on the ciphertext as DER.
        if block
            .header("Proc-Type")
            .is_some_and(|v| v.contains("ENCRYPTED"))
        {
            let cipher = block
                .header("DEK-Info")
                .and_then(|v| v.split(',').next())
                .filter(|c| {
                    !c.is_empty() && c.len() <= 32 && c.bytes().all(|b| b.is_ascii_graphic())
                })
                .unwrap_or("an unnamed cipher");
            return Err(Error::UnsupportedKeyEncryption(format!(
                "OpenSSL's legacy PEM encryption (Proc-Type: 4,ENCRYPTED, DEK-Info {cipher}; what `openssl ec -aes256` and `openssl genrsa -traditional -aes256` write)"
            )));
        }
        match block.label().as_ref() {
            "PRIVATE KEY" => {
                Self::from_pkcs8_der_as(Zeroizing::new(der.to_vec()), KeyFormat::Pkcs8)
            }
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(der),
            "EC PRIVATE KEY" => Self::from_sec1_der(der),
            "ENCRYPTED PRIVATE KEY" => {
                let passphrase = passphrase.ok_or(Error::PassphraseRequired)?;
                let pkcs8 = decrypt_pkcs8(der, passphrase)?;
                Self::from_pkcs8_der_as(pkcs8, KeyFormat::EncryptedPkcs8)
            }
            other => Err(Error::WrongPemBlock {
                expected: "a private key runnerkey reads (PKCS#8, PKCS#1, SEC1, encrypted PKCS#8)",
                found: format!("{other} first"),
            }),
        }
    }

    /// Parses an unencrypted PKCS#8 DER key.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_pkcs8_der_as(Zeroizing::new(der.to_vec()), KeyFormat::Pkcs8)
    }

    fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        RsaPrivateKey::from_der(der).map_err(|e| Error::der("RSA private key", e))?;
        let info = private_key_info(
            AlgorithmIdentifierOwned {
                oid: oid::RSA_ENCRYPTION,
                parameters: Some(Any::from(Null)),
            },
            der,
        )?;
        let pkcs8 = Zeroizing::new(
            info.to_der()
                .map_err(|e| Error::der("RSA private key", e))?,
        );
        Self::from_pkcs8_der_as(pkcs8, KeyFormat::Pkcs1)
    }

    fn from_sec1_der(der: &[u8]) -> Result<Self> {
        let ec = sec1::EcPrivateKey::from_der(der).map_err(|e| Error::der("EC private key", e))?;
        let curve = match ec.parameters.and_then(|p| p.named_curve()) {
            Some(c) => c,
            None => match ec.private_key.len() {
                32 => oid::SECP256R1,
                48 => oid::SECP384R1,
                66 => oid::SECP521R1,
                n => {
                    return Err(Error::UnsupportedKey(format!(
                        "EC key of {n} bytes without a named curve"
                    )));
                }
            },
        };
        let info = private_key_info(
            AlgorithmIdentifierOwned {
                oid: oid::EC_PUBLIC_KEY,
                parameters: Some(Any::from(&curve)),
            },
            der,
        )?;
        let pkcs8 = Zeroizing::new(info.to_der().map_err(|e| Error::der("EC private key", e))?);
        Self::from_pkcs8_der_as(pkcs8, KeyFormat::Sec1)
    }

    fn from_pkcs8_der_as(pkcs8: Zeroizing<Vec<u8>>, format: KeyFormat) -> Result<Self> {
        let pkcs8 = v1_pkcs8(pkcs8)?;
        let info =
            PrivateKeyInfo::from_der(&pkcs8).map_err(|e| Error::der("PKCS#8 private key", e))?;
        let alg = &info.algorithm;
        let signer = if alg.oid == oid::RSA_ENCRYPTION {
            let rsa = RsaPrivateKey::from_der(info.private_key.as_bytes())
                .map_err(|e| Error::der("RSA private key", e))?;
            let bits = bit_len(rsa.modulus.as_bytes());
            if bits < 2048 {
                return Err(Error::WeakKey { bits });
            }
            Signer::rsa_from_pkcs8(&pkcs8)?
        } else if alg.oid == oid::ED25519 {
            Signer::ed25519_from_pkcs8(&pkcs8)?
        } else if alg.oid == oid::EC_PUBLIC_KEY {
            let curve = alg
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            match curve {
                Some(c) if c == oid::SECP256R1 => Signer::ec_from_pkcs8(Curve::P256, &pkcs8)?,
                Some(c) if c == oid::SECP384R1 => Signer::ec_from_pkcs8(Curve::P384, &pkcs8)?,
                // Go and the API server take P-521 client keys.
                Some(c) if c == oid::SECP521R1 => Signer::ec_from_pkcs8(Curve::P521, &pkcs8)?,
                Some(c) => {
                    return Err(Error::UnsupportedKey(format!("EC curve {}", oid::name(&c))));
                }
                None => return Err(Error::UnsupportedKey("EC key without a named curve".into())),
            }
        } else {
            return Err(Error::UnsupportedKey(format!(
                "private key algorithm {}",
                oid::name(&alg.oid)
            )));
        };
        Self::from_parts(signer, OnceLock::from(pkcs8), format)
    }

    /// The key's type and size.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// How the key was stored when loaded (PKCS#8 for generated keys).
    pub fn format(&self) -> KeyFormat {
        self.format
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// PKCS#8 `PRIVATE KEY` PEM. This is secret: write it to a 0600 file.
    pub fn to_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(crate::pem_block::encode(
            "PRIVATE KEY",
            self.pkcs8().to_vec(),
        ))
    }

    /// The PKCS#8 DER. This is secret.
    pub fn to_der(&self) -> Zeroizing<Vec<u8>> {
        self.pkcs8().clone()
    }

    /// The traditional PEM kubeadm writes: `RSA PRIVATE KEY` (PKCS#1) for
    /// RSA, `EC PRIVATE KEY` (SEC1, with its curve) for ECDSA, and PKCS#8
    /// for Ed25519, which has no other form. This is secret.
    pub fn to_traditional_pem(&self) -> Result<Zeroizing<String>> {
        let info =
            PrivateKeyInfo::from_der(self.pkcs8()).map_err(|e| Error::der("private key", e))?;
        let (tag, der) = match self.key_type {
            KeyType::Rsa { .. } => ("RSA PRIVATE KEY", info.private_key.as_bytes().to_vec()),
            KeyType::Ed25519 => return Ok(self.to_pem()),
            _ => {
                let inner = sec1::EcPrivateKey::from_der(info.private_key.as_bytes())
                    .map_err(|e| Error::der("EC private key", e))?;
                let curve: ObjectIdentifier = info
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as().ok())
                    .ok_or_else(|| Error::UnsupportedKey("EC key without a curve".into()))?;
                let public = self.public_key();
                let raw = public.spki().subject_public_key.raw_bytes().to_vec();
                let full = sec1::EcPrivateKey {
                    private_key: inner.private_key,
                    parameters: Some(sec1::EcParameters::NamedCurve(curve)),
                    public_key: Some(&raw),
                };
                let der = full.to_der().map_err(|e| Error::der("EC private key", e))?;
                ("EC PRIVATE KEY", der)
            }
        };
        Ok(Zeroizing::new(crate::pem_block::encode(tag, der)))
    }

    /// Signs `message` with this key's signature algorithm.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.signer.sign(message)
    }

    /// The signature algorithm this key signs with (SHA-256 for RSA and
    /// P-256, SHA-384 for P-384).
    pub(crate) fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        let (oid, null) = match self.key_type {
            KeyType::Rsa { .. } => (oid::SHA256_WITH_RSA, true),
            KeyType::EcdsaP256 => (oid::ECDSA_SHA256, false),
            KeyType::EcdsaP384 => (oid::ECDSA_SHA384, false),
            KeyType::EcdsaP521 => (oid::ECDSA_SHA512, false),
            KeyType::Ed25519 => (oid::ED25519, false),
        };
        AlgorithmIdentifierOwned {
            oid,
            parameters: null.then(|| Any::from(Null)),
        }
    }

    /// Writes the key as PKCS#8 PEM to a new file created with mode 0600.
    pub fn write(&self, path: &Path, overwrite: bool) -> Result<()> {
        file::write_atomic(path, self.to_pem().as_bytes(), file::PRIVATE, overwrite)
    }

    /// Whether `public` is this key's public half.
    pub fn matches(&self, public: &PublicKey) -> bool {
        self.public.to_der() == public.to_der()
    }
}

/// PKCS#8 in its v1 form, without the embedded public key: OpenSSL 3.0 and
/// Python cryptography refuse the v2 form aws-lc writes for Ed25519.
fn v1_pkcs8(pkcs8: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>> {
    let mut info =
        PrivateKeyInfo::from_der(&pkcs8).map_err(|e| Error::der("PKCS#8 private key", e))?;
    if info.public_key.is_none() {
        return Ok(pkcs8);
    }
    info.public_key = None;
    Ok(Zeroizing::new(
        info.to_der()
            .map_err(|e| Error::der("PKCS#8 private key", e))?,
    ))
}

/// Decrypts a PBES2 (PBKDF2 + AES-CBC) `ENCRYPTED PRIVATE KEY`.
fn decrypt_pkcs8(der: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let info = EncryptedPrivateKeyInfo::from_der(der)
        .map_err(|e| Error::der("encrypted private key", e))?;
    if info.algorithm.oid != oid::PBES2 {
        return Err(Error::UnsupportedKeyEncryption(oid::name(
            &info.algorithm.oid,
        )));
    }
    let params_der = info
        .algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| Error::der("encrypted private key", "PBES2 without parameters"))?
        .to_der()
        .map_err(|e| Error::der("encrypted private key", e))?;
    let params = pbes2::Parameters::from_der(&params_der)
        .map_err(|e| Error::UnsupportedKeyEncryption(format!("these PBES2 parameters ({e})")))?;
    let kdf = match &params.kdf {
        pbes2::Kdf::Pbkdf2(p) => p,
        _ => return Err(Error::UnsupportedKeyEncryption("scrypt".into())),
    };
    let prf = match kdf.prf {
        pbes2::Pbkdf2Prf::HmacWithSha1 => pbkdf2::PBKDF2_HMAC_SHA1,
        pbes2::Pbkdf2Prf::HmacWithSha256 => pbkdf2::PBKDF2_HMAC_SHA256,
        pbes2::Pbkdf2Prf::HmacWithSha384 => pbkdf2::PBKDF2_HMAC_SHA384,
        pbes2::Pbkdf2Prf::HmacWithSha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        other => {
            return Err(Error::UnsupportedKeyEncryption(format!(
                "PBKDF2 with {other:?}"
            )));
        }
    };
    let (cipher, key_len, iv) = match params.encryption {
        pbes2::EncryptionScheme::Aes128Cbc { iv } => (&AES_128, 16, iv),
        pbes2::EncryptionScheme::Aes192Cbc { iv } => (&AES_192, 24, iv),
        pbes2::EncryptionScheme::Aes256Cbc { iv } => (&AES_256, 32, iv),
        other => return Err(Error::UnsupportedKeyEncryption(format!("{other:?}"))),
    };
    if kdf.iteration_count > MAX_PBKDF2_ITERATIONS {
        return Err(Error::UnsupportedKeyEncryption(format!(
            "PBKDF2 with {} iterations (runnerkey's ceiling is {MAX_PBKDF2_ITERATIONS}, so that a hostile key cannot take minutes to try)",
            kdf.iteration_count
        )));
    }
    let iterations = NonZeroU32::new(kdf.iteration_count)
        .ok_or_else(|| Error::der("encrypted private key", "zero PBKDF2 iterations"))?;
    let mut key = Zeroizing::new(vec![0u8; key_len]);
    pbkdf2::derive(prf, iterations, kdf.salt.as_ref(), passphrase, &mut key);
    let unbound = UnboundCipherKey::new(cipher, &key).map_err(crypto)?;
    let decrypting = PaddedBlockDecryptingKey::cbc_pkcs7(unbound).map_err(crypto)?;
    let mut buf = Zeroizing::new(info.data.as_bytes().to_vec());
    let plain = decrypting
        .decrypt(
            buf.as_mut_slice(),
            DecryptionContext::Iv128(FixedLength::from(iv)),
        )
        .map_err(|_| Error::BadPassphrase)?;
    let plain = Zeroizing::new(plain.to_vec());
    PrivateKeyInfo::from_der(&plain).map_err(|_| Error::BadPassphrase)?;
    Ok(plain)
}

#[cfg(test)]
mod tests;
