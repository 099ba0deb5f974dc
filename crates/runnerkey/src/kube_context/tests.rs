//! Unit tests.

use super::*;
use crate::ca::CaParams;
use crate::identity::Identity;
use crate::issue::IssueParams;
use crate::{CertificateAuthority, KeyAlgorithm};

fn identity_files(dir: &Path) -> CertificateAuthority {
    let ca = CertificateAuthority::generate(&CaParams {
        algorithm: KeyAlgorithm::EcdsaP256,
        ..CaParams::default()
    })
    .unwrap();
    let (key, issued) = ca
        .issue(
            &Identity::new("runner", ["ci"]).unwrap(),
            KeyAlgorithm::EcdsaP256,
            &IssueParams::default(),
        )
        .unwrap();
    std::fs::write(dir.join("ca.crt"), ca.certificate().to_pem()).unwrap();
    std::fs::write(dir.join("r.crt"), issued.certificate.to_pem()).unwrap();
    std::fs::write(dir.join("r.key"), key.to_pem()).unwrap();
    ca
}

const RELATIVE: &str = "apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: 'https://10.0.0.1:6443', certificate-authority: ca.crt}
users:
- name: u
  user: {client-certificate: r.crt, client-key: r.key}
- name: t
  user: {tokenFile: token}
- name: aws
  user: {exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1, args: [eks]}}
contexts:
- name: cert
  context: {cluster: c, user: u, namespace: ci}
- name: token
  context: {cluster: c, user: t}
- name: plugin
  context: {cluster: c, user: aws}
- name: broken
  context: {cluster: nowhere, user: u}
current-context: cert
";

#[test]
fn relative_paths_are_read_beside_the_kubeconfig() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = identity_files(tmp.path());
    std::fs::write(tmp.path().join("token"), "s3cret\n").unwrap();
    let path = tmp.path().join("kubeconfig");
    std::fs::write(&path, RELATIVE).unwrap();
    // Read from another working directory: the paths still resolve.
    let config = load_kubeconfig(std::slice::from_ref(&path)).unwrap();
    let ctx = config.resolve_context(None, "kubeconfig").unwrap();
    assert_eq!(
        (ctx.name.as_str(), ctx.namespace.as_deref()),
        ("cert", Some("ci"))
    );
    assert_eq!(ctx.cas, vec![ca.certificate().clone()]);
    match &ctx.credentials {
        ContextCredentials::ClientCertificate { chain, key, .. } => {
            assert_eq!(chain[0].identity().unwrap().user(), "runner");
            assert!(key.matches(&chain[0].public_key()));
        }
        other => panic!("{other:?}"),
    }
    let token = config.resolve_context(Some("token"), "k").unwrap();
    assert!(
        matches!(token.credentials, ContextCredentials::Token { ref token, .. } if token.expose_secret() == "s3cret")
    );
    // Neither the context nor the kubeconfig it came from shows the token.
    let shown = format!("{token:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("Secret(<redacted>)"), "{shown}");
    let plugin = config.resolve_context(Some("plugin"), "k").unwrap();
    assert!(
        matches!(plugin.credentials, ContextCredentials::Plugin { ref what } if what.contains("aws"))
    );
    let err = config.resolve_context(Some("broken"), "k").unwrap_err();
    assert!(err.to_string().contains("\"nowhere\""), "{err}");
    let err = config.resolve_context(Some("nope"), "k").unwrap_err();
    assert!(
        matches!(&err, Error::Kubeconfig { problem: KubeconfigProblem::NoContext { available, .. }, .. }
            if available.join(", ") == "cert, token, plugin, broken"),
        "{err}"
    );
}

#[test]
fn several_files_merge_first_wins_and_missing_ones_are_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    identity_files(tmp.path());
    let first = tmp.path().join("a");
    std::fs::write(
        &first,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://first:6443'}\ncontexts: []\n",
    )
    .unwrap();
    let second = tmp.path().join("b");
    std::fs::write(&second, RELATIVE.replace("10.0.0.1", "second")).unwrap();
    let missing = tmp.path().join("missing");
    let config = load_kubeconfig(&[first, missing.clone(), second]).unwrap();
    let ctx = config.resolve_context(None, "k").unwrap();
    assert_eq!(ctx.server, "https://first:6443");
    assert!(
        ctx.cas.is_empty(),
        "the first file's cluster has no CA: the system's"
    );
    assert!(
        load_kubeconfig(&[missing]).is_err(),
        "one missing file is an error"
    );
}
