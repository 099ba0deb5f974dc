//! Why a Kubernetes CertificateSigningRequest cannot be made or read (data
//! only: the object is in [`crate::k8s_csr`]).

/// Why a Kubernetes CertificateSigningRequest cannot be made or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum K8sCsrProblem {
    /// `expirationSeconds` below the API's minimum (600).
    #[error("expiration {secs}s is below the API's minimum of 600s")]
    ExpirationTooShort {
        /// What was asked.
        secs: u64,
    },
    /// `expirationSeconds` above an int32.
    #[error(
        "expiration {secs}s is above the API's maximum of 2147483647s (expirationSeconds is an int32)"
    )]
    ExpirationTooLong {
        /// What was asked.
        secs: u64,
    },
    /// Not a CertificateSigningRequest object (JSON or YAML).
    #[error("not a CertificateSigningRequest: {reason}")]
    NotAnObject {
        /// The reader's reason.
        reason: String,
    },
    /// Another kind of object.
    #[error("expected kind CertificateSigningRequest, found {found}")]
    WrongKind {
        /// The kind found.
        found: String,
    },
    /// `status.certificate` is not base64.
    #[error("status.certificate is not base64: {reason}")]
    NotBase64 {
        /// The decoder's reason.
        reason: String,
    },
}

/// Where a CertificateSigningRequest without a certificate stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CsrState {
    /// Not approved yet.
    Pending,
    /// Approved, but the signer has not issued the certificate yet.
    Approved,
    /// Denied (by an admin or an approver).
    Denied,
    /// The signer failed it.
    Failed,
    /// Deleted, or replaced by another object of the same name.
    Gone,
}

impl CsrState {
    /// Its name: `pending`, `approved`, `denied`, `failed`, `gone`.
    pub fn as_str(self) -> &'static str {
        match self {
            CsrState::Pending => "pending",
            CsrState::Approved => "approved",
            CsrState::Denied => "denied",
            CsrState::Failed => "failed",
            CsrState::Gone => "gone",
        }
    }

    /// Whether a certificate may still come (pending or approved).
    pub fn may_issue(self) -> bool {
        matches!(self, CsrState::Pending | CsrState::Approved)
    }
}
