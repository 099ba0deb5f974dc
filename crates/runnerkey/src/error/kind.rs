//! The kind of an [`Error`], decided once: the CLI's exit status and the
//! Python exception class are chosen from it.

use super::{Error, csr_api, k8s_csr, transport};

/// What kind of error an [`Error`] is, for callers that map errors to
/// their own types (Python's exception classes): deliberately exhaustive,
/// so that a new kind fails to compile where it is not handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Reading or writing a file.
    Io,
    /// Malformed PEM or DER, or the wrong kind of block.
    Malformed,
    /// An encrypted key without its passphrase.
    PassphraseRequired,
    /// A passphrase that does not decrypt.
    BadPassphrase,
    /// A key or key encryption runnerkey does not handle.
    UnsupportedKey,
    /// An RSA key below 2048 bits.
    WeakKey,
    /// A key that does not belong with its certificate.
    KeyMismatch,
    /// An issuer that cannot be a CA, or whose chain up to its root is
    /// incomplete.
    NotACa,
    /// A CA outside its validity.
    CaNotValid,
    /// A name, or a certificate subject, that cannot be used.
    InvalidName,
    /// `system:masters` without permission.
    SystemMasters,
    /// Another group that gives cluster-wide power (`kubeadm:cluster-admins`,
    /// ...), without permission.
    PrivilegedGroup,
    /// A signature that does not verify.
    BadSignature,
    /// An argument out of range, inconsistent, or missing.
    InvalidArgument,
    /// An output that exists, or would replace the CA's own file.
    OutputExists,
    /// A config.toml that does not parse.
    ConfigParse,
    /// No runner of that name.
    RunnerNotFound,
    /// Several runners of that name.
    DuplicateRunner,
    /// The config's lock is held.
    Locked,
    /// The config changed on disk meanwhile.
    ConcurrentModification,
    /// A Kubernetes CSR without a certificate yet (pending, or kept for an
    /// approver), or gone.
    CsrNotIssued,
    /// A Kubernetes CSR denied or failed: the cluster refused it.
    CsrDenied,
    /// The cluster refused or could not do what was asked: the API server
    /// answered with an error status (or not as asked), a request was not
    /// approved, or it holds more objects than runnerkey reads.
    ClusterRefused,
    /// The API server could not be reached (name, connection, TLS, proxy,
    /// an answer that is not HTTP).
    Unreachable,
    /// The API server did not answer in time.
    Timeout,
    /// The crypto backend failed.
    Crypto,
    /// A credential or request that is not what was decided or cannot be
    /// trusted (a pinned identity, a certificate the CA did not issue or
    /// does not accept, what the signer issued, a token the server does not
    /// vouch for, a file its owner did not write): refused, nothing done.
    Untrusted,
}

/// The kind of a CSR API problem: what the cluster or the signer did, or
/// (a kubeconfig runnerkey does not use) bad input.
fn csr_api_kind(problem: &csr_api::CsrApiProblem) -> ErrorKind {
    use csr_api::CsrApiProblem as P;
    match problem {
        P::Insecure { .. } | P::Plugin { .. } => ErrorKind::InvalidArgument,
        P::Unreachable { source, .. } => match source.kind {
            transport::TransportFailureKind::Timeout => ErrorKind::Timeout,
            _ => ErrorKind::Unreachable,
        },
        P::Answered { .. } | P::NotApproved { .. } => ErrorKind::ClusterRefused,
        P::WrongIdentity { .. }
        | P::WrongKey
        | P::SignerTooLong { .. }
        | P::NotAccepted { .. }
        | P::BadToken { .. }
        | P::TokenNotVouched { .. } => ErrorKind::Untrusted,
        P::StillPending { .. } | P::RenewalPending { .. } | P::NotAdoptable { .. } => {
            ErrorKind::CsrNotIssued
        }
    }
}

impl Error {
    /// What kind of error this is (of the innermost error, past file
    /// context).
    pub fn kind(&self) -> ErrorKind {
        match self.root() {
            Error::Io { .. } => ErrorKind::Io,
            Error::InFile { .. } | Error::AtLine { .. } | Error::InOffered { .. } => ErrorKind::Io,
            Error::Pem(_) | Error::WrongPemBlock { .. } | Error::Der { .. } => ErrorKind::Malformed,
            Error::PassphraseRequired => ErrorKind::PassphraseRequired,
            Error::BadPassphrase => ErrorKind::BadPassphrase,
            Error::UnsupportedKeyEncryption(_) | Error::UnsupportedKey(_) => {
                ErrorKind::UnsupportedKey
            }
            Error::WeakKey { .. } => ErrorKind::WeakKey,
            Error::KeyMismatch { .. } => ErrorKind::KeyMismatch,
            Error::NotACa { .. } | Error::IncompleteChain { .. } | Error::ChainTooLong { .. } => {
                ErrorKind::NotACa
            }
            Error::CaNotValid { .. } => ErrorKind::CaNotValid,
            Error::InvalidName { .. } | Error::AmbiguousSubject(_) => ErrorKind::InvalidName,
            Error::SystemMasters => ErrorKind::SystemMasters,
            Error::PrivilegedGroup { .. } => ErrorKind::PrivilegedGroup,
            Error::BadSignature(_) => ErrorKind::BadSignature,
            Error::CsrApi(problem) => csr_api_kind(problem),
            Error::InvalidArgument(_)
            | Error::Lifetime(_)
            | Error::Kubeconfig { .. }
            | Error::Batch(_)
            | Error::Edit(_)
            | Error::Unknown { .. }
            | Error::BadUrl { .. }
            | Error::CaKeyAsRunnerKey { .. }
            | Error::SamePath { .. }
            | Error::K8sCsr(_)
            | Error::TooDeep { .. }
            | Error::NamespaceRequired
            | Error::TokenNeedsServiceAccount
            | Error::NotKubernetesRunner { .. } => ErrorKind::InvalidArgument,
            Error::WouldReplaceCa { .. } | Error::Exists { .. } => ErrorKind::OutputExists,
            Error::ConfigParse { .. } => ErrorKind::ConfigParse,
            Error::RunnerNotFound { .. } => ErrorKind::RunnerNotFound,
            Error::DuplicateRunner { .. } => ErrorKind::DuplicateRunner,
            Error::Locked { .. } => ErrorKind::Locked,
            Error::ConcurrentModification { .. } => ErrorKind::ConcurrentModification,
            Error::CsrNotIssued { state, .. } => match state {
                k8s_csr::CsrState::Denied | k8s_csr::CsrState::Failed => ErrorKind::CsrDenied,
                _ => ErrorKind::CsrNotIssued,
            },
            Error::TooManyObjects { .. } => ErrorKind::ClusterRefused,
            Error::NotPinned { .. }
            | Error::NoPin { .. }
            | Error::NotIssuedByCa { .. }
            | Error::NotAcceptedByCa { .. }
            | Error::NotInstallable { .. }
            | Error::NotOwned { .. } => ErrorKind::Untrusted,
            Error::Crypto(_) => ErrorKind::Crypto,
        }
    }
}
