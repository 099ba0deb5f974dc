//! doctor's online judgement, fed the answers a kube-apiserver (v1.36)
//! gives: no connection is made.

use std::time::Duration;

use super::super::report::{PermissionCheck, RunnerDiagnosis};
use super::super::{Ctx, Presented};
use crate::api_client::{Response, ServerCertProblem, TransportError};
use crate::code::Code;
use crate::next_step::NextStep;
use crate::rbac::{Permission, Profile};
use crate::severity::Severity;
use crate::{
    CaParams, CertificateAuthority, CertificateRequest, CsrParams, Identity, IssueParams,
    KeyAlgorithm, Lifetime, PrivateKey,
};

const VERSION: &str = r#"{
  "major": "1",
  "minor": "36",
  "emulationMajor": "1",
  "emulationMinor": "36",
  "minCompatibilityMajor": "1",
  "minCompatibilityMinor": "35",
  "gitVersion": "v1.36.0",
  "gitCommit": "0e0ab5b1e3c9c5d35b6e5c6e5b9e84c1dfb3c9a1",
  "gitTreeState": "clean",
  "buildDate": "2026-04-22T16:52:33Z",
  "goVersion": "go1.26.2",
  "compiler": "gc",
  "platform": "linux/amd64"
}"#;

const UNAUTHORIZED: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;

const SSR_FORBIDDEN: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"selfsubjectreviews.authentication.k8s.io is forbidden: User \"system:anonymous\" cannot create resource \"selfsubjectreviews\" in API group \"authentication.k8s.io\" at the cluster scope","reason":"Forbidden","details":{"group":"authentication.k8s.io","kind":"selfsubjectreviews"},"code":403}"#;

fn self_subject_review(user: &str) -> String {
    format!(
        r#"{{
  "kind": "SelfSubjectReview",
  "apiVersion": "authentication.k8s.io/v1",
  "metadata": {{"creationTimestamp": null}},
  "status": {{
    "userInfo": {{
      "username": "{user}",
      "groups": ["gitlab-runners", "system:authenticated"],
      "extra": {{"authentication.kubernetes.io/credential-id": ["X509SHA256=5b0e"]}}
    }}
  }}
}}"#
    )
}

fn answer(status: u16, body: &str) -> Response {
    Response {
        status,
        body: body.as_bytes().to_vec(),
        request: "POST /apis/authentication.k8s.io/v1/selfsubjectreviews".into(),
    }
}

fn ctx(presents: Presented) -> Ctx {
    Ctx {
        d: RunnerDiagnosis {
            runner: "r".into(),
            index: 0,
            host: Some("https://10.0.0.1:6443".into()),
            presents,
            job_identity: "system:serviceaccount:ci:default".into(),
            job_namespace: "ci".into(),
            job_service_account: "default".into(),
            certificates: Vec::new(),
            online: false,
            server_version: None,
            authenticated_as: None,
            checks: Vec::new(),
            permissions: Vec::new(),
            deployer_permissions: Vec::new(),
            deployer_note: None,
            runner_privileges: None,
            job_privileges: None,
            admin_bindings: Vec::new(),
            findings: Vec::new(),
        },
        timeout: Duration::from_secs(5),
        jobs: true,
        default_account_too: false,
    }
}

fn certificate_of(user: &str) -> Presented {
    Presented::ClientCertificate {
        user: user.into(),
        groups: vec!["gitlab-runners".into()],
    }
}

/// The findings' (code, severity), in order.
fn found(c: &Ctx) -> Vec<(Code, Severity)> {
    c.d.findings.iter().map(|f| (f.code, f.severity)).collect()
}

fn passed(c: &Ctx) -> Vec<Code> {
    c.d.checks.iter().filter(|c| c.ok).map(|c| c.code).collect()
}

fn version(c: &mut Ctx, status: u16, body: &str, bearer: bool, anonymous: bool) -> bool {
    c.version_seen(
        &answer(status, body),
        bearer,
        anonymous,
        "https://10.0.0.1:6443",
        &[],
    )
}

#[test]
fn a_kubernetes_version_answer_goes_on_and_records_the_version() {
    let mut c = ctx(certificate_of("runner"));
    assert!(version(&mut c, 200, VERSION, false, false));
    assert_eq!(c.d.server_version.as_deref(), Some("v1.36.0"));
    assert_eq!(passed(&c), [Code::ApiReachable]);
    assert!(found(&c).is_empty());
}

#[test]
fn a_401_is_blamed_on_what_was_presented() {
    // A certificate from an unknown CA, or an expired one: issue another.
    let mut c = ctx(certificate_of("runner"));
    assert!(!version(&mut c, 401, UNAUTHORIZED, false, false));
    assert_eq!(found(&c), [(Code::ClientCertRejected, Severity::Error)]);
    assert_eq!(
        c.d.findings[0].next,
        Some(NextStep::IssueCertificate { renew: true })
    );
    let mut c = ctx(Presented::BearerToken);
    assert!(!version(&mut c, 401, UNAUTHORIZED, true, false));
    assert_eq!(found(&c), [(Code::BearerTokenRejected, Severity::Error)]);
    let mut c = ctx(Presented::Anonymous);
    assert!(!version(&mut c, 401, UNAUTHORIZED, false, true));
    assert_eq!(found(&c), [(Code::AnonymousRejected, Severity::Error)]);
}

#[test]
fn a_server_that_is_not_kubernetes_stops_the_checks() {
    for (status, body) in [
        (200, r#"{"version":"2.4.1"}"#),
        (200, "<html>It works!</html>"),
        (403, SSR_FORBIDDEN),
        (503, "service unavailable"),
    ] {
        let mut c = ctx(certificate_of("runner"));
        assert!(!version(&mut c, status, body, false, false), "{status}");
        assert_eq!(found(&c), [(Code::ApiError, Severity::Error)], "{status}");
        assert_eq!(c.d.server_version, None);
    }
}

#[test]
fn the_expected_user_is_confirmed() {
    let mut c = ctx(certificate_of("runner"));
    assert!(!c.review_seen(Ok(answer(201, &self_subject_review("runner")))));
    assert_eq!(passed(&c), [Code::Authenticated]);
    assert!(found(&c).is_empty());
    let me = c.d.authenticated_as.as_ref().unwrap();
    assert_eq!(me.username, "runner");
    assert_eq!(me.groups, ["gitlab-runners", "system:authenticated"]);
}

#[test]
fn another_user_than_the_certificates_cn_is_a_warning() {
    let mut c = ctx(certificate_of("runner"));
    assert!(!c.review_seen(Ok(answer(201, &self_subject_review("oidc:runner")))));
    assert_eq!(found(&c), [(Code::IdentityDiffers, Severity::Warning)]);
    assert_eq!(
        c.d.authenticated_as.as_ref().unwrap().username,
        "oidc:runner"
    );
    // A token names no CN to compare with.
    let mut c = ctx(Presented::BearerToken);
    assert!(!c.review_seen(Ok(answer(
        201,
        &self_subject_review("system:serviceaccount:ci:runner")
    ))));
    assert!(found(&c).is_empty());
}

#[test]
fn an_older_server_asks_the_next_version_then_warns() {
    let mut c = ctx(certificate_of("runner"));
    assert!(c.review_seen(Ok(answer(404, "404 page not found"))));
    assert!(found(&c).is_empty(), "a 404 is not judged yet");
    c.review_not_served();
    assert_eq!(found(&c), [(Code::SelfSubjectReview, Severity::Warning)]);
    assert!(c.d.authenticated_as.is_none());
}

#[test]
fn a_refused_or_broken_review_is_a_warning_and_stops() {
    for a in [
        Ok(answer(403, SSR_FORBIDDEN)),
        Ok(answer(500, "")),
        Ok(answer(201, "[]")),
        Err(TransportError::Timeout("read".into())),
    ] {
        let mut c = ctx(certificate_of("runner"));
        assert!(!c.review_seen(a));
        assert_eq!(found(&c), [(Code::SelfSubjectReview, Severity::Warning)]);
        assert!(c.d.authenticated_as.is_none());
    }
}

fn check(verb: &str, allowed: bool) -> PermissionCheck {
    PermissionCheck {
        permission: Permission {
            api_group: String::new(),
            resource: "pods".into(),
            verb: verb.into(),
        },
        namespace: "ci".into(),
        allowed,
    }
}

#[test]
fn executor_permissions_granted_denied_or_unchecked() {
    let mut c = ctx(certificate_of("runner"));
    c.permissions_seen(vec![check("create", true), check("get", true)], None);
    assert_eq!(passed(&c), [Code::ExecutorPermissions]);
    assert!(found(&c).is_empty());
    assert_eq!(c.d.permissions.len(), 2);

    let mut c = ctx(certificate_of("runner"));
    c.permissions_seen(vec![check("create", true), check("get", false)], None);
    assert_eq!(found(&c), [(Code::PermissionDenied, Severity::Error)]);
    assert!(matches!(
        c.d.findings[0].next,
        Some(NextStep::ApplyProfile {
            profile: Profile::Executor,
            ..
        })
    ));

    let mut c = ctx(certificate_of("runner"));
    c.permissions_seen(
        vec![check("create", true)],
        Some("SelfSubjectAccessReview failed: HTTP 403".into()),
    );
    assert_eq!(found(&c), [(Code::AccessReview, Severity::Warning)]);
    assert_eq!(
        c.d.findings[0].next,
        Some(NextStep::CheckAccessByHand { impersonate: None })
    );
    assert!(c.d.permissions.is_empty(), "half an answer is not kept");
}

#[test]
fn job_permissions_missing_or_unchecked() {
    let mut c = ctx(certificate_of("runner"));
    c.deployer_seen(vec![check("create", true)], None);
    assert!(found(&c).is_empty());
    assert_eq!(c.d.deployer_permissions.len(), 1);

    let mut c = ctx(certificate_of("runner"));
    c.deployer_seen(vec![check("create", false)], None);
    assert_eq!(
        found(&c),
        [(Code::JobPermissionsMissing, Severity::Warning)]
    );

    let mut c = ctx(certificate_of("runner"));
    c.deployer_seen(Vec::new(), Some("SubjectAccessReview failed".into()));
    assert_eq!(
        found(&c),
        [(Code::JobPermissionsUnchecked, Severity::Warning)]
    );
    assert_eq!(
        c.d.findings[0].next,
        Some(NextStep::CheckAccessByHand {
            impersonate: Some("system:serviceaccount:ci:default".into())
        })
    );
    assert!(c.d.deployer_note.is_some());
}

/// A CA and a server certificate it issued, valid from `now` for `days`.
fn server_chain(
    now: time::OffsetDateTime,
    days: u64,
) -> (CertificateAuthority, crate::Certificate) {
    let ca = CertificateAuthority::generate(&CaParams {
        common_name: "kubernetes".into(),
        algorithm: KeyAlgorithm::EcdsaP256,
        ..CaParams::default()
    })
    .unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = CertificateRequest::create(
        &key,
        &CsrParams::new(Identity::new("kube-apiserver", Vec::<String>::new()).unwrap()),
    )
    .unwrap();
    let leaf = ca
        .sign(
            &csr,
            &IssueParams {
                lifetime: Lifetime::from_duration(Duration::from_secs(days * 86_400)),
                now: Some(now),
                ..IssueParams::default()
            },
        )
        .unwrap()
        .certificate;
    (ca, leaf)
}

#[test]
fn server_certificate_problems_have_their_own_codes() {
    let now = time::OffsetDateTime::now_utc();
    let (ca, leaf) = server_chain(now, 30);
    let cases = [
        (ServerCertProblem::UnknownIssuer, Code::TlsUnknownAuthority),
        (ServerCertProblem::NotValidForName, Code::TlsNameMismatch),
        (ServerCertProblem::Expired, Code::TlsServerCertExpired),
        (
            ServerCertProblem::NotYetValid,
            Code::TlsServerCertNotYetValid,
        ),
        (
            ServerCertProblem::Other("BadSignature".into()),
            Code::TlsServerCertInvalid,
        ),
    ];
    for (problem, code) in cases {
        // With ca_file set and without (the system store).
        for cas in [vec![ca.certificate().clone()], Vec::new()] {
            let mut c = ctx(certificate_of("runner"));
            c.transport(
                TransportError::ServerCert {
                    problem: problem.clone(),
                    chain: vec![leaf.clone()],
                },
                "https://10.0.0.1:6443",
                &cas,
            );
            assert_eq!(found(&c), [(code, Severity::Error)]);
        }
    }
    // No chain at all (the handshake gave none): still judged, no panic.
    let mut c = ctx(certificate_of("runner"));
    c.transport(
        TransportError::ServerCert {
            problem: ServerCertProblem::Expired,
            chain: Vec::new(),
        },
        "https://10.0.0.1:6443",
        &[],
    );
    assert_eq!(found(&c), [(Code::TlsServerCertExpired, Severity::Error)]);
}
