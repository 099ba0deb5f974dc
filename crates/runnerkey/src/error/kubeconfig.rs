//! Why a kubeconfig context cannot be resolved (data only: the rules are in
//! `kube_context`).

/// Why a kubeconfig context cannot be resolved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KubeconfigProblem {
    /// No context named, and no current-context.
    #[error("no current-context; name one of: {}", names(available))]
    NoCurrentContext {
        /// The contexts there are.
        available: Vec<String>,
    },
    /// The context named does not exist.
    #[error("no context {name:?}; it has: {}", names(available))]
    NoContext {
        /// The name asked for.
        name: String,
        /// The contexts there are.
        available: Vec<String>,
    },
    /// The context names a cluster or user the file does not define.
    #[error("context {context:?} names the {kind} {name:?}, which it does not define")]
    Undefined {
        /// The context.
        context: String,
        /// `cluster` or `user`.
        kind: &'static str,
        /// The missing entry.
        name: String,
    },
    /// Embedded data that is not base64 or not what it should hold.
    #[error("{what}: {reason}")]
    BadData {
        /// Which field of which entry.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A client certificate without its key, or a key without its certificate.
    #[error("the user {user:?} has a client certificate or key without the other")]
    HalfClientCertificate {
        /// The user entry.
        user: String,
    },
    /// Two entries of one kind share a name in one file (kubectl refuses it).
    #[error("two {kind} entries are named {name:?}")]
    DuplicateName {
        /// `cluster`, `user` or `context`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// None of the kubeconfig files exists.
    #[error("none of the kubeconfig files exists")]
    NoFile,
}

fn names(available: &[String]) -> String {
    if available.is_empty() {
        "no context at all".into()
    } else {
        available.join(", ")
    }
}
