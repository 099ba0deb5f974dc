//! Each feature set pulls in only its own stack: the PKI core
//! (`--no-default-features`) neither HTTP nor TLS nor TOML nor YAML,
//! `kubeconfig` no HTTP client and no TOML, `runner-config` no HTTP client
//! and no YAML. Read from `cargo tree` (offline, from Cargo.lock), so that
//! a dependency made non-optional again fails here, not in a user's build.

use std::collections::BTreeSet;
use std::process::Command;

/// The HTTP client and TLS stack (`client`).
const CLIENT: &[&str] = &[
    "ureq",
    "ureq-proto",
    "rustls",
    "httparse",
    "percent-encoding",
];
/// The YAML crate (`kubeconfig`).
const YAML: &[&str] = &["serde_norway"];
/// The TOML editor and the diff (`runner-config`).
const TOML: &[&str] = &["toml_edit", "similar"];
/// The URL parser (`kubeconfig`, `runner-config`).
const URL: &[&str] = &["http"];

/// The names of the crates runnerkey builds with `features` (normal
/// dependencies only: no build scripts' or tests' crates).
fn crates(features: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let features = features.join(",");
    let out = Command::new(cargo)
        .args(["tree", "--offline", "--locked", "--manifest-path", manifest])
        .args(["-p", "runnerkey", "-e", "normal", "--prefix", "none"])
        .args(["--no-default-features", "--features", &features])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("cargo tree prints UTF-8")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn assert_without(features: &[&str], stacks: &[&[&str]]) {
    let have = crates(features);
    assert!(have.contains("aws-lc-rs"), "{have:?}"); // the listing was read
    for name in stacks.iter().flat_map(|s| s.iter()) {
        assert!(
            !have.contains(*name),
            "runnerkey with features {features:?} pulls in {name}"
        );
    }
}

fn assert_with(features: &[&str], stacks: &[&[&str]]) {
    let have = crates(features);
    for name in stacks.iter().flat_map(|s| s.iter()) {
        assert!(
            have.contains(*name),
            "runnerkey with features {features:?} lacks {name}: {have:?}"
        );
    }
}

#[test]
fn the_pki_core_builds_without_http_tls_toml_or_yaml() {
    assert_without(&[], &[CLIENT, YAML, TOML, URL]);
}

#[test]
fn kubeconfig_and_runner_config_build_without_the_http_client() {
    assert_without(&["kubeconfig"], &[CLIENT, TOML]);
    assert_with(&["kubeconfig"], &[YAML, URL]);
    assert_without(&["runner-config"], &[CLIENT, YAML]);
    assert_with(&["runner-config"], &[TOML, URL]);
}

#[test]
fn the_default_features_are_all_of_them() {
    assert_with(&["default"], &[CLIENT, YAML, TOML, URL]);
    assert_with(&["client"], &[CLIENT, YAML]);
}
