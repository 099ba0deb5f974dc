//! Unit tests.

use super::*;
use crate::code::Code;

fn codes(text: &str) -> Vec<(Code, Severity, Option<usize>)> {
    let cfg = RunnerConfig::parse(text).unwrap();
    cfg.lint(&LintOptions::default())
        .unwrap()
        .into_iter()
        .map(|f| (f.code, f.severity, f.line))
        .collect()
}

fn has(found: &[(Code, Severity, Option<usize>)], code: Code) -> bool {
    found.iter().any(|(c, _, _)| *c == code)
}

#[test]
fn unknown_keys_get_a_suggestion_and_a_line() {
    let cfg = RunnerConfig::parse("concurent = 2\n[[runners]]\n  name = \"a\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    nmespace = \"ci\"\n").unwrap();
    let findings = cfg.lint(&LintOptions::default()).unwrap();
    let top = findings
        .iter()
        .find(|f| f.key.as_deref() == Some("concurent"))
        .unwrap();
    assert_eq!((top.code, top.line), (Code::UnknownKey, Some(1)));
    assert!(top.fix.contains("concurrent"), "{}", top.fix);
    let nested = findings
        .iter()
        .find(|f| f.key.as_deref() == Some("runners.kubernetes.nmespace"))
        .unwrap();
    assert_eq!(nested.line, Some(6));
    assert!(nested.fix.contains("namespace"));
}

#[test]
fn a_docker_runner_with_a_kubernetes_table_gets_every_finding() {
    let found = codes(
        "[[runners]]\n  name = \"b\"\n  executor = \"docker\"\n  [runners.kubernetes]\n    host = \"1.2.3.4\"\n    cert_file = \"/nonexistent/c.crt\"\n    key_file = \"/nonexistent/c.key\"\n",
    );
    for code in [
        Code::ExecutorNotKubernetes,
        Code::CertWithoutKeyOrCa,
        Code::HostWithoutCaFile,
        Code::HostWithoutScheme,
        Code::FileMissing,
        Code::EmptyNamespace,
    ] {
        assert!(has(&found, code), "{code} missing from {found:?}");
    }
}

#[test]
fn host_schemes_are_judged_as_client_go_reads_them() {
    let base = |host: &str| {
        format!(
            "[[runners]]\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"{host}\"\n    namespace = \"ci\"\n    service_account = \"sa\"\n    ca_file = \"/x/ca.crt\"\n"
        )
    };
    assert!(has(
        &codes(&base("http://10.0.0.1:6443")),
        Code::InsecureHost
    ));
    assert!(has(&codes(&base("10.0.0.1")), Code::HostWithoutScheme));
    assert!(has(
        &codes(&base("https://u:p@10.0.0.1:6443")),
        Code::BadHost
    ));
    let ok = codes(&base("https://10.0.0.1:6443"));
    assert!(
        !has(&ok, Code::InsecureHost)
            && !has(&ok, Code::HostWithoutScheme)
            && !has(&ok, Code::BadHost)
    );
}

#[test]
fn values_of_the_wrong_type_are_errors() {
    let found = codes(
        "concurrent = \"4\"\n[[runners]]\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    privileged = \"yes\"\n    cpu_limit = 2\n    namespace = \"ci\"\n",
    );
    let wrong: Vec<_> = found
        .iter()
        .filter(|(c, _, _)| *c == Code::WrongType)
        .collect();
    assert_eq!(wrong.len(), 3, "{found:?}");
    assert!(wrong.iter().all(|(_, s, _)| *s == Severity::Error));
    assert!(has(&codes("[runners]\n  name = \"x\"\n"), Code::WrongType));
}

#[test]
fn empty_namespace_and_service_account_are_warned_about() {
    let found = codes(
        "[[runners]]\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    namespace = \"\"\n",
    );
    assert!(found.contains(&(Code::EmptyNamespace, Severity::Warning, Some(1))));
    assert!(has(&found, Code::EmptyServiceAccount));
}

#[test]
fn relative_paths_and_deprecated_keys() {
    let found = codes(
        "[[runners]]\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    namespace = \"ci\"\n    service_account = \"sa\"\n    host = \"https://h:6443\"\n    ca_file = \"ca.crt\"\n",
    );
    assert!(has(&found, Code::RelativePath), "{found:?}");
}

#[test]
fn a_selected_runner_keeps_file_wide_findings_only() {
    let cfg = RunnerConfig::parse("bogus = 1\n[[runners]]\n  name = \"a\"\n  executor = \"kubernetes\"\n  bad_a = 1\n[[runners]]\n  name = \"b\"\n  executor = \"kubernetes\"\n  bad_b = 1\n").unwrap();
    let only_b = cfg
        .lint(&LintOptions {
            runner: Some(RunnerSelector::Name("b".into())),
            now: None,
        })
        .unwrap();
    let keys: Vec<_> = only_b.iter().filter_map(|f| f.key.clone()).collect();
    assert!(keys.contains(&"bogus".to_string()) && keys.contains(&"runners.bad_b".to_string()));
    assert!(!keys.contains(&"runners.bad_a".to_string()), "{keys:?}");
}
