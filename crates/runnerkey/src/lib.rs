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
//! let mut params = CaParams::default();
//! params.algorithm = KeyAlgorithm::EcdsaP256;
//! let ca = CertificateAuthority::generate(&params)?;
//! let who = Identity::new("gitlab-admin", ["gitlab-runners"])?;
//! let (key, issued) = ca.issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())?;
//! assert_eq!(issued.certificate.identity(), who);
//! assert!(key.matches(&issued.certificate.public_key()));
//! # Ok::<(), runnerkey::Error>(())
//! ```

mod api_client;
mod batch;
pub mod ca;
mod cert;
mod code;
mod credential_dir;
mod csr;
pub mod doctor;
mod error;
pub mod file;
pub mod identity;
pub mod inspect;
mod issue;
pub mod k8s_csr;
pub mod k8s_name;
mod key;
mod key_algorithm;
pub mod kubeconfig;
pub mod lifetime;
mod manifest;
mod nesting;
mod next_step;
mod oid;
mod pem_block;
mod proxy;
mod public_key;
pub mod rbac;
pub mod runner_config;
pub mod setup;
mod severity;
mod signer;
mod subject_problem;
mod template;
mod url;
pub mod verify;

pub use batch::{
    BatchEntry, BatchParams, BatchReport, BatchResult, BatchResultData, MAX_BATCH_ENTRIES,
};
pub use ca::{CaParams, CertificateAuthority};
pub use cert::Certificate;
pub use code::Code;
pub use csr::{CertificateRequest, CsrParams};
pub use error::{Error, ErrorKind, Result};
pub use identity::{Identity, SubjectProblem, SubjectReading};
pub use issue::{BACKDATE, ClientFiles, IssueParams, Issued};
pub use key::{KeyAlgorithm, KeyFormat, MAX_PBKDF2_ITERATIONS, PrivateKey};
pub use lifetime::Lifetime;
pub use manifest::{Manifests, ObjectMeta};
pub use next_step::{NextStep, RbacFor};
pub use public_key::{KeyType, PublicKey};
pub use severity::Severity;
