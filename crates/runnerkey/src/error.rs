//! The one error type of the library.
//!
//! Layering: this module depends on no other module of the crate, so that
//! every module can return [`Error`] without the modules depending on each
//! other through it. The problem enums a variant carries (why a CSR API
//! flow stopped, why a kubeconfig cannot be resolved, ...) are data only
//! and live in this module's own submodules; the module they are about
//! re-exports them (`runnerkey::CsrApiProblem` from `csr_api`,
//! `runnerkey::LifetimeProblem` from `lifetime`, ...). The alternative, kube-rs'
//! one error type per module aggregated by an umbrella, would change every
//! signature of the public API for no gain to a caller: one `Error` with
//! typed variants and an exhaustive [`ErrorKind`] is what the CLI (exit
//! status) and Python (exception class) map from, each in one place.
//! `scripts/module_cycles.py` checks that no import cycle comes back.

pub(crate) mod batch;
pub(crate) mod csr_api;
pub(crate) mod edit;
pub(crate) mod k8s_csr;
mod kind;
pub(crate) mod kubeconfig;
pub(crate) mod lifetime;
pub(crate) mod subject;
pub(crate) mod text;
pub(crate) mod transport;

use std::path::PathBuf;

/// Everything that can go wrong in runnerkey, with enough context to act on.
///
/// Errors that come from a file are wrapped in [`Error::InFile`], so the
/// message names the file; [`Error::root`] gives the underlying cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written (the operating system's reason
    /// is the [`source`](std::error::Error::source)).
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Another error, found while reading the file named here (the error
    /// is the [`source`](std::error::Error::source)).
    #[error("{path}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: Box<Error>,
    },
    /// Another error, in one line of a file (an entry of a batch; the
    /// error is the [`source`](std::error::Error::source)).
    #[error("line {line}")]
    AtLine {
        /// 1-based line.
        line: usize,
        /// The underlying error.
        source: Box<Error>,
    },
    /// The input is not well-formed PEM.
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// The input holds PEM, but not the kind of block that was asked for.
    #[error("no {expected} found (the input holds {found})")]
    WrongPemBlock {
        /// What was looked for, e.g. "private key".
        expected: &'static str,
        /// The PEM labels that were found, or "no PEM block".
        found: String,
    },
    /// A DER structure did not decode.
    #[error("malformed {what}: {reason}")]
    Der {
        /// The structure, e.g. "certificate".
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// An encrypted private key was given without a passphrase.
    #[error("the private key is encrypted: give its passphrase")]
    PassphraseRequired,
    /// The passphrase did not decrypt the key.
    #[error("the passphrase does not decrypt the private key")]
    BadPassphrase,
    /// The key is encrypted with a scheme runnerkey does not implement.
    #[error(
        "the private key is encrypted with {0}, which is not supported; re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc` or decrypt it"
    )]
    UnsupportedKeyEncryption(String),
    /// A key of a type runnerkey does not handle.
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// An RSA key below 2048 bits.
    #[error("RSA-{bits} key is too weak: at least 2048 bits are required")]
    WeakKey {
        /// The modulus size.
        bits: usize,
    },
    /// A private key that does not belong to the certificate (or CSR) it goes with.
    #[error("the private key does not match {certificate}")]
    KeyMismatch {
        /// The certificate it should belong to (its subject, file or
        /// origin, e.g. "the CA certificate /etc/kubernetes/pki/ca.crt").
        certificate: String,
    },
    /// A certificate used as an issuer that cannot be one.
    #[error("not a CA certificate: {subject} ({reason})")]
    NotACa {
        /// Its subject.
        subject: String,
        /// Why it cannot sign certificates.
        reason: &'static str,
    },
    /// An intermediate CA given without the certificate of its issuer.
    #[error(
        "the CA {ca} is an intermediate issued by {issuer}, whose certificate was not given: put the chain up to the root the API server trusts (its --client-ca-file) after the CA certificate, in the same file"
    )]
    IncompleteChain {
        /// The CA's subject.
        ca: String,
        /// The subject of its issuer.
        issuer: String,
    },
    /// A chain above a CA longer than runnerkey follows.
    #[error("the chain above the CA {ca} is longer than {max} certificates")]
    ChainTooLong {
        /// The CA's subject.
        ca: String,
        /// The limit.
        max: usize,
    },
    /// A CA certificate outside its validity period.
    #[error("CA certificate {subject} {} {}", if *expired { "expired on" } else { "is not valid before" }, lifetime::rfc3339(*at))]
    CaNotValid {
        /// Its subject.
        subject: String,
        /// Expired (else: not valid yet).
        expired: bool,
        /// Its notAfter (expired) or notBefore.
        at: time::OffsetDateTime,
    },
    /// A user, group or other name that cannot be used.
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidName {
        /// Which name, e.g. "user" or "group".
        field: &'static str,
        /// The value given (control characters escaped by Debug).
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A certificate subject that could be read as another identity than
    /// the one shown, or that displays differently from what the API
    /// server uses.
    #[error("refusing to sign: {0}")]
    AmbiguousSubject(subject::SubjectProblem),
    /// The group `system:masters` was asked for without explicit permission
    /// (only that group: the others are [`Error::PrivilegedGroup`]).
    #[error(
        "refusing group system:masters: it bypasses RBAC and cannot be revoked; allow it explicitly if you really mean it"
    )]
    SystemMasters,
    /// Another group that gives a certificate cluster-wide power, without
    /// permission (`system:masters`, `kubeadm:cluster-admins`).
    #[error("refusing group {group}: {reason}; allow it explicitly if you really mean it")]
    PrivilegedGroup {
        /// The group.
        group: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A signature did not verify.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// An argument out of range or inconsistent with another.
    #[error("{0}")]
    InvalidArgument(String),
    /// A lifetime, duration or timeout that cannot be used.
    #[error(transparent)]
    Lifetime(#[from] lifetime::LifetimeProblem),
    /// A kubeconfig context that cannot be resolved.
    #[error("{source_name}: {problem}")]
    Kubeconfig {
        /// The kubeconfig file(s).
        source_name: String,
        /// What is wrong.
        problem: kubeconfig::KubeconfigProblem,
    },
    /// A name that is not one of the choices (key algorithm, profile,
    /// executor feature).
    #[error("unknown {what} {value:?} (choose one of {})", choices.join(", "))]
    Unknown {
        /// What kind of name.
        what: &'static str,
        /// What was given (at most 80 characters).
        value: String,
        /// The choices.
        choices: Vec<&'static str>,
    },
    /// An API server URL that cannot be used.
    #[error("{field} {value:?} {reason}")]
    BadUrl {
        /// `host` or `server`.
        field: &'static str,
        /// The URL (without user:password@).
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A copy of the CA's own key where the runner's key goes.
    #[error("{}: this is the CA's own key ({ca}): a runner must never hold it", path.display())]
    CaKeyAsRunnerKey {
        /// The key file.
        path: PathBuf,
        /// The CA's subject.
        ca: String,
    },
    /// Two of a runner's files named by one path.
    #[error("{first} and {second} are the same file ({}): each needs its own", path.display())]
    SamePath {
        /// The first role (`key_file`, `cert_file`, `ca_file`).
        first: &'static str,
        /// The second role.
        second: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// The cluster's CSR API flow stopped.
    #[error(transparent)]
    CsrApi(#[from] csr_api::CsrApiProblem),
    /// A Kubernetes CertificateSigningRequest that cannot be made or read.
    #[error(transparent)]
    K8sCsr(#[from] k8s_csr::K8sCsrProblem),
    /// Input nested deeper than runnerkey reads.
    #[error("{what} nests deeper than {max} levels")]
    TooDeep {
        /// The input.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// An edit of a runner's `[runners.kubernetes]` that cannot be made.
    #[error(transparent)]
    Edit(#[from] edit::EditProblem),
    /// A batch entry, or the batch as a whole, that cannot be issued.
    #[error(transparent)]
    Batch(#[from] batch::BatchProblem),
    /// RBAC for a user needs the namespace its job pods run in.
    #[error(
        "the executor profile for a user needs a namespace: the one the runner's job pods run in ([runners.kubernetes] namespace)"
    )]
    NamespaceRequired,
    /// A token Secret was asked for a subject that is not a service account.
    #[error(
        "a token Secret needs a service account subject: a user from a certificate has no token"
    )]
    TokenNeedsServiceAccount,
    /// An output would replace a file the CA was loaded from.
    #[error("refusing to write {path}: it is the CA's own file {ca_file}")]
    WouldReplaceCa {
        /// The output asked for.
        path: PathBuf,
        /// The CA certificate or key file it resolves to.
        ca_file: PathBuf,
    },
    /// An output file exists and overwriting was not allowed.
    #[error("{path} already exists")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A TOML file that does not parse.
    #[error("line {line}, column {column}: {message}")]
    ConfigParse {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// No `[[runners]]` entry has the name asked for.
    #[error("no runner named {name:?} (runners: {})", quoted(available))]
    RunnerNotFound {
        /// The name asked for.
        name: String,
        /// The names that exist.
        available: Vec<String>,
    },
    /// Several `[[runners]]` entries share the name asked for.
    #[error("{} runners are named {name:?} (at indexes {}): select one by its index", indexes.len(), indexes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    DuplicateRunner {
        /// The name.
        name: String,
        /// Their 0-based positions among `[[runners]]`.
        indexes: Vec<usize>,
    },
    /// setup was pointed at a runner that does not use the kubernetes
    /// executor: its kubernetes settings would be ignored.
    #[error(
        "runner {runner:?} uses the {executor:?} executor, not kubernetes: its [runners.kubernetes] settings would be ignored; set executor = \"kubernetes\" first, or pick another runner"
    )]
    NotKubernetesRunner {
        /// The runner.
        runner: String,
        /// Its executor (empty when unset).
        executor: String,
    },
    /// Another editor holds the config's lock.
    #[error("{path} is locked by another editor (waited {waited_ms} ms); try again")]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited_ms: u128,
    },
    /// The file changed on disk after it was read.
    #[error("{path} changed on disk since it was read; nothing was written, run again")]
    ConcurrentModification {
        /// The file.
        path: PathBuf,
    },
    /// A Kubernetes CertificateSigningRequest that has no certificate (yet).
    #[error("CertificateSigningRequest {name}: {detail}")]
    CsrNotIssued {
        /// The CSR object's name.
        name: String,
        /// Where it stands.
        state: k8s_csr::CsrState,
        /// The state said for a person, with the condition's reason and
        /// message.
        detail: String,
    },
    /// A certificate in place that none of the CAs it should come from
    /// issued: the identity it states is vouched for by no one.
    #[error("{}: this certificate was not issued by the cluster's CA ({}): renew copies its identity only from one that was", path.display(), issuers.join(", "))]
    NotIssuedByCa {
        /// The certificate file.
        path: PathBuf,
        /// The subjects of the CAs it should come from.
        issuers: Vec<String>,
    },
    /// A new certificate its CA does not accept for client authentication:
    /// not written.
    #[error("the {what} certificate is not accepted for client auth by {ca}: {}{}", problems.join("; "), if *old_kept { "; the old pair was kept" } else { "" })]
    NotAcceptedByCa {
        /// Which certificate (`new`, `signed`).
        what: &'static str,
        /// The CA (its file or subject).
        ca: String,
        /// What verification found.
        problems: Vec<String>,
        /// Whether a pair in place was kept.
        old_kept: bool,
    },
    /// An offered key, certificate and CA that do not make a pair to
    /// install (the key does not match, the CA did not issue it, another
    /// identity, expired): nothing was installed.
    #[error("the offered pair cannot be installed: {reason}")]
    NotInstallable {
        /// Why.
        reason: String,
    },
    /// Another error, in one of the files of an offered pair (the error is
    /// the [`source`](std::error::Error::source)).
    #[error("the offered {what}")]
    InOffered {
        /// `key`, `certificate` or `CA certificate`.
        what: &'static str,
        /// The underlying error.
        source: Box<Error>,
    },
    /// A file named by a kubeconfig another user may write, which that
    /// user does not own: root does not read it for them (the refusal is
    /// the [`source`](std::error::Error::source)).
    #[error("{}: a kubeconfig another user may write names {file:?}, which runnerkey reads only when that user owns it", kubeconfig.display())]
    NotOwned {
        /// The kubeconfig.
        kubeconfig: PathBuf,
        /// The file it names.
        file: String,
        /// Why it was not read.
        source: Box<Error>,
    },
    /// More objects of a kind in the cluster than runnerkey reads.
    #[error("more than {max} {what}: runnerkey reads at most that many")]
    TooManyObjects {
        /// The objects, e.g. `CertificateSigningRequests`.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// The crypto backend failed.
    #[error("crypto backend: {0}")]
    Crypto(String),
    /// A credential in place that is not the identity setup pinned for the
    /// runner, or a pinned fact that does not hold: nothing was renewed.
    #[error(
        "runner {runner:?}: {found}, not {pinned} as setup pinned it: nothing was renewed (run setup again to change the identity)"
    )]
    NotPinned {
        /// The runner.
        runner: String,
        /// What setup pinned.
        pinned: String,
        /// What is in place instead.
        found: String,
    },
    /// A runner whose credential directory someone else may write, with no
    /// identity pinned by setup: root does not take an identity from it.
    #[error(
        "runner {runner:?}: {reason}: unattended renewal needs the identity setup pins (run setup again, or renew once with the expected user and groups to pin it)"
    )]
    NoPin {
        /// The runner.
        runner: String,
        /// Why a pin is needed.
        reason: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The message of this error and of each cause below it, joined with
    /// `: ` (`Display` shows one level; this is what to show a person).
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }

    /// The innermost error, with file context removed.
    pub fn root(&self) -> &Error {
        match self {
            Error::InFile { source, .. }
            | Error::AtLine { source, .. }
            | Error::InOffered { source, .. } => source.root(),
            other => other,
        }
    }

    /// Wraps this error with the file it came from (once).
    pub fn in_file(self, path: impl Into<PathBuf>) -> Error {
        match self {
            e @ (Error::InFile { .. } | Error::Io { .. }) => e,
            e => Error::InFile {
                path: path.into(),
                source: Box::new(e),
            },
        }
    }

    pub(crate) fn der(what: &'static str, e: impl std::fmt::Display) -> Error {
        Error::Der {
            what,
            reason: e.to_string(),
        }
    }
}

pub use kind::ErrorKind;
use text::quoted;

#[cfg(test)]
mod tests;
