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
