//! Why the CSR API flow stopped (data only: the flow is in `csr_api`).

use super::transport::TransportFailure;

fn in_parens(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

/// Why the CSR API flow stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrApiProblem {
    /// The kubeconfig turns server certificate checks off.
    #[error(
        "{source_name}: the cluster entry turns server certificate checks off (insecure-skip-tls-verify); runnerkey does not send credentials that way unless told to accept it"
    )]
    Insecure {
        /// The kubeconfig.
        source_name: String,
    },
    /// The user needs a credential plugin.
    #[error("{source_name}: the user authenticates with {what}, which runnerkey does not run")]
    Plugin {
        /// The kubeconfig.
        source_name: String,
        /// The plugin.
        what: String,
    },
    /// The API server could not be spoken to (what failed is the
    /// [`source`](std::error::Error::source)).
    #[error("{server}")]
    Unreachable {
        /// The server.
        server: String,
        /// What failed below HTTP.
        #[source]
        source: TransportFailure,
    },
    /// The API server answered with an error, or with an answer that is not
    /// what was asked for.
    #[error(
        "{what}: the API server answered HTTP {status}{}: {message}",
        in_parens(reason)
    )]
    Answered {
        /// What was being done.
        what: &'static str,
        /// The HTTP status.
        status: u16,
        /// The `reason` of the Kubernetes `Status` in the answer
        /// (`Forbidden`, `AlreadyExists`, ...; empty when it has none).
        reason: String,
        /// The `message` of the `Status`, or what is wrong with the answer.
        message: String,
    },
    /// The signer issued a certificate for another identity.
    #[error("the signer issued a certificate for {issued}, not {expected}: it was not written")]
    WrongIdentity {
        /// What it issued.
        issued: String,
        /// What was asked.
        expected: String,
    },
    /// The signer issued a certificate for another key.
    #[error(
        "the signer issued a certificate for another key than the request's: it was not written"
    )]
    WrongKey,
    /// The signer issued a certificate that lasts longer than asked, than
    /// its CA, or than the API can ask for again: stored, every later
    /// renewal (which asks for the same lifetime) would fail.
    #[error(
        "the signer issued a certificate valid until {}, beyond {limit}: it was not written",
        super::lifetime::rfc3339(*not_after)
    )]
    SignerTooLong {
        /// The issued certificate's end.
        not_after: time::OffsetDateTime,
        /// What it exceeds.
        limit: String,
    },
    /// The cluster CA does not accept the issued certificate for client auth.
    #[error("the issued certificate is not a client certificate the cluster CA accepts: {}", problems.join("; "))]
    NotAccepted {
        /// verify's problems.
        problems: Vec<String>,
    },
    /// A token the API server issued that cannot be used: for another
    /// account, already ended, or refused by the server itself.
    #[error(
        "the token the API server issued for {user} cannot be used: {reason}; nothing was written"
    )]
    BadToken {
        /// The account it was asked for.
        user: String,
        /// Why.
        reason: String,
    },
    /// The runner's current token is not vouched for by the API server, so
    /// the account it names is not trusted for a renewal.
    #[error(
        "the runner's current token (for {subject}) is not vouched for by the API server: {reason}; renew replaces only a token the server accepts"
    )]
    TokenNotVouched {
        /// Who the token claims to be.
        subject: String,
        /// Why.
        reason: String,
    },
    /// A request approve refuses to approve.
    #[error("CertificateSigningRequest {name}: {reason}: not approved")]
    NotApproved {
        /// The request.
        name: String,
        /// Why.
        reason: String,
    },
    /// The wait ended with the request still pending approval or
    /// issuance.
    #[error(
        "CertificateSigningRequest {name} is still pending approval or issuance after {waited}{}",
        if *kept { ": it is kept for an approver" } else { ": it was deleted" }
    )]
    StillPending {
        /// The request.
        name: String,
        /// How long was waited.
        waited: String,
        /// Whether the request was left in the cluster.
        kept: bool,
    },
    /// A renewal's request is still pending: kept, and adopted by the next
    /// renew of the runner.
    #[error(
        "runner {runner:?}: its renewal request, CertificateSigningRequest {name}, is still pending approval after {waited}: it is kept, and the next renew adopts it"
    )]
    RenewalPending {
        /// The runner.
        runner: String,
        /// The request.
        name: String,
        /// How long was waited.
        waited: String,
    },
    /// A request submitted before cannot be waited for again: it is gone,
    /// replaced, for another key, or already refused.
    #[error("CertificateSigningRequest {name} cannot be adopted: {reason}")]
    NotAdoptable {
        /// The request.
        name: String,
        /// Why.
        reason: String,
    },
}
