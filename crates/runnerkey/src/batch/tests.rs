//! Unit tests.

use super::*;
use crate::ca::CaParams;
use crate::cert::Certificate;
use crate::verify::verify_client_cert;
use std::path::PathBuf;

fn ca() -> CertificateAuthority {
    CertificateAuthority::generate(&CaParams::default()).unwrap()
}

fn line(user: &str, dir: &std::path::Path) -> String {
    format!(
        "{{\"user\": \"{user}\", \"groups\": [\"ci\"], \"out_dir\": {:?}}}",
        dir.display().to_string()
    )
}

#[test]
fn a_batch_issues_every_entry_in_parallel_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let text: String = (0..20)
        .map(|i| {
            line(
                &format!("host-{i}"),
                &dir.path().join(format!("h{}", i % 3)),
            ) + "\n"
        })
        .collect();
    let params = BatchParams {
        groups: vec!["fleet".into()],
        threads: 4,
        ..BatchParams::default()
    };
    let entries = params.entries(&ca, &format!("# fleet\n\n{text}")).unwrap();
    assert_eq!(entries.len(), 20);
    assert_eq!(entries[0].line, 3);
    assert_eq!(entries[0].identity.groups(), ["fleet", "ci"]);
    let calls = AtomicUsize::new(0);
    let report = params.issue(&ca, entries, &|_| {
        calls.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!((report.issued(), calls.into_inner()), (20, 20));
    for (i, r) in report.results.iter().enumerate() {
        assert_eq!(r.entry.identity.user(), format!("host-{i}"));
        let cert = Certificate::load(&r.entry.files.cert_file).unwrap();
        assert_eq!(cert.identity().unwrap(), r.entry.identity);
        let v = verify_client_cert(std::slice::from_ref(ca.certificate()), &cert, None, None);
        assert!(v.ok, "{:?}", v.problems);
    }
}

#[test]
fn every_entry_is_checked_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let good = line("a", dir.path());
    let cases = [
        (format!("{good}\n{{\"user\": \"b\"}}"), 2, "out_dir"),
        (format!("{good}\n{good}"), 2, "also written by line 1"),
        (format!("{good}\nnot json"), 2, "not a batch entry"),
        (
            "{\"host\": \"h\", \"out_dir\": \"/x\"}".to_string(),
            1,
            "template",
        ),
        (
            format!("{good}\n{}", line("Bad Name\u{202e}", dir.path())),
            2,
            "user",
        ),
        (line("ca", dir.path()), 1, "reserved"),
        (
            "{\"user\": \"a\", \"out_dir\": \"/x\", \"days\": 0}".to_string(),
            1,
            "at least one day",
        ),
        (
            "{\"user\": \"a\", \"out_dir\": \"/x\", \"colour\": 1}".to_string(),
            1,
            "unknown field",
        ),
        (
            "{\"user\": \"a\", \"groups\": [\"system:masters\"], \"out_dir\": \"/x\"}".to_string(),
            1,
            "system:masters",
        ),
        ("\n# only comments\n".to_string(), 0, "no entries"),
    ];
    for (text, at, needle) in cases {
        let e = BatchParams::default().entries(&ca, &text).unwrap_err();
        let msg = e.chain();
        assert!(msg.contains(needle), "{text}: {msg}");
        if at > 0 {
            assert!(
                matches!(e, Error::AtLine { line, .. } if line == at),
                "{text}: {msg}"
            );
        }
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn hosts_fill_the_template_and_existing_files_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let mut params = BatchParams {
        user_template: Some("gitlab-runner:{host}".into()),
        ..BatchParams::default()
    };
    let text = format!(
        "{{\"host\": \"web-1\", \"out_dir\": {:?}, \"algorithm\": \"ed25519\", \"days\": 7}}",
        dir.path().display().to_string()
    );
    let entries = params.entries(&ca, &text).unwrap();
    assert_eq!(entries[0].identity.user(), "gitlab-runner:web-1");
    assert_eq!(entries[0].algorithm, KeyAlgorithm::Ed25519);
    assert_eq!(params.issue(&ca, entries, &|_| {}).issued(), 1);
    let again = params.entries(&ca, &text).unwrap_err();
    assert!(matches!(again.root(), Error::Exists { .. }), "{again}");
    params.overwrite = true;
    let entries = params.entries(&ca, &text).unwrap();
    assert_eq!(params.issue(&ca, entries, &|_| {}).issued(), 1);
}

#[test]
fn one_file_under_two_spellings_and_bad_hosts_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
    let dup = format!(
        "{}\n{}",
        line("m", &real),
        line("m", &dir.path().join("link"))
    );
    let e = BatchParams::default().entries(&ca, &dup).unwrap_err();
    assert!(
        matches!(
            e.root(),
            crate::Error::Batch(BatchProblem::WrittenTwice { first_line: 1, .. })
        ),
        "{}",
        e.chain()
    );
    let dotted = format!(
        "{}\n{}",
        line("m", &real),
        line("m", &dir.path().join("new/../real"))
    );
    assert!(matches!(
        BatchParams::default().entries(&ca, &dotted),
        Err(crate::Error::AtLine { .. })
    ));

    let mut params = BatchParams {
        user_template: Some("fixed".into()),
        ..BatchParams::default()
    };
    let host = |h: &str| format!("{{\"host\": {h:?}, \"out_dir\": \"/x\"}}");
    let e = params.entries(&ca, &host("a")).unwrap_err();
    assert!(
        matches!(
            e.root(),
            crate::Error::Batch(BatchProblem::TemplateWithoutHost { .. })
        ),
        "{}",
        e.chain()
    );
    params.user_template = Some("gitlab-runner:{host}".into());
    for bad in ["", " x", "..", ".hidden", "a/b", "{host}"] {
        let e = params.entries(&ca, &host(bad)).unwrap_err();
        assert!(
            matches!(e.root(), Error::InvalidName { field: "host", .. }),
            "{bad:?}: {}",
            e.chain()
        );
    }
    let nul = "{\"user\": \"a\", \"out_dir\": \"x/\\u0000\"}";
    assert!(
        params
            .entries(&ca, nul)
            .unwrap_err()
            .chain()
            .contains("NUL")
    );
    let long = format!("{{\"user\": \"{}\", \"out_dir\": \"/x\"}}", "u".repeat(230));
    assert!(
        params
            .entries(&ca, &long)
            .unwrap_err()
            .chain()
            .contains("too long")
    );
    let empty = "{\"user\": \"a\", \"out_dir\": \"\"}";
    assert!(
        params
            .entries(&ca, empty)
            .unwrap_err()
            .chain()
            .contains("empty")
    );
    let bom = format!("\u{feff}{}", line("a", dir.path()));
    assert_eq!(params.entries(&ca, &bom).unwrap().len(), 1);
}

#[test]
fn keep_valid_makes_a_batch_resumable_and_warnings_name_lines() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let text: String = (0..4)
        .map(|i| line(&format!("h{i}"), &dir.path().join(format!("h{i}"))) + "\n")
        .collect();
    // An interrupted first run: only the first two entries were issued.
    let first: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    let plain = BatchParams::default();
    let entries = plain.entries(&ca, &first).unwrap();
    assert_eq!(plain.issue(&ca, entries, &|_| {}).issued(), 2);
    let key0 = std::fs::read(dir.path().join("h0/h0.key")).unwrap();
    // Without keep_valid, existing files stop the batch up front.
    assert!(matches!(
        plain.entries(&ca, &text),
        Err(crate::Error::AtLine { .. })
    ));
    let params = BatchParams {
        keep_valid: Some(RenewalPolicy::default()),
        lifetime: Lifetime::days(400),
        ..BatchParams::default()
    };
    let entries = params.entries(&ca, &text).unwrap();
    let report = params.issue(&ca, entries, &|_| {});
    // The first two are kept (a longer lifetime asked now does not make a
    // good certificate bad); the other two are issued.
    assert_eq!((report.kept(), report.issued()), (2, 2));
    let again = params.issue(&ca, params.entries(&ca, &text).unwrap(), &|_| {});
    assert_eq!(
        (again.kept(), again.issued(), again.failed().count()),
        (4, 0, 0)
    );
    assert_eq!(std::fs::read(dir.path().join("h0/h0.key")).unwrap(), key0);
    // The long-validity warning once, naming every line it concerns.
    let warnings = report.warning_lines();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("lines 3, 4: "), "{warnings:?}");
    let data = again.data();
    assert!(data.results.iter().all(|r| r.kept && r.not_after.is_some()));
    assert_eq!(data.kept, 4);
}

#[test]
fn keep_valid_entries_sharing_a_directory_share_its_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let text: String = (0..6)
        .map(|i| line(&format!("u{i}"), &dir.path().join("shared")) + "\n")
        .collect();
    let params = BatchParams {
        keep_valid: Some(RenewalPolicy::default()),
        threads: 6,
        ..BatchParams::default()
    };
    let report = params.issue(&ca, params.entries(&ca, &text).unwrap(), &|_| {});
    assert_eq!(report.failed().count(), 0, "{:?}", report.warning_lines());
    assert_eq!(report.issued(), 6);
    // A kept entry whose key others could read: kept, and said so.
    let key = dir.path().join("shared/u0.key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let again = params.issue(&ca, params.entries(&ca, &text).unwrap(), &|_| {});
    assert_eq!(again.kept(), 6);
    let warnings = again.warning_lines();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("line 1: ") && w.contains("mode set to 600")),
        "{warnings:?}"
    );
}

/// Every regular file under `dir` with its content and mtime.
fn snapshot(dir: &std::path::Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                todo.push(e.path());
            } else if meta.is_file() {
                let content = std::fs::read(e.path()).unwrap();
                out.insert(e.path(), (content, meta.modified().unwrap()));
            }
        }
    }
    out
}

#[test]
fn a_fleet_renewed_from_a_timer_reissues_only_what_is_due_wrong_or_mismatched() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let text: String = (0..40)
        .map(|i| {
            format!(
                "{{\"host\": \"runner-{i:02}\", \"out_dir\": {:?}}}\n",
                dir.path()
                    .join(format!("runner-{i:02}"))
                    .display()
                    .to_string()
            )
        })
        .collect();
    let start = OffsetDateTime::now_utc();
    // `issue --batch --days 30 --keep-valid` from a daily timer.
    let mut params = BatchParams {
        user_template: Some("gitlab-runner:{host}".into()),
        groups: vec!["gitlab-runners".into()],
        lifetime: Lifetime::days(30),
        keep_valid: Some(RenewalPolicy::default()),
        algorithm: KeyAlgorithm::EcdsaP256,
        now: Some(start),
        ..BatchParams::default()
    };
    let run = |params: &BatchParams| {
        let report = params.issue(&ca, params.entries(&ca, &text).unwrap(), &|_| {});
        assert_eq!(report.failed().count(), 0);
        assert!(report.warnings.is_empty(), "{:?}", report.warning_lines());
        report
    };
    assert_eq!(run(&params).issued(), 40);
    // No ':' in the file names (scp and rsync read it as a host); the
    // certificate keeps the user as it is.
    let crt = dir.path().join("runner-07/gitlab-runner-runner-07.crt");
    assert_eq!(
        Certificate::load(&crt).unwrap().identity().unwrap().user(),
        "gitlab-runner:runner-07"
    );
    let before = snapshot(dir.path());
    for day in [0, 1, 7, 18] {
        params.now = Some(start + time::Duration::days(day));
        let report = run(&params);
        assert_eq!((report.issued(), report.kept()), (0, 40), "day {day}");
        assert_eq!(snapshot(dir.path()), before, "day {day}: untouched");
    }
    // One pair mismatched (another entry's certificate), one for another
    // identity: those two only.
    params.now = Some(start + time::Duration::days(1));
    let r1 = dir.path().join("runner-01/gitlab-runner-runner-01.crt");
    let r2 = dir.path().join("runner-02/gitlab-runner-runner-02.crt");
    std::fs::copy(&r2, &r1).unwrap();
    let stranger = ca
        .issue(
            &Identity::new("gitlab-runner:runner-03", ["other"]).unwrap(),
            KeyAlgorithm::EcdsaP256,
            &IssueParams::default(),
        )
        .unwrap();
    crate::issue::ClientFiles::in_dir(&dir.path().join("runner-03"), "gitlab-runner-runner-03")
        .unwrap()
        .write_issued(&stranger.0, &stranger.1.certificate, &ca, true)
        .unwrap();
    let report = run(&params);
    assert_eq!((report.issued(), report.kept()), (2, 38));
    let issued: Vec<_> = report
        .results
        .iter()
        .filter(|r| !r.kept)
        .map(|r| r.entry.identity.user())
        .collect();
    assert_eq!(
        issued,
        ["gitlab-runner:runner-01", "gitlab-runner:runner-03"]
    );
    // Two thirds into their life (less each one's jitter), all are due,
    // as renew would have them.
    params.now = Some(start + time::Duration::days(21));
    assert_eq!(run(&params).issued(), 40);
}

#[test]
fn default_file_names_hold_no_colon_and_clashes_are_refused() {
    assert_eq!(
        file_base_name("gitlab-runner:runner-01"),
        "gitlab-runner-runner-01"
    );
    assert_eq!(file_base_name("a b/c\"d'e"), "a-b-c-d-e");
    assert_eq!(file_base_name(".hidden.x"), "-hidden.x");
    assert_eq!(file_base_name("ci@example.org+1"), "ci@example.org+1");
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let text = format!("{}\n{}\n", line("a:b", dir.path()), line("a-b", dir.path()));
    let e = BatchParams::default().entries(&ca, &text).unwrap_err();
    assert!(
        e.chain().contains("line 1") && e.chain().contains("name"),
        "{}",
        e.chain()
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
