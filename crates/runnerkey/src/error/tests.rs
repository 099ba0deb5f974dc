use super::*;

#[test]
fn long_runner_lists_are_cut_short() {
    let names: Vec<String> = (0..1_000_000).map(|i| format!("runner-{i}")).collect();
    let e = Error::RunnerNotFound {
        name: "x".into(),
        available: names,
    }
    .to_string();
    assert!(e.len() < 400, "{}", e.len());
    assert!(e.ends_with("and 999990 more)"), "{e}");
    let long = Error::RunnerNotFound {
        name: "x".into(),
        available: vec!["é".repeat(200)],
    }
    .to_string();
    assert!(long.contains("..."));
}

#[test]
fn file_context_is_added_once_and_root_finds_the_cause() {
    let e = Error::Pem("broken".into()).in_file("/a").in_file("/b");
    assert_eq!(e.to_string(), "/a");
    assert_eq!(e.chain(), "/a: malformed PEM: broken");
    assert!(matches!(e.root(), Error::Pem(_)));
    assert_eq!(e.kind(), ErrorKind::Malformed);
}

#[test]
fn display_does_not_repeat_the_source() {
    let io = Error::Io {
        path: "/x".into(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
    };
    assert_eq!(io.to_string(), "/x");
    assert_eq!(std::error::Error::source(&io).unwrap().to_string(), "gone");
    assert_eq!(io.chain(), "/x: gone");
}

#[test]
fn network_cluster_and_trust_outcomes_have_their_own_kinds() {
    use transport::{TransportFailure, TransportFailureKind};
    let unreachable = |kind| {
        Error::from(csr_api::CsrApiProblem::Unreachable {
            server: "https://127.0.0.1:6443".into(),
            source: TransportFailure {
                kind,
                detail: "connection refused".into(),
            },
        })
    };
    let refused = unreachable(TransportFailureKind::Refused);
    assert_eq!(refused.kind(), ErrorKind::Unreachable);
    assert_eq!(
        refused.chain(),
        "https://127.0.0.1:6443: connection refused"
    );
    let source = std::error::Error::source(&refused).unwrap();
    assert!(source.is::<TransportFailure>());
    assert_eq!(
        unreachable(TransportFailureKind::Timeout).kind(),
        ErrorKind::Timeout
    );
    let answered = Error::from(csr_api::CsrApiProblem::Answered {
        what: "creating the CertificateSigningRequest",
        status: 403,
        reason: "Forbidden".into(),
        message: "no".into(),
    });
    assert_eq!(answered.kind(), ErrorKind::ClusterRefused);
    assert_eq!(
        answered.to_string(),
        "creating the CertificateSigningRequest: the API server answered HTTP 403 (Forbidden): no"
    );
    let csr = |state| Error::CsrNotIssued {
        name: "n".into(),
        state,
        detail: "d".into(),
    };
    assert_eq!(
        csr(k8s_csr::CsrState::Pending).kind(),
        ErrorKind::CsrNotIssued
    );
    assert_eq!(csr(k8s_csr::CsrState::Denied).kind(), ErrorKind::CsrDenied);
    assert_eq!(csr(k8s_csr::CsrState::Failed).kind(), ErrorKind::CsrDenied);
    let not_ours = Error::NotIssuedByCa {
        path: "/r.crt".into(),
        issuers: vec!["CN=ca".into()],
    };
    assert_eq!(not_ours.kind(), ErrorKind::Untrusted);
    let offered = Error::InOffered {
        what: "key",
        source: Box::new(Error::Pem("broken".into())),
    };
    assert_eq!(offered.kind(), ErrorKind::Malformed);
    assert_eq!(offered.chain(), "the offered key: malformed PEM: broken");
}

#[test]
fn typed_problems_are_said_once() {
    let e: Error = lifetime::LifetimeProblem::ZeroDays.into();
    assert_eq!(e.chain(), "a certificate lifetime must be at least one day");
    let b: Error = batch::BatchProblem::Empty.into();
    assert_eq!(b.chain(), "the batch has no entries");
    let k = Error::AtLine {
        line: 3,
        source: Box::new(k8s_csr::K8sCsrProblem::ExpirationTooShort { secs: 5 }.into()),
    };
    assert_eq!(
        k.chain(),
        "line 3: expiration 5s is below the API's minimum of 600s"
    );
}

#[test]
fn parser_messages_lose_the_input_values() {
    use super::text::without_values;
    let key = "-----BEGIN PRIVATE KEY----- MIGHAgEAMBMGByqGSM49 -----END PRIVATE KEY-----";
    let m = format!("invalid type: string {key:?}, expected struct Kubeconfig at line 1 column 1");
    assert_eq!(
        without_values(&m),
        "invalid type: string \"…\", expected struct Kubeconfig at line 1 column 1"
    );
    assert_eq!(
        without_values(
            "invalid type: integer `123456789012`, expected a string at line 3 column 8"
        ),
        "invalid type: integer `…`, expected a string at line 3 column 8"
    );
    assert_eq!(
        without_values("unknown field `tokne`, expected one of `token`, `username`"),
        "unknown field `tokne`, expected one of `token`, `username`"
    );
    let escaped = r#"invalid type: string "a\"b\\", expected u32"#;
    assert_eq!(
        without_values(escaped),
        "invalid type: string \"…\", expected u32"
    );
    let huge = format!("x {}", "y".repeat(1_000_000));
    assert_eq!(without_values(&huge).chars().count(), 300);
}
