//! `runner-config show|set|lint`, `rbac`, `kubeconfig`, `k8s-csr`,
//! `setup`, `doctor` and `demo` end to end: every command once, with its
//! exit codes and what it promises on disk.

use crate::util::{Dir, mode};

const CONFIG: &str = "concurrent = 1\n\n[[runners]]\n  name = \"k8s\"\n  url = \"https://user:pw@gitlab.example.com/\"\n  token = \"glrt-secret\"\n  executor = \"kubernetes\"\n";

#[test]
fn runner_config_show_set_and_lint() {
    let d = Dir::new();
    let cfg = d.write("config.toml", CONFIG);
    let cfg = cfg.to_str().unwrap();
    let shown = d.run(&["runner-config", "show", "--config", cfg]).success();
    assert!(!shown.stdout.contains("glrt-secret") && !shown.stdout.contains("pw@"));
    let dry = d
        .run(&[
            "runner-config",
            "set",
            "--config",
            cfg,
            "--runner",
            "k8s",
            "--namespace",
            "ci",
            "--dry-run",
        ])
        .success();
    assert!(dry.stdout.contains("+    namespace = \"ci\""), "{dry:#?}");
    assert_eq!(std::fs::read_to_string(cfg).unwrap(), CONFIG);
    d.run(&[
        "runner-config",
        "set",
        "--config",
        cfg,
        "--runner",
        "k8s",
        "--namespace",
        "ci",
    ])
    .success();
    assert!(
        std::fs::read_to_string(cfg)
            .unwrap()
            .contains("namespace = \"ci\"")
    );
    assert!(d.listing().iter().any(|f| f.ends_with(".bak")));
    let lint = d.run(&["runner-config", "lint", "--config", cfg, "--json"]);
    assert_eq!(lint.code, 0, "{lint:#?}");
    d.run(&[
        "runner-config",
        "set",
        "--config",
        cfg,
        "--runner",
        "nope",
        "--namespace",
        "x",
    ])
    .input_error(&["no runner named \"nope\"", "k8s"]);
    // A bearer token is shown, in text or JSON, only when asked for; so are
    // the URL's user and password.
    let token = d.write("token", "eyJ-bearer-secret\n");
    let token = token.to_str().unwrap();
    let set = ["runner-config", "set", "--config", cfg, "--runner", "k8s"];
    d.run(&[&set[..], &["--bearer-token-file", token]].concat())
        .success();
    for json in [&[][..], &["--json"]] {
        let show = [&["runner-config", "show", "--config", cfg][..], json].concat();
        let hidden = d.run(&show).success().stdout;
        assert!(
            !hidden.contains("eyJ-bearer") && !hidden.contains("pw@"),
            "{hidden}"
        );
        assert!(hidden.contains("bearer_token") && hidden.contains("<redacted>"));
        let asked = d.run(&[&show[..], &["--show-secrets"]].concat()).success();
        assert!(asked.stdout.contains("eyJ-bearer-secret"), "{asked:#?}");
        assert!(asked.stdout.contains("user:pw@"), "{asked:#?}");
    }
}

#[test]
fn rbac_kubeconfig_and_k8s_csr() {
    let d = Dir::new();
    let rbac = d
        .run(&[
            "rbac",
            "--user",
            "gitlab-admin",
            "--profile",
            "executor",
            "--namespace",
            "ci",
        ])
        .success();
    assert!(rbac.stdout.contains("kind: Role") && rbac.stdout.contains("kind: RoleBinding"));
    d.run(&["rbac", "--user", "gitlab-admin", "--profile", "executor"])
        .input_error(&["namespace", "--namespace"]);
    // One rule for NAMESPACE/NAME: rbac and renew refuse the same spelling.
    for args in [
        &[
            "rbac",
            "--service-account",
            "BAD NS/x y",
            "--profile",
            "deployer",
        ][..],
        &[
            "renew",
            "--config",
            "config.toml",
            "--runner",
            "r",
            "--expect-service-account",
            "BAD NS/x y",
        ][..],
    ] {
        // A usage error, from the argument parser: exit 2, the rule named.
        let r = d.run(args);
        assert_eq!(r.code, 2, "{r:#?}");
        assert!(r.stderr.contains("invalid namespace \"BAD NS\""), "{r:#?}");
    }
    d.run(&["ca", "init", "--out-dir", "ca", "--algorithm", "ecdsa-p256"])
        .success();
    d.run(&[
        "issue",
        "--ca-dir",
        "ca",
        "--user",
        "gitlab-admin",
        "--out-dir",
        "id",
    ])
    .success();
    d.run(&[
        "kubeconfig",
        "--server",
        "https://10.0.0.1:6443",
        "--ca",
        "id/ca.crt",
        "--cert",
        "id/gitlab-admin.crt",
        "--key",
        "id/gitlab-admin.key",
        "--out",
        "kc",
    ])
    .success();
    assert_eq!(mode(&d.path("kc")), 0o600);
    let object = d
        .run(&[
            "k8s-csr",
            "create",
            "--key",
            "id/gitlab-admin.key",
            "--user",
            "gitlab-admin",
            "--name",
            "runner-1",
        ])
        .success();
    assert!(object.stdout.contains("kind: CertificateSigningRequest"));
    assert!(
        object
            .stdout
            .contains("signerName: kubernetes.io/kube-apiserver-client")
    );
    d.write("pending.json", "{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":\"CertificateSigningRequest\",\"metadata\":{\"name\":\"runner-1\"},\"spec\":{\"request\":\"\",\"signerName\":\"kubernetes.io/kube-apiserver-client\",\"usages\":[\"client auth\"]}}");
    d.run(&[
        "k8s-csr",
        "import",
        "--from",
        "pending.json",
        "--key",
        "id/gitlab-admin.key",
        "--out",
        "got.crt",
    ])
    .not_granted(&["pending"]);
    assert!(!d.path("got.crt").exists());
}

#[test]
fn setup_doctor_and_demo() {
    let d = Dir::new();
    d.run(&["ca", "init", "--out-dir", "cp", "--algorithm", "ecdsa-p256"])
        .success();
    let cfg = d.write("config.toml", CONFIG);
    let cfg = cfg.to_str().unwrap();
    let args = [
        "setup",
        "--ca-dir",
        "cp",
        "--server",
        "https://10.0.0.1:6443",
        "--runner",
        "k8s",
        "--config",
        cfg,
        "--out-dir",
        "ssl",
    ];
    let first = d.run(&args).success();
    assert!(first.stdout.contains("kubectl apply -f"), "{first:#?}");
    assert!(
        first.stdout.contains("runnerkey doctor --online"),
        "{first:#?}"
    );
    assert_eq!(mode(&d.path("ssl/gitlab-admin.key")), 0o600);
    assert_eq!(mode(&d.path("ssl/.runnerkey")), 0o700);
    let again = d.run(&args).success();
    assert!(again.stdout.contains("nothing to do"), "{again:#?}");
    // setup read the CA key here, on the runner host: doctor reports it
    // while it is here.
    let doctor = d.run(&["doctor", "--config", cfg, "--runner", "k8s"]);
    assert_eq!(doctor.code, 1, "{doctor:#?}");
    assert!(
        doctor.stdout.contains("ca-key-on-runner-host"),
        "{doctor:#?}"
    );
    std::fs::remove_file(d.path("cp/ca.key")).unwrap();
    let doctor = d.run(&["doctor", "--config", cfg, "--runner", "k8s"]);
    assert_eq!(doctor.code, 0, "{doctor:#?}");
    d.run(&["doctor", "--config", cfg, "--runner", "other"])
        .input_error(&["no runner named"]);
    let demo = d.run(&["demo", "--dir", "demo"]);
    assert_eq!(demo.code, 0, "{demo:#?}");
    assert!(demo.stdout.contains("kubectl apply -f"));
}

#[test]
fn csr_sign_and_inspect() {
    let d = Dir::new();
    d.run(&["ca", "init", "--out-dir", "ca", "--algorithm", "ecdsa-p256"])
        .success();
    d.run(&["key", "generate", "--out", "k.pem"]).success();
    d.run(&[
        "csr",
        "create",
        "--key",
        "k.pem",
        "--user",
        "gitlab-admin",
        "--group",
        "runners",
        "--out",
        "k.csr",
    ])
    .success();
    let signed = d
        .run(&["csr", "sign", "k.csr", "--ca-dir", "ca", "--out", "k.crt"])
        .success();
    assert!(signed.stdout.contains("gitlab-admin"));
    let shown = d.run(&["inspect", "k.crt"]).success();
    assert!(
        shown.stdout.contains("user (CN):        gitlab-admin"),
        "{shown:#?}"
    );
    assert!(shown.stdout.contains("groups (O):       runners"));
    let json = d.run(&["inspect", "--json", "k.csr"]).success();
    assert!(json.stdout.contains("\"common_names\""));
    d.run(&["csr", "sign", "k.csr", "--ca-dir", "ca", "--out", "k.crt"])
        .input_error(&["already exists", "--force"]);
    d.run(&["inspect", "nothing-here"])
        .input_error(&["nothing-here"]);
}

#[test]
fn dash_is_stdin_or_stdout_and_never_a_file_named_dash() {
    let d = Dir::new();
    d.run(&["key", "generate", "--out", "-"])
        .input_error(&["never written to standard output"]);
    d.run(&["key", "generate", "--out", "k.pem"]).success();
    let csr = d
        .run(&[
            "csr", "create", "--key", "k.pem", "--user", "u", "--out", "-",
        ])
        .success();
    assert!(
        csr.stdout
            .starts_with("-----BEGIN CERTIFICATE REQUEST-----\n")
    );
    let shown = d
        .run_with_stdin(&["inspect", "-"], csr.stdout.as_bytes())
        .success();
    assert!(shown.stdout.contains("certificate request"), "{shown:#?}");
    d.run(&["ca", "init", "--out-dir", "ca", "--algorithm", "ecdsa-p256"])
        .success();
    let signed = d
        .run_with_stdin(
            &["csr", "sign", "-", "--ca-dir", "ca", "--out", "-"],
            csr.stdout.as_bytes(),
        )
        .success();
    assert!(signed.stdout.contains("-----BEGIN CERTIFICATE-----\n"));
    d.write("config.toml", CONFIG);
    d.run(&[
        "runner-config",
        "set",
        "--config",
        "-",
        "--runner",
        "k8s",
        "--namespace",
        "ci",
    ])
    .input_error(&["edited in place"]);
    let lint = d.run_with_stdin(
        &["runner-config", "lint", "--config", "-"],
        CONFIG.as_bytes(),
    );
    assert_eq!(lint.code, 0, "{lint:#?}");
    d.run(&["issue", "--ca-dir", "ca", "--user", "u", "--out-dir", "id"])
        .success();
    d.run(&[
        "kubeconfig",
        "--server",
        "https://10.0.0.1:6443",
        "--ca",
        "id/ca.crt",
        "--cert",
        "id/u.crt",
        "--key",
        "id/u.key",
        "--out",
        "-",
    ])
    .input_error(&["never written to standard output"]);
    assert!(
        !d.listing().iter().any(|f| f == "-" || f.ends_with("/-")),
        "{:?}",
        d.listing()
    );
}

#[test]
fn completions_and_manual_page() {
    let d = Dir::new();
    let bash = d.run(&["completion", "bash"]).success();
    let script = d.write("runnerkey.bash", &bash.stdout);
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    assert!(bash.stdout.contains("runner-config"));
    for shell in ["zsh", "fish", "powershell"] {
        assert!(!d.run(&["completion", shell]).success().stdout.is_empty());
    }
    let man = d.run(&["man"]).success();
    assert!(
        man.stdout.contains(".TH runnerkey"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
}
