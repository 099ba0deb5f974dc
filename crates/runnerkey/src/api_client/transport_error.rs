//! A failure below HTTP, in words.

use super::*;

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail())
    }
}

impl std::error::Error for TransportError {}

impl TransportError {
    /// What went wrong, in a few words.
    pub fn detail(&self) -> String {
        match self {
            TransportError::Dns(m)
            | TransportError::Refused(m)
            | TransportError::Timeout(m)
            | TransportError::NotTls(m)
            | TransportError::Tls(m)
            | TransportError::Io(m)
            | TransportError::Proxy(m)
            | TransportError::TooLarge(m)
            | TransportError::BadHttp(m) => m.clone(),
            TransportError::ServerCert { problem, .. } => problem.to_string(),
        }
    }

    /// What failed, without the server's chain: the source of an
    /// [`Error`] that says the server could not be spoken to.
    pub(crate) fn failure(&self) -> TransportFailure {
        let kind = match self {
            TransportError::Dns(_) => TransportFailureKind::Dns,
            TransportError::Refused(_) => TransportFailureKind::Refused,
            TransportError::Timeout(_) => TransportFailureKind::Timeout,
            TransportError::NotTls(_) => TransportFailureKind::NotTls,
            TransportError::ServerCert { .. } => TransportFailureKind::ServerCertificate,
            TransportError::Tls(_) => TransportFailureKind::Tls,
            TransportError::Io(_) => TransportFailureKind::Io,
            TransportError::Proxy(_) => TransportFailureKind::Proxy,
            TransportError::TooLarge(_) => TransportFailureKind::TooLarge,
            TransportError::BadHttp(_) => TransportFailureKind::BadHttp,
        };
        TransportFailure {
            kind,
            detail: self.detail(),
        }
    }
}
