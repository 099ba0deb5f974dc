//! Unit tests.

use super::*;

#[test]
fn servers_must_be_https_without_credentials() {
    assert!(check_server("https://10.0.0.1:6443").is_ok());
    assert!(matches!(
        check_server("http://10.0.0.1:6443"),
        Err(crate::Error::BadUrl { .. })
    ));
    assert!(matches!(
        check_server("https://"),
        Err(crate::Error::BadUrl { .. })
    ));
    let e = check_server("https://u:secret@h:6443")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("secret"), "{e}");
}

#[test]
fn an_embedded_key_is_in_the_file_and_nowhere_else() {
    use crate::identity::Identity;
    use crate::issue::IssueParams;
    let tmp = tempfile::tempdir().unwrap();
    let ca = crate::CertificateAuthority::generate(&crate::CaParams {
        algorithm: crate::KeyAlgorithm::EcdsaP256,
        ..crate::CaParams::default()
    })
    .unwrap();
    let (key, issued) = ca
        .issue(
            &Identity::new("runner", ["ci"]).unwrap(),
            crate::KeyAlgorithm::EcdsaP256,
            &IssueParams::default(),
        )
        .unwrap();
    let path = |n: &str| tmp.path().join(n);
    std::fs::write(path("ca.crt"), ca.certificate().to_pem()).unwrap();
    std::fs::write(path("r.crt"), issued.certificate.to_pem()).unwrap();
    std::fs::write(path("r.key"), key.to_pem()).unwrap();
    let params = KubeconfigParams::new(
        "https://10.0.0.1:6443",
        path("ca.crt"),
        path("r.crt"),
        path("r.key"),
    );
    let config = Kubeconfig::new(&params).unwrap();
    let key_data = STANDARD.encode(key.to_pem().as_bytes());
    // Base64 of "-----BEGIN PRIVATE": what any embedded key starts with.
    let marker = "LS0tLS1CRUdJTiBQUklWQVRF";
    assert!(key_data.starts_with(marker));
    for shown in [
        format!("{config:?}"),
        format!("{:?}", config.users[0].value.user),
        serde_json::to_string(&config.users[0].value.user.client_key_data).unwrap(),
    ] {
        assert!(!shown.contains(marker), "{shown}");
    }
    // The file holds it, as kubectl needs, and reads back the same.
    let yaml = config.to_yaml().unwrap();
    assert!(
        yaml.contains(&format!("client-key-data: {key_data}")),
        "{yaml}"
    );
    config.write(&path("kubeconfig"), false).unwrap();
    let back = Kubeconfig::parse(&std::fs::read_to_string(path("kubeconfig")).unwrap()).unwrap();
    assert_eq!(back, config);
    let user = &back.users[0].value.user;
    assert_eq!(
        user.client_key_data.as_ref().map(Secret::expose_secret),
        Some(key_data.as_str())
    );
}

#[test]
fn a_kubeconfig_gives_its_cluster_cas_and_deep_nesting_is_refused() {
    let ca = crate::CertificateAuthority::generate(&crate::CaParams {
        algorithm: crate::KeyAlgorithm::EcdsaP256,
        ..crate::CaParams::default()
    })
    .unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(ca.certificate().to_pem());
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: https://h:6443\n    certificate-authority-data: {data}\n"
    );
    let k = Kubeconfig::parse(&text).unwrap();
    assert_eq!(k.cluster_cas().unwrap(), vec![ca.certificate().clone()]);
    assert!(matches!(
        Kubeconfig::parse(&format!("a: {}", "[".repeat(1000))),
        Err(crate::Error::TooDeep { .. })
    ));
}

#[test]
fn a_key_given_as_a_kubeconfig_is_not_quoted_in_the_error() {
    let key = crate::PrivateKey::generate(crate::KeyAlgorithm::EcdsaP256)
        .unwrap()
        .to_pem();
    let body: String = key.lines().nth(1).unwrap().to_string();
    let err = Kubeconfig::parse(&key).unwrap_err().chain();
    assert!(err.starts_with("not a kubeconfig"), "{err}");
    assert!(
        !err.contains(&body) && !err.contains("PRIVATE KEY"),
        "{err}"
    );
    let csr = crate::k8s_csr::K8sCsr::parse(&key).unwrap_err().chain();
    assert!(
        !csr.contains(&body) && !csr.contains("PRIVATE KEY"),
        "{csr}"
    );
    let huge = "A".repeat(3_000_000);
    assert!(Kubeconfig::parse(&huge).unwrap_err().chain().len() < 400);
    assert!(
        crate::k8s_csr::K8sCsr::parse(&huge)
            .unwrap_err()
            .chain()
            .len()
            < 400
    );
}
