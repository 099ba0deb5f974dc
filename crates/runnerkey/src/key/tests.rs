//! Unit tests.

use super::*;

/// An encrypted key asking for 2^32-1 PBKDF2 iterations is refused at
/// once instead of keeping the CPU busy for minutes.
#[test]
fn pbkdf2_iterations_have_a_ceiling() {
    let mut params =
        pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(2048, &[7; 16], [9; 16])
            .unwrap();
    // Beyond what pkcs5's constructor allows: a hostile file says what it likes.
    if let pkcs5::pbes2::Kdf::Pbkdf2(p) = &mut params.kdf {
        p.iteration_count = u32::MAX;
    }
    let info = EncryptedPrivateKeyInfo {
        algorithm: AlgorithmIdentifierOwned {
            oid: oid::PBES2,
            parameters: Some(Any::encode_from(&params).unwrap()),
        },
        data: OctetString::new(vec![0u8; 48]).unwrap(),
    };
    let pem = pem::encode(&pem::Pem::new(
        "ENCRYPTED PRIVATE KEY",
        info.to_der().unwrap(),
    ));
    let start = std::time::Instant::now();
    let err = PrivateKey::from_pem(pem.as_bytes(), Some(&"x".into())).unwrap_err();
    assert!(
        matches!(err.root(), Error::UnsupportedKeyEncryption(m) if m.contains("4294967295")),
        "{err}"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/pki")
        .join(name);
    std::fs::read(path).unwrap()
}

#[test]
fn every_unencrypted_format_kubeadm_and_openssl_write_loads() {
    for (name, format, family) in [
        ("rsa2048-pkcs1.key.pem", KeyFormat::Pkcs1, "RSA"),
        ("kubeadm-ca-rsa2048-pkcs1.key.pem", KeyFormat::Pkcs1, "RSA"),
        ("ec-p256-sec1.key.pem", KeyFormat::Sec1, "ECDSA"),
        (
            "ec-p256-sec1-with-ec-parameters.key.pem",
            KeyFormat::Sec1,
            "ECDSA",
        ),
        ("ec-p384-sec1.key.pem", KeyFormat::Sec1, "ECDSA"),
    ] {
        let key =
            PrivateKey::from_pem(&fixture(name), None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (key.format(), key.key_type().family().as_str()),
            (format, family),
            "{name}"
        );
        // Written back as PKCS#8, it loads as the same key.
        let again = PrivateKey::from_pem(key.to_pem().as_bytes(), None).unwrap();
        assert!(again.matches(key.public_key()));
        assert_eq!(again.format(), KeyFormat::Pkcs8);
    }
}

#[test]
fn pbes2_keys_need_the_right_passphrase() {
    let pem = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds/pbes2-aes256.key.pem"),
    )
    .unwrap();
    let key = PrivateKey::from_pem(&pem, Some(&"fuzz".into())).unwrap();
    assert_eq!(key.format(), KeyFormat::EncryptedPkcs8);
    assert!(matches!(
        PrivateKey::from_pem(&pem, None).unwrap_err().root(),
        Error::PassphraseRequired
    ));
    assert!(matches!(
        PrivateKey::from_pem(&pem, Some(&"wrong".into()))
            .unwrap_err()
            .root(),
        Error::BadPassphrase
    ));
}

#[test]
fn refused_keys_say_why() {
    let weak =
        PrivateKey::from_pem(&fixture("rsa1024-pkcs8-unencrypted.key.pem"), None).unwrap_err();
    assert!(matches!(weak.root(), Error::WeakKey { bits: 1024 }));
    let pbes1 = PrivateKey::from_pem(
        &fixture("rsa-pkcs8-encrypted.key.pem"),
        Some(&"foobar".into()),
    )
    .unwrap_err();
    assert!(
        matches!(pbes1.root(), Error::UnsupportedKeyEncryption(_)),
        "{pbes1}"
    );
    let cert = PrivateKey::from_pem(&fixture("kubeadm-ca-rsa2048.crt.pem"), None).unwrap_err();
    assert!(matches!(cert.root(), Error::WrongPemBlock { .. }), "{cert}");
}

#[test]
fn generated_keys_sign_and_never_show_their_material() {
    for &algorithm in KeyAlgorithm::ALL {
        if matches!(algorithm, KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096) {
            continue;
        }
        let key = PrivateKey::generate(algorithm).unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains("PRIVATE") && debug.len() < 200, "{debug}");
        let sig = key.sign(b"message").unwrap();
        key.public_key()
            .verify(&key.signature_algorithm(), b"message", &sig)
            .unwrap();
        assert_eq!(algorithm.name().parse::<KeyAlgorithm>().unwrap(), algorithm);
    }
    assert!(matches!(
        "rsa-1024".parse::<KeyAlgorithm>(),
        Err(crate::Error::Unknown { .. })
    ));
}

#[test]
fn pem_output_has_lf_line_endings_as_openssl_writes() {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let pem = key.to_pem();
    assert!(
        !pem.contains('\r') && pem.ends_with("-----END PRIVATE KEY-----\n"),
        "{:?}",
        pem.as_str()
    );
    let ca = crate::CertificateAuthority::generate(&crate::CaParams::default()).unwrap();
    assert!(!ca.certificate().to_pem().contains('\r'));
    assert!(!key.to_traditional_pem().unwrap().contains('\r'));
}

#[test]
fn legacy_pem_encryption_is_refused_with_the_conversion() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAECAwQFBgcICQoLDA0ODw==\n-----END RSA PRIVATE KEY-----\n";
    let e = PrivateKey::from_pem(pem.as_bytes(), Some(&"x".into())).unwrap_err();
    assert!(
        matches!(e.root(), Error::UnsupportedKeyEncryption(_)),
        "{e}"
    );
    assert!(e.to_string().contains("openssl pkcs8 -topk8"), "{e}");
}

#[test]
fn writing_a_key_creates_its_directory_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/dir/k.pem");
    PrivateKey::generate(KeyAlgorithm::EcdsaP256)
        .unwrap()
        .write(&path, false)
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&path), mode(path.parent().unwrap())), (0o600, 0o700));
    assert_eq!(mode(&dir.path().join("new")), 0o755);
}

#[test]
fn openssl_legacy_encryption_is_refused_naming_the_cipher_and_its_conversion_reads() {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pki");
    let legacy = std::fs::read(fixtures.join("ec-p256-legacy-aes256.key.pem")).unwrap();
    let e = PrivateKey::from_pem(&legacy, Some(&"runnerkey".into())).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e.root(), Error::UnsupportedKeyEncryption(_)),
        "{e}"
    );
    for part in [
        "Proc-Type: 4,ENCRYPTED",
        "AES-256-CBC",
        "openssl ec -aes256",
        "openssl pkcs8 -topk8 -v2 aes-256-cbc",
    ] {
        assert!(text.contains(part), "{part:?} missing: {text}");
    }
    let converted = std::fs::read(fixtures.join("ec-p256-legacy-aes256-topk8.key.pem")).unwrap();
    let key = PrivateKey::from_pem(&converted, Some(&"runnerkey".into())).unwrap();
    assert_eq!(key.format(), KeyFormat::EncryptedPkcs8);
}
