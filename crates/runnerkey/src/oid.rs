//! Object identifiers runnerkey reads and writes.

use der::asn1::ObjectIdentifier as Oid;

pub(crate) const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
pub(crate) const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
pub(crate) const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
pub(crate) const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
pub(crate) const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
pub(crate) const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
pub(crate) const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
pub(crate) const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
pub(crate) const SECP384R1: Oid = Oid::new_unwrap("1.3.132.0.34");
pub(crate) const SECP521R1: Oid = Oid::new_unwrap("1.3.132.0.35");
pub(crate) const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
pub(crate) const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
pub(crate) const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
pub(crate) const ED25519: Oid = Oid::new_unwrap("1.3.101.112");

pub(crate) const COMMON_NAME: Oid = Oid::new_unwrap("2.5.4.3");
pub(crate) const ORGANIZATION: Oid = Oid::new_unwrap("2.5.4.10");

pub(crate) const KP_SERVER_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.1");
pub(crate) const KP_CLIENT_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.2");
pub(crate) const ANY_EXTENDED_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37.0");

pub(crate) const PBES2: Oid = Oid::new_unwrap("1.2.840.113549.1.5.13");

/// The OIDs runnerkey names, with their short names: a table made at
/// compile time (`Oid::new_unwrap` is a `const fn`), so a lookup compares
/// bytes and parses no dotted string.
static KNOWN: [(Oid, &str); 26] = [
    (RSA_ENCRYPTION, "rsaEncryption"),
    (SHA1_WITH_RSA, "sha1WithRSAEncryption"),
    (SHA256_WITH_RSA, "sha256WithRSAEncryption"),
    (SHA384_WITH_RSA, "sha384WithRSAEncryption"),
    (SHA512_WITH_RSA, "sha512WithRSAEncryption"),
    (RSASSA_PSS, "rsassaPss"),
    (ECDSA_SHA256, "ecdsa-with-SHA256"),
    (ECDSA_SHA384, "ecdsa-with-SHA384"),
    (ECDSA_SHA512, "ecdsa-with-SHA512"),
    (ED25519, "ED25519"),
    (KP_SERVER_AUTH, "serverAuth"),
    (KP_CLIENT_AUTH, "clientAuth"),
    (COMMON_NAME, "CN"),
    (ORGANIZATION, "O"),
    (Oid::new_unwrap("2.5.4.6"), "C"),
    (Oid::new_unwrap("2.5.4.7"), "L"),
    (Oid::new_unwrap("2.5.4.8"), "ST"),
    (Oid::new_unwrap("2.5.4.11"), "OU"),
    (Oid::new_unwrap("1.2.840.113549.1.9.1"), "emailAddress"),
    (Oid::new_unwrap("1.3.6.1.5.5.7.3.3"), "codeSigning"),
    (Oid::new_unwrap("1.3.6.1.5.5.7.3.4"), "emailProtection"),
    (Oid::new_unwrap("1.3.6.1.5.5.7.3.8"), "timeStamping"),
    (Oid::new_unwrap("1.3.6.1.5.5.7.3.9"), "OCSPSigning"),
    (
        Oid::new_unwrap("1.2.840.113549.1.12.1.3"),
        "pbeWithSHAAnd3-KeyTripleDES-CBC",
    ),
    (
        Oid::new_unwrap("1.2.840.113549.1.5.3"),
        "pbeWithMD5AndDES-CBC",
    ),
    (
        Oid::new_unwrap("1.2.840.113549.1.5.10"),
        "pbeWithSHA1AndDES-CBC",
    ),
];

/// The short, familiar name of an OID runnerkey knows.
pub(crate) fn known(oid: &Oid) -> Option<&'static str> {
    KNOWN.iter().find(|(o, _)| o == oid).map(|(_, n)| *n)
}

/// A short, familiar name for an OID, or its dotted form.
pub(crate) fn name(oid: &Oid) -> String {
    known(oid).map_or_else(|| oid.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_oids_have_their_names_and_others_their_dotted_form() {
        assert_eq!(name(&COMMON_NAME), "CN");
        assert_eq!(name(&Oid::new_unwrap("2.5.4.11")), "OU");
        assert_eq!(name(&Oid::new_unwrap("1.2.3.4")), "1.2.3.4");
        // Every entry is named once.
        for (i, (o, _)) in KNOWN.iter().enumerate() {
            assert_eq!(KNOWN.iter().position(|(p, _)| p == o), Some(i), "{o}");
        }
    }
}
