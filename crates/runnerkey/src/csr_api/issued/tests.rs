//! The CSR flow's judgements on recorded objects: no API server involved.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::*;
use crate::k8s_csr::K8sCsrParams;
use crate::{
    CaParams, CertificateAuthority, CertificateRequest, CsrParams, IssueParams, KeyAlgorithm,
    Lifetime,
};

const YEAR: u64 = 365 * 86_400;

fn ca(cn: &str, lifetime: Duration) -> CertificateAuthority {
    CertificateAuthority::generate(&CaParams {
        common_name: cn.into(),
        algorithm: KeyAlgorithm::EcdsaP256,
        lifetime: Lifetime::from_duration(lifetime),
        ..CaParams::default()
    })
    .unwrap()
}

fn key() -> PrivateKey {
    PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap()
}

fn runner() -> Identity {
    Identity::new("runner", ["gitlab-runners"]).unwrap()
}

fn csr(key: &PrivateKey, who: Identity) -> CertificateRequest {
    CertificateRequest::create(key, &CsrParams::new(who)).unwrap()
}

fn sign(
    ca: &CertificateAuthority,
    key: &PrivateKey,
    who: Identity,
    lifetime: Duration,
) -> Certificate {
    ca.sign(
        &csr(key, who),
        &IssueParams {
            lifetime: Lifetime::from_duration(lifetime),
            ..IssueParams::default()
        },
    )
    .unwrap()
    .certificate
}

/// The object as kube-apiserver returns it, for `key`'s request, with
/// `status`.
fn object(key: &PrivateKey, status: Value) -> Value {
    let made = K8sCsr::new(&csr(key, runner()), &K8sCsrParams::new("runnerkey-x7k2p")).unwrap();
    let mut v = serde_json::to_value(&made).unwrap();
    v["metadata"]["uid"] = json!("0b8ac1e6-3f0c-4a5e-9a43-6e0d4f1f3c11");
    v["metadata"]["resourceVersion"] = json!("48213");
    v["status"] = status;
    v
}

const UID: &str = "0b8ac1e6-3f0c-4a5e-9a43-6e0d4f1f3c11";

fn approved() -> Value {
    json!({"type": "Approved", "status": "True", "reason": "AutoApproved",
           "message": "approved by runnerkey", "lastUpdateTime": "2026-05-01T10:00:00Z"})
}

fn issued(cert: &Certificate) -> Value {
    json!({"conditions": [approved()], "certificate": STANDARD.encode(cert.to_pem())})
}

fn ended(kind: &str) -> Value {
    json!({"conditions": [{"type": kind, "status": "True", "reason": "SignerValidationFailure",
                           "message": "not for this cluster"}]})
}

#[test]
fn pending_and_approved_but_not_issued_are_waited_for() {
    let k = key();
    for status in [json!({}), json!({"conditions": [approved()]})] {
        let got = judge_object(&object(&k, status), &k, &runner(), &[]).unwrap();
        assert!(got.is_none());
    }
}

#[test]
fn a_certificate_issued_for_the_key_and_identity_is_taken() {
    let (ca, k) = (ca("kubernetes", Duration::from_secs(YEAR)), key());
    let cert = sign(&ca, &k, runner(), Duration::from_secs(3600));
    let cas = [ca.certificate().clone()];
    let got = judge_object(&object(&k, issued(&cert)), &k, &runner(), &cas).unwrap();
    assert_eq!(got, Some(cert));
}

#[test]
fn a_certificate_for_another_key_identity_or_ca_is_final() {
    let (ca, k) = (ca("kubernetes", Duration::from_secs(YEAR)), key());
    let cas = [ca.certificate().clone()];
    let hour = Duration::from_secs(3600);
    let other_key = sign(&ca, &key(), runner(), hour);
    assert!(matches!(
        judge_object(&object(&k, issued(&other_key)), &k, &runner(), &cas),
        Err(Error::CsrApi(CsrApiProblem::WrongKey))
    ));
    let admin = Identity::new("runner", ["gitlab-runners", "admins"]).unwrap();
    let other_identity = sign(&ca, &k, admin, hour);
    assert!(matches!(
        judge_object(&object(&k, issued(&other_identity)), &k, &runner(), &cas),
        Err(Error::CsrApi(CsrApiProblem::WrongIdentity { .. }))
    ));
    let foreign = sign(
        &self::ca("other", Duration::from_secs(YEAR)),
        &k,
        runner(),
        hour,
    );
    assert!(matches!(
        judge_object(&object(&k, issued(&foreign)), &k, &runner(), &cas),
        Err(Error::CsrApi(CsrApiProblem::NotAccepted { .. }))
    ));
}

#[test]
fn denied_and_failed_are_final() {
    let k = key();
    for kind in ["Denied", "Failed"] {
        let Err(Error::CsrNotIssued { state, .. }) =
            judge_object(&object(&k, ended(kind)), &k, &runner(), &[])
        else {
            panic!("{kind} must end the wait");
        };
        assert_eq!(state.as_str(), kind.to_lowercase(), "{state:?}");
    }
}

#[test]
fn a_request_may_be_adopted_only_as_it_was_left() {
    let k = key();
    assert!(adoptable(&object(&k, json!({})), UID, &k).is_ok());
    assert!(adoptable(&object(&k, json!({"conditions": [approved()]})), UID, &k).is_ok());
    assert!(matches!(
        adoptable(&object(&k, json!({})), "9f1d-another-uid", &k),
        Err(NotAdoptable::Replaced)
    ));
    assert!(matches!(
        adoptable(&object(&k, json!({})), UID, &key()),
        Err(NotAdoptable::OtherKey)
    ));
    for (kind, word) in [("Denied", "denied"), ("Failed", "failed")] {
        let Err(NotAdoptable::Ended(state, message)) = adoptable(&object(&k, ended(kind)), UID, &k)
        else {
            panic!("{kind} is not adoptable");
        };
        assert_eq!(
            (state.as_str(), message.as_str()),
            (word, "not for this cluster")
        );
    }
    let mut unreadable = object(&k, json!({}));
    unreadable["spec"]["request"] =
        json!(STANDARD.encode(
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
        ));
    assert!(matches!(
        adoptable(&unreadable, UID, &k),
        Err(NotAdoptable::Unreadable(_))
    ));
    let pod = json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"uid": UID}, "spec": {}});
    assert!(matches!(
        adoptable(&pod, UID, &k),
        Err(NotAdoptable::NotACsr(_))
    ));
}

fn lifetime_of(cert: &Certificate) -> u64 {
    (cert.not_after() - cert.not_before()).whole_seconds() as u64
}

fn too_long(r: Result<bool>) -> bool {
    matches!(r, Err(Error::CsrApi(CsrApiProblem::SignerTooLong { .. })))
}

#[test]
fn a_certificate_longer_than_asked_beyond_the_slack_is_refused() {
    let ca = ca("kubernetes", Duration::from_secs(YEAR));
    let cert = sign(&ca, &key(), runner(), Duration::from_secs(86_400));
    let issued_for = lifetime_of(&cert);
    let asked = |s: u64| Some(Duration::from_secs(s));
    assert!(!judge_lifetime(&cert, asked(issued_for), &[]).unwrap());
    assert!(!judge_lifetime(&cert, asked(issued_for - 600), &[]).unwrap());
    assert!(too_long(judge_lifetime(
        &cert,
        asked(issued_for - 601),
        &[]
    )));
    assert!(!judge_lifetime(&cert, None, &[]).unwrap());
}

#[test]
fn a_certificate_shorter_than_asked_beyond_the_slack_was_clamped() {
    let ca = ca("kubernetes", Duration::from_secs(YEAR));
    let cert = sign(&ca, &key(), runner(), Duration::from_secs(86_400));
    let issued_for = lifetime_of(&cert);
    let asked = |s: u64| Some(Duration::from_secs(s));
    assert!(!judge_lifetime(&cert, asked(issued_for + 600), &[]).unwrap());
    assert!(judge_lifetime(&cert, asked(issued_for + 601), &[]).unwrap());
    assert!(judge_lifetime(&cert, asked(30 * 86_400), &[]).unwrap());
}

#[test]
fn a_certificate_the_api_could_not_ask_for_again_is_refused() {
    let ca = ca("kubernetes", Duration::from_secs(100 * YEAR));
    let cert = sign(&ca, &key(), runner(), Duration::from_secs(70 * YEAR));
    assert!(lifetime_of(&cert) > i32::MAX as u64);
    assert!(too_long(judge_lifetime(
        &cert,
        None,
        &[ca.certificate().clone()]
    )));
    let fine = sign(&ca, &key(), runner(), Duration::from_secs(60 * YEAR));
    assert!(!judge_lifetime(&fine, None, &[ca.certificate().clone()]).unwrap());
}

#[test]
fn a_certificate_outliving_its_ca_is_refused() {
    // The signer's CA, as ca_file holds it, ends in a day; the certificate
    // (from a CA of the same name that lives longer) in a week.
    let long = ca("kubernetes", Duration::from_secs(YEAR));
    let short = ca("kubernetes", Duration::from_secs(86_400));
    let cert = sign(&long, &key(), runner(), Duration::from_secs(7 * 86_400));
    assert!(too_long(judge_lifetime(
        &cert,
        None,
        &[short.certificate().clone()]
    )));
    // A CA of another name is not its CA.
    let other = ca("front-proxy-ca", Duration::from_secs(86_400));
    assert!(!judge_lifetime(&cert, None, &[other.certificate().clone()]).unwrap());
    assert!(!judge_lifetime(&cert, None, &[long.certificate().clone()]).unwrap());
}
