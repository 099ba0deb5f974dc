//! runnerkey: give a CI runner outside a Kubernetes cluster an identity in
//! it, correctly and safely.
//!
//! **Unix only**: keys are created 0600, files replaced atomically, what
//! others may control opened without following their symlinks, ownership
//! judged with Unix semantics; the crate does not build for other targets.
//! The examples of the crate's `README.md` are compiled and run as
//! doctests. Errors: [`Error::kind`] classifies, [`Error::chain`] is the
//! whole message (`Display` shows one level).
//!
//! The library does all the work; the `runnerkey` CLI and the Python
//! package only translate. Start with [`CertificateAuthority`] (load or
//! make a CA), [`PrivateKey`] and [`CertificateRequest`], then
//! [`CertificateAuthority::issue`] or [`CertificateAuthority::sign`].
//!
//! ```
//! use runnerkey::{CaParams, CertificateAuthority, Identity, IssueParams, KeyAlgorithm};
//! let mut params = CaParams::default();
//! params.algorithm = KeyAlgorithm::EcdsaP256;
//! let ca = CertificateAuthority::generate(&params)?;
//! let who = Identity::new("gitlab-admin", ["gitlab-runners"])?;
//! let (key, issued) = ca.issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())?;
//! assert_eq!(issued.certificate.identity()?, who);
//! assert!(key.matches(&issued.certificate.public_key()));
//! # Ok::<(), runnerkey::Error>(())
//! ```
//!
//! With the cluster's own CA, as kubeadm leaves it in `/etc/kubernetes/pki`
//! (here a throwaway one written the same way), issue the runner's three
//! files:
//!
//! ```
//! use runnerkey::{CaParams, CertificateAuthority, ClientFiles, Identity, IssueParams, KeyAlgorithm};
//! # let tmp = tempfile::tempdir().unwrap();
//! # let pki = tmp.path().join("pki");
//! # CertificateAuthority::generate(&CaParams::default())?.write_kubeadm(&pki, false)?;
//! let ca = CertificateAuthority::load(&pki.join("ca.crt"), &pki.join("ca.key"), None)?;
//! let who = Identity::new("gitlab-admin", ["gitlab-runners"])?;
//! let (key, issued) = ca.issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())?;
//! let files = ClientFiles::in_dir(&tmp.path().join("ssl"), who.user())?;
//! files.write(&key, &issued.certificate, ca.certificate(), false)?; // key 0600, all or nothing
//! # Ok::<(), runnerkey::Error>(())
//! ```
//!
//! Point a runner of gitlab-runner's `config.toml` at them, keeping every
//! other byte of the file (comments, order, formatting; feature
//! `runner-config`):
//!
//! ```
//! # #[cfg(feature = "runner-config")] {
//! use runnerkey::runner_config::{Change, KubeKey, RunnerConfig, RunnerSelector};
//! let mut config = RunnerConfig::parse(
//!     "# fleet\n[[runners]]\n  name = \"r\"\n  executor = \"kubernetes\"\n",
//! )?;
//! config.set_kubernetes(
//!     &RunnerSelector::Name("r".into()),
//!     &[
//!         Change::set(KubeKey::Host, "https://10.0.0.1:6443"),
//!         Change::set(KubeKey::CertFile, "/etc/ssl/kubernetes/gitlab-admin.crt"),
//!     ],
//! )?;
//! assert!(config.text().starts_with("# fleet\n"));
//! assert!(config.text().contains("[runners.kubernetes]"));
//! // config.save(&SaveOptions::default()) writes it: backup, atomic, locked.
//! # }
//! # Ok::<(), runnerkey::Error>(())
//! ```
//!
//! Or do all of it in one step, idempotently: [`setup::SetupParams`]
//! (features `client` and `runner-config`).
//!
//! ```
//! # #[cfg(all(feature = "client", feature = "runner-config"))] {
//! use runnerkey::runner_config::RunnerSelector;
//! use runnerkey::setup::{CertSource, SetupParams};
//! use runnerkey::{CaParams, CertificateAuthority};
//! # let tmp = tempfile::tempdir().unwrap();
//! # let config = tmp.path().join("config.toml");
//! # std::fs::write(&config, "[[runners]]\n  name = \"r\"\n  executor = \"kubernetes\"\n").unwrap();
//! let ca = CertificateAuthority::generate(&CaParams::default())?;
//! let mut params = SetupParams::new(&config, RunnerSelector::Name("r".into()), "https://10.0.0.1:6443")?;
//! params.out_dir = tmp.path().join("ssl");
//! let report = params.run(CertSource::Ca(&ca))?;
//! assert!(report.changed);
//! assert!(!params.run(CertSource::Ca(&ca))?.changed); // a second run changes nothing
//! # }
//! # Ok::<(), runnerkey::Error>(())
//! ```
//!
//! # Features
//!
//! The PKI core (CAs, keys, requests, certificates, identities, issuing
//! and writing a runner's files, verification as kube-apiserver does it,
//! `inspect`, `ensure`, `install`, `batch`) is always there and needs no
//! HTTP, TLS, TOML or YAML crate. The rest is in features, all on by
//! default (`default-features = false` for the core alone):
//!
//! | Feature | Adds | Pulls in |
//! |---|---|---|
//! | `kubeconfig` | [`kubeconfig`], [`rbac`], [`k8s_csr`] manifests, [`KubeContext`], [`Manifests`]; `inspect` and [`load_certificates`] also read kubeconfigs | serde_norway, http (the URL parser) |
//! | `runner-config` | [`runner_config`] (read, edit, lint, save `config.toml`), [`StatusReport`], [`RenewalRecord`], [`RenewUnits`] | toml_edit, similar, http |
//! | `client` (implies `kubeconfig`) | the Kubernetes API client: [`SubmitParams`] (the CSR API), [`approve_csr`], [`TokenRequestParams`] | ureq, rustls, httparse, percent-encoding |
//! | `client` + `runner-config` | [`doctor`], [`setup`], [`approver`], [`RenewParams`] | |
//!
//! The `runnerkey` CLI and the Python package use the default (all).

// Dead code and doc links are judged in the full build (all features),
// where every helper has its users and every linked item is there; a build
// with fewer features leaves some of the core's helpers (the API flows'
// timeouts, the runner's file checks...) without theirs, and the crate's
// docs link to items of every feature.
#![cfg_attr(
    not(all(feature = "client", feature = "kubeconfig", feature = "runner-config")),
    allow(dead_code, unused_imports, rustdoc::broken_intra_doc_links)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "client")]
mod api_client;
#[cfg(all(feature = "client", feature = "runner-config"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "client", feature = "runner-config"))))]
pub mod approver;
mod batch;
mod bearer_token;
mod ca;
mod cert;
mod code;
mod credential_dir;
mod csr;
#[cfg(feature = "client")]
mod csr_api;
pub mod defaults;
#[cfg(all(feature = "client", feature = "runner-config"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "client", feature = "runner-config"))))]
pub mod doctor;
#[cfg(any(feature = "kubeconfig", feature = "runner-config"))]
mod endpoint;
mod ensure;
mod error;
mod file;
pub mod fs;
mod hex;
mod identity;
pub mod inspect;
mod install;
mod issue;
#[cfg(feature = "kubeconfig")]
#[cfg_attr(docsrs, doc(cfg(feature = "kubeconfig")))]
pub mod k8s_csr;
mod k8s_name;
mod keep_or_issue;
mod key;
mod key_algorithm;
#[cfg(feature = "kubeconfig")]
mod kube_context;
#[cfg(feature = "kubeconfig")]
#[cfg_attr(docsrs, doc(cfg(feature = "kubeconfig")))]
pub mod kubeconfig;
mod lifetime;
#[cfg(feature = "kubeconfig")]
mod manifest;
mod named;
#[cfg(feature = "kubeconfig")]
mod nesting;
// What to do next, as the runner's checks, doctor and setup say it.
#[cfg(feature = "runner-config")]
mod next_step;
mod oid;
mod pem_block;
#[cfg(all(feature = "client", feature = "runner-config"))]
mod pin;
mod plan;
// rbac::Profile (the RBAC profiles by name), also named by next steps in
// builds without the `kubeconfig` feature.
#[cfg(any(feature = "kubeconfig", feature = "runner-config"))]
mod profile;
#[cfg(feature = "client")]
mod proxy;
mod public_key;
#[cfg(feature = "kubeconfig")]
#[cfg_attr(docsrs, doc(cfg(feature = "kubeconfig")))]
pub mod rbac;
#[cfg(all(feature = "client", feature = "runner-config"))]
mod renew;
mod renewal;
#[cfg(feature = "runner-config")]
mod renewal_record;
#[cfg(feature = "runner-config")]
mod runner_checks;
#[cfg(feature = "runner-config")]
#[cfg_attr(docsrs, doc(cfg(feature = "runner-config")))]
pub mod runner_config;
mod runner_selector;
pub mod secret;
mod service_account;
#[cfg(all(feature = "client", feature = "runner-config"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "client", feature = "runner-config"))))]
pub mod setup;
mod severity;
mod signer;
#[cfg(feature = "runner-config")]
mod status;
#[cfg(feature = "runner-config")]
mod systemd;
mod template;
#[cfg(feature = "client")]
mod token_request;
#[cfg(any(feature = "kubeconfig", feature = "runner-config"))]
mod url;
pub mod verify;
#[cfg(feature = "client")]
mod whoami;

#[cfg(not(unix))]
compile_error!(
    "runnerkey supports Unix only: it relies on Unix file modes, ownership and symlink-safe opening (O_NOFOLLOW, openat) to keep keys and config.toml safe"
);

/// The examples of the crate's README.md, compiled and run by
/// `cargo test --doc` so that they cannot go stale (they use every
/// feature).
#[cfg(all(
    doctest,
    feature = "client",
    feature = "kubeconfig",
    feature = "runner-config"
))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use batch::{
    BatchEntry, BatchParams, BatchProblem, BatchReport, BatchReportData, BatchResult,
    BatchResultData, MAX_BATCH_ENTRIES,
};
pub use bearer_token::TokenClaims;
pub use ca::{CA_CERT_FILE, CA_KEY_FILE, CaParams, CertificateAuthority, load_certificates};
pub use cert::Certificate;
pub use code::Code;
pub use csr::{CertificateRequest, CsrParams};
#[cfg(feature = "client")]
pub use csr_api::{CsrApiProblem, Progress, SubmitParams, Submitted, approve_csr};
pub use ensure::{EnsureParams, EnsureReport};
pub use error::k8s_csr::CsrState;
pub use error::transport::{TransportFailure, TransportFailureKind};
pub use error::{Error, ErrorKind, Result};
pub use identity::{Identity, SubjectProblem, SubjectReading, is_invisible_format};
pub use install::{InstallAction, InstallParams, InstallReport, OfferedPair};
pub use issue::{ClientFiles, IssueParams, Issued};
pub use key::{KeyAlgorithm, KeyFormat, MAX_PBKDF2_ITERATIONS, PrivateKey};
#[cfg(feature = "kubeconfig")]
pub use kube_context::{
    ContextCredentials, KubeContext, KubeconfigProblem, default_kubeconfig_paths, load_kubeconfig,
};
pub use lifetime::{Lifetime, LifetimeProblem, MAX_TIMEOUT_SECS, Timeout};
#[cfg(feature = "kubeconfig")]
pub use manifest::{Manifests, ObjectMeta};
#[cfg(feature = "runner-config")]
pub use next_step::{NextStep, RbacFor, delete_command};
pub use pem_block::PemBlock;
pub use plan::{FileAction, FileChange};
pub use public_key::{Curve, KeyFamily, KeyType, PublicKey};
#[cfg(all(feature = "client", feature = "runner-config"))]
pub use renew::{OnlineCheck, RenewParams, RenewReport, Signer};
pub use renewal::RenewalPolicy;
#[cfg(feature = "runner-config")]
pub use renewal_record::RenewalRecord;
pub use service_account::ServiceAccountRef;
pub use severity::Severity;
#[cfg(feature = "runner-config")]
pub use status::{
    Credential, PreStart, Recovery, RunnerStatus, StatusParams, StatusReport, TEXTFILE_NAME,
    Unusable, prometheus_textfile,
};
#[cfg(feature = "runner-config")]
pub use systemd::{RenewSigner, RenewUnitPlan, RenewUnits};
#[cfg(feature = "client")]
pub use token_request::{IssuedToken, TokenRequestParams};
