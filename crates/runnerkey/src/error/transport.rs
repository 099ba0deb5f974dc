//! Why the API server could not be spoken to (data only: the HTTP client
//! is `api_client`, which says what failed below HTTP).

/// What failed below HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportFailureKind {
    /// The name does not resolve.
    Dns,
    /// Nothing listens there.
    Refused,
    /// No answer in time.
    Timeout,
    /// Something that is not TLS answered.
    NotTls,
    /// The server's certificate was refused.
    ServerCertificate,
    /// Another TLS failure (e.g. the server refused our certificate).
    Tls,
    /// Reading or writing failed.
    Io,
    /// The proxy Go's rules choose could not be used or refused the tunnel.
    Proxy,
    /// The answer is larger than runnerkey reads.
    TooLarge,
    /// The connection works (TLS included) but the answer is not HTTP.
    BadHttp,
}

/// A failure below HTTP: what failed and what was said of it (the source
/// of [`CsrApiProblem::Unreachable`](crate::CsrApiProblem::Unreachable)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct TransportFailure {
    /// What failed.
    pub kind: TransportFailureKind,
    /// What was said of it, for a person.
    pub detail: String,
}
