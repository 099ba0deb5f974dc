//! `ca init`, `key generate`, `csr`, `issue`, `inspect`, `verify`: modes,
//! bad input and exit codes.

use crate::util::{Dir, mode};

fn ca(dir: &Dir, alg: &str) {
    dir.run(&["ca", "init", "--out-dir", "ca", "--algorithm", alg])
        .success();
}

#[test]
fn keys_are_0600_even_under_umask_000() {
    let d = Dir::new();
    d.run_with_umask(
        Some("000"),
        &["ca", "init", "--out-dir", "ca", "--algorithm", "ecdsa-p256"],
    )
    .success();
    assert_eq!(mode(&d.path("ca/ca.key")), 0o600);
    d.run_with_umask(Some("000"), &["key", "generate", "--out", "k.pem"])
        .success();
    assert_eq!(mode(&d.path("k.pem")), 0o600);
    d.run_with_umask(
        Some("000"),
        &[
            "issue",
            "--ca-dir",
            "ca",
            "--user",
            "gitlab-admin",
            "--out-dir",
            "out",
        ],
    )
    .success();
    assert_eq!(mode(&d.path("out/gitlab-admin.key")), 0o600);
    assert_eq!(mode(&d.path("out/gitlab-admin.crt")), 0o644);
    assert_eq!(mode(&d.path("out/ca.crt")), 0o644);
}

#[test]
fn issue_twice_into_one_dir_shares_ca_file_and_refuses_overwrite() {
    let d = Dir::new();
    ca(&d, "ecdsa-p256");
    d.run(&["issue", "--ca-dir", "ca", "--user", "a", "--out-dir", "out"])
        .success();
    d.run(&["issue", "--ca-dir", "ca", "--user", "b", "--out-dir", "out"])
        .success();
    let before = std::fs::read(d.path("out/a.key")).unwrap();
    d.run(&["issue", "--ca-dir", "ca", "--user", "a", "--out-dir", "out"])
        .input_error(&["a.key", "already exists", "--force"]);
    assert_eq!(std::fs::read(d.path("out/a.key")).unwrap(), before);
    d.run(&[
        "issue",
        "--ca-dir",
        "ca",
        "--user",
        "a",
        "--out-dir",
        "out",
        "--force",
    ])
    .success();
    assert_ne!(std::fs::read(d.path("out/a.key")).unwrap(), before);
}

#[test]
fn issue_keep_valid_changes_nothing_the_second_time() {
    let d = Dir::new();
    ca(&d, "ecdsa-p256");
    let args = [
        "issue",
        "--ca-dir",
        "ca",
        "--user",
        "r",
        "--group",
        "ci",
        "--out-dir",
        "out",
        "--keep-valid",
        "--json",
    ];
    let first: serde_json::Value = serde_json::from_str(&d.run(&args).success().stdout).unwrap();
    assert_eq!(first["changed"], true);
    assert_eq!(mode(&d.path("out/r.key")), 0o600);
    let key = std::fs::read(d.path("out/r.key")).unwrap();
    let second: serde_json::Value = serde_json::from_str(&d.run(&args).success().stdout).unwrap();
    assert_eq!(second["changed"], false, "{second}");
    // Another group: the certificate is re-issued for the same key.
    let mut other = args.to_vec();
    other[6] = "ops";
    let third = d.run(&other[..other.len() - 1]).success();
    assert!(third.stdout.contains("updated"), "{third:#?}");
    assert_eq!(std::fs::read(d.path("out/r.key")).unwrap(), key);
    d.run(&[&args[..10], &["--renew-before", "1x"]].concat())
        .input_error(&["1x"]);
    // A plain issue reports what it wrote as data too.
    let plain = d
        .run(&[
            "issue",
            "--ca-dir",
            "ca",
            "--user",
            "r",
            "--out-dir",
            "o",
            "--json",
        ])
        .success();
    let data: serde_json::Value = serde_json::from_str(&plain.stdout).unwrap();
    assert_eq!(data["user"], "r");
    assert!(data["cert_file"].as_str().unwrap().ends_with("o/r.crt"));
}

/// Each bad input: exit 2, a message naming the problem, no file created.
#[test]
fn bad_input_is_refused_and_leaves_nothing_behind() {
    let d = Dir::new();
    ca(&d, "rsa-2048");
    d.run(&["key", "generate", "--out", "good.key"]).success();
    let key = std::fs::read_to_string(d.path("good.key")).unwrap();
    d.write("truncated.key", &key[..key.len() / 2]);
    let cert_as_key = d.fixture("pki/kubeadm-ca-rsa2048.crt.pem");
    let non_ca_crt = d.fixture("pki/kubeadm-client-expired-system-masters.crt.pem");
    let non_ca_key = d.fixture("pki/kubeadm-client-expired-system-masters-pkcs1.key.pem");
    let kubeadm_key = d.fixture("pki/kubeadm-ca-rsa2048-pkcs1.key.pem");
    let expired_ca = d.fixture("pki/selfsigned-expired-2022.crt.pem");
    let expired_key = d.fixture("pki/rsa2048-pkcs1.key.pem");
    let weak = d.fixture("pki/rsa1024-pkcs8-unencrypted.key.pem");
    let encrypted = d.fixture("pki/rsa-pkcs8-encrypted.key.pem");
    let s = |p: &std::path::Path| p.display().to_string();
    let issue = |ca_cert: &str, ca_key: &str| {
        vec![
            "issue".to_string(),
            "--ca-cert".into(),
            ca_cert.into(),
            "--ca-key".into(),
            ca_key.into(),
            "--user".into(),
            "u".into(),
            "--out-dir".into(),
            "out".into(),
        ]
    };
    let csr = |key: &str, user: &str, group: &str| {
        let mut v = vec![
            "csr", "create", "--key", key, "--user", user, "--out", "out.csr",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        if !group.is_empty() {
            v.extend(["--group".to_string(), group.to_string()]);
        }
        v
    };
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            csr("truncated.key", "u", ""),
            vec!["truncated.key", "truncated"],
        ),
        (
            csr(&s(&cert_as_key), "u", ""),
            vec!["no private key found", "CERTIFICATE"],
        ),
        (
            issue("ca/ca.crt", &s(&kubeadm_key)),
            vec!["does not match", "kubeadm-ca-rsa2048-pkcs1.key.pem"],
        ),
        (
            issue(&s(&non_ca_crt), &s(&non_ca_key)),
            vec!["not a CA certificate", "CA:FALSE"],
        ),
        (
            issue(&s(&expired_ca), &s(&expired_key)),
            vec!["expired on 2022"],
        ),
        (
            csr(&s(&encrypted), "u", ""),
            vec!["encrypted", "--passphrase-file"],
        ),
        (csr(&s(&weak), "u", ""), vec!["RSA-1024", "too weak"]),
        (csr("good.key", "", ""), vec!["user", "must not be empty"]),
        (
            csr("good.key", "bad\u{7}user", ""),
            vec!["control, bidirectional-override"],
        ),
        (
            csr("good.key", "u", "grp\nx"),
            vec!["group", "control, bidirectional-override"],
        ),
        (
            csr("good.key", "u", "system:masters"),
            vec!["system:masters", "--allow-system-masters"],
        ),
        (
            vec!["key", "generate", "--out", "good.key"]
                .into_iter()
                .map(String::from)
                .collect(),
            vec!["good.key", "already exists"],
        ),
        (
            vec!["ca", "init", "--out-dir", "ca"]
                .into_iter()
                .map(String::from)
                .collect(),
            vec!["ca.key", "already exists"],
        ),
        (
            vec!["key", "generate", "--out", "k2", "--algorithm", "dsa"]
                .into_iter()
                .map(String::from)
                .collect(),
            vec!["unknown key algorithm", "ecdsa-p256"],
        ),
        (
            vec![
                "issue",
                "--ca-dir",
                "ca",
                "--user",
                "u",
                "--out-dir",
                "out",
                "--duration",
                "5y",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            vec!["invalid duration"],
        ),
    ];
    let good_key = std::fs::read(d.path("good.key")).unwrap();
    let ca_key = std::fs::read(d.path("ca/ca.key")).unwrap();
    let before = d.listing();
    for (args, needles) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        d.run(&args).input_error(&needles);
        assert_eq!(d.listing(), before, "files changed after {args:?}");
    }
    assert_eq!(std::fs::read(d.path("good.key")).unwrap(), good_key);
    assert_eq!(std::fs::read(d.path("ca/ca.key")).unwrap(), ca_key);
}

#[test]
fn verify_exit_codes() {
    let d = Dir::new();
    ca(&d, "ecdsa-p256");
    d.run(&["issue", "--ca-dir", "ca", "--user", "u", "--out-dir", "out"])
        .success();
    let r = d
        .run(&[
            "verify",
            "--ca",
            "ca/ca.crt",
            "--cert",
            "out/u.crt",
            "--key",
            "out/u.key",
        ])
        .success();
    assert!(r.stdout.starts_with("OK"));
    d.run(&[
        "ca",
        "init",
        "--out-dir",
        "other",
        "--algorithm",
        "ecdsa-p256",
    ])
    .success();
    let r = d.run(&[
        "verify",
        "--ca",
        "other/ca.crt",
        "--cert",
        "out/u.crt",
        "--json",
    ]);
    assert_eq!(r.code, 1, "{r:#?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["problems"][0]["code"], "unknown-authority");
    d.run(&["verify", "--ca", "missing.crt", "--cert", "out/u.crt"])
        .input_error(&["missing.crt", "No such file"]);
}

#[test]
fn demo_runs_with_no_arguments_and_again_changes_nothing() {
    let d = Dir::new();
    let r = d.run(&["demo"]).success();
    assert!(
        r.stdout
            .contains("✓ the runner's kubernetes settings and files are consistent"),
        "{r:#?}"
    );
    assert!(r.stdout.contains("kubectl apply -f"), "{r:#?}");
    assert_eq!(mode(&d.path("runnerkey-demo/ssl/gitlab-admin.key")), 0o600);
    let r = d.run(&["demo"]).success();
    assert!(r.stdout.contains("nothing to do"), "{r:#?}");
}

#[test]
fn outside_a_utf8_locale_the_symbols_are_ascii() {
    let mut d = Dir::new();
    d.locale = "C";
    let r = d.run(&["demo"]).success();
    assert!(
        r.stdout
            .contains("+ the runner's kubernetes settings and files are consistent"),
        "{r:#?}"
    );
    assert!(
        !r.stdout.contains(['✓', '✗', '→', '—']) && r.stdout.is_ascii(),
        "{r:#?}"
    );
}
