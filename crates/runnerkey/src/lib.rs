//! runnerkey: give a CI runner outside a Kubernetes cluster an identity in
//! it, correctly and safely.
//!
//! The library does all the work; the `runnerkey` CLI and the Python
//! package only translate. Start with [`CertificateAuthority`] (load or
//! make a CA), [`PrivateKey`] and [`CertificateRequest`], then
//! [`CertificateAuthority::issue`] or [`CertificateAuthority::sign`].
//!
//! ```
//! use runnerkey::{CaParams, CertificateAuthority, Identity, IssueParams, KeyAlgorithm};
//! let ca = CertificateAuthority::generate(&CaParams {
//!     algorithm: KeyAlgorithm::EcdsaP256,
//!     ..CaParams::default()
//! })?;
//! let who = Identity::new("gitlab-admin", ["gitlab-runners"])?;
//! let (key, issued) = ca.issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())?;
//! assert_eq!(issued.certificate.identity(), who);
//! assert!(key.matches(&issued.certificate.public_key()));
//! # Ok::<(), runnerkey::Error>(())
//! ```

pub mod api_client;
pub mod ca;
pub mod cert;
mod code;
pub mod credential_dir;
pub mod csr;
pub mod doctor;
pub mod error;
pub mod file;
pub mod identity;
pub mod inspect;
pub mod issue;
pub mod k8s_csr;
pub mod k8s_name;
pub mod key;
mod key_algorithm;
pub mod kubeconfig;
pub mod lifetime;
pub mod manifest;
mod nesting;
pub mod next_step;
mod oid;
mod pem_block;
pub mod proxy;
pub mod public_key;
pub mod rbac;
pub mod runner_config;
pub mod setup;
mod severity;
mod signer;
mod subject_problem;
mod template;
pub mod url;
pub mod verify;

pub use ca::{CaParams, CertificateAuthority};
pub use cert::Certificate;
pub use code::Code;
pub use csr::{CertificateRequest, CsrParams};
pub use error::{Error, ErrorKind, Result};
pub use identity::{Identity, SubjectProblem, SubjectReading};
pub use issue::{ClientFiles, IssueParams, Issued};
pub use key::{KeyAlgorithm, KeyFormat, PrivateKey};
pub use lifetime::Lifetime;
pub use next_step::{NextStep, RbacFor};
pub use public_key::{KeyType, PublicKey};
pub use severity::Severity;
