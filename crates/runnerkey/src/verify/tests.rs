//! Unit tests.

use super::*;
use crate::code::Code;
use crate::identity::Identity;
use crate::{CaParams, CertificateAuthority, IssueParams, KeyAlgorithm, Lifetime};

fn ca() -> CertificateAuthority {
    CertificateAuthority::generate(&CaParams {
        algorithm: KeyAlgorithm::EcdsaP256,
        ..CaParams::default()
    })
    .unwrap()
}

#[test]
fn own_certificate_has_no_problem() {
    let ca = ca();
    let who = Identity::new("gitlab-admin", ["runners"]).unwrap();
    let (key, issued) = ca
        .issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())
        .unwrap();
    let r = verify_client_cert(
        std::slice::from_ref(ca.certificate()),
        &issued.certificate,
        Some(&key),
        None,
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(r.ok);
    assert_eq!(r.common_names, vec!["gitlab-admin".to_string()]);
}

#[test]
fn long_validity_and_system_masters_are_flagged() {
    let ca = ca();
    let who = Identity::new("admin", [SYSTEM_MASTERS, "system:nodes"]).unwrap();
    let params = IssueParams {
        lifetime: Lifetime::days(1000),
        allow_system_masters: true,
        now: None,
    };
    let (_, issued) = ca.issue(&who, KeyAlgorithm::EcdsaP256, &params).unwrap();
    let r = verify_client_cert(
        std::slice::from_ref(ca.certificate()),
        &issued.certificate,
        None,
        None,
    );
    let codes: Vec<_> = r.problems.iter().map(|p| (p.code, p.severity)).collect();
    assert!(
        codes.contains(&(Code::SystemMasters, Severity::Error)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(Code::SystemGroup, Severity::Warning)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(Code::LongValidity, Severity::Warning)),
        "{codes:?}"
    );
    assert!(!r.ok);
}

#[test]
fn other_ca_is_unknown_authority() {
    let (ca, other) = (ca(), ca());
    let who = Identity::new("u", Vec::<String>::new()).unwrap();
    let (_, issued) = ca
        .issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())
        .unwrap();
    let r = verify_client_cert(
        std::slice::from_ref(other.certificate()),
        &issued.certificate,
        None,
        None,
    );
    assert_eq!(r.problems[0].code, Code::UnknownAuthority);
    assert!(!r.ok);
}

fn fixture(name: &str) -> Certificate {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/pki")
        .join(name);
    Certificate::load(&path).unwrap()
}

#[test]
fn real_kubeadm_material_is_judged_as_the_api_server_would() {
    let ca = fixture("kubeadm-ca-rsa2048.crt.pem");
    let codes = |cert: &str| {
        verify_client_cert(std::slice::from_ref(&ca), &fixture(cert), None, None)
            .problems
            .iter()
            .map(|p| p.code)
            .collect::<Vec<_>>()
    };
    let expired = codes("kubeadm-client-expired-system-masters.crt.pem");
    assert!(
        expired.contains(&Code::Expired) && expired.contains(&Code::SystemMasters),
        "{expired:?}"
    );
    assert!(codes("kubeadm-front-proxy-client-wrong-ca.crt.pem").contains(&Code::UnknownAuthority));
    assert!(
        codes("kubeadm-apiserver-serving-ip-sans-expired.crt.pem").contains(&Code::NoClientAuth)
    );
}

#[test]
fn a_v1_ca_and_a_leaf_without_eku_are_accepted() {
    let ca = fixture("openssl-ca-x509v1-no-extensions.crt.pem");
    let r = verify_client_cert(
        std::slice::from_ref(&ca),
        &fixture("openssl-client-system-masters-no-eku.crt.pem"),
        None,
        None,
    );
    let errors: Vec<_> = r.problems_of(Severity::Error).map(|p| p.code).collect();
    assert_eq!(errors, [Code::SystemMasters]);
    assert_eq!(r.signed_by.as_deref(), Some(ca.subject().as_str()));
}

#[test]
fn key_files_others_can_read_are_errors() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    std::fs::write(&key, "x").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(key_file_problems(&key, None).is_empty());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let p = key_file_problems(&key, Some(u32::MAX));
    assert_eq!(
        p.iter().map(|p| (p.code, p.severity)).collect::<Vec<_>>(),
        [
            (Code::KeyFilePermissions, Severity::Error),
            (Code::KeyFileOwner, Severity::Warning)
        ]
    );
}

#[test]
fn kubeadms_admin_group_is_flagged() {
    let ca = CertificateAuthority::generate(&CaParams::default()).unwrap();
    let who = Identity::new("kubernetes-admin", ["kubeadm:cluster-admins"]).unwrap();
    let params = IssueParams {
        allow_system_masters: true,
        ..IssueParams::default()
    };
    let (_, issued) = ca.issue(&who, KeyAlgorithm::EcdsaP256, &params).unwrap();
    let report = verify_client_cert(
        std::slice::from_ref(ca.certificate()),
        &issued.certificate,
        None,
        None,
    );
    assert!(
        report
            .problems
            .iter()
            .any(|r| r.code == Code::SystemGroup && r.message.contains("cluster-admin")),
        "{:?}",
        report.problems
    );
}
