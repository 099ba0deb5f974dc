//! One error of each kind the core has, converted as a failing call would
//! convert it: `runnerkey._native._error_samples()` gives them to the test
//! that checks every exception class against its stub
//! (tests/python/test_error_classes.py). Not part of the API.

use pyo3::prelude::*;
use runnerkey::{CsrApiProblem, CsrState, Error, TransportFailure, TransportFailureKind};

use crate::errors::to_py;

fn io(kind: std::io::ErrorKind) -> Error {
    Error::Io {
        path: "/nonexistent/file".into(),
        source: std::io::Error::from(kind),
    }
}

fn unreachable(kind: TransportFailureKind) -> Error {
    CsrApiProblem::Unreachable {
        server: "https://127.0.0.1:6443".into(),
        source: TransportFailure {
            kind,
            detail: "connection refused".into(),
        },
    }
    .into()
}

fn samples() -> Vec<Error> {
    vec![
        io(std::io::ErrorKind::Other),
        io(std::io::ErrorKind::NotFound),
        io(std::io::ErrorKind::PermissionDenied),
        Error::Pem("broken".into()),
        Error::UnsupportedKey("dsa".into()),
        Error::PassphraseRequired,
        Error::BadPassphrase,
        Error::WeakKey { bits: 1024 },
        Error::KeyMismatch {
            certificate: "c".into(),
        },
        Error::NotACa {
            subject: "CN=x".into(),
            reason: "no basicConstraints",
        },
        Error::CaNotValid {
            subject: "CN=x".into(),
            expired: true,
            at: time::OffsetDateTime::UNIX_EPOCH,
        },
        Error::InvalidName {
            field: "user",
            value: "".into(),
            reason: "empty".into(),
        },
        Error::PrivilegedGroup {
            group: "kubeadm:cluster-admins".into(),
            reason: "it is bound to cluster-admin",
        },
        Error::SystemMasters,
        Error::BadSignature("no".into()),
        Error::Exists {
            path: "/tmp/x".into(),
        },
        Error::ConfigParse {
            line: 1,
            column: 2,
            message: "m".into(),
        },
        Error::RunnerNotFound {
            name: "r".into(),
            available: vec!["a".into()],
        },
        Error::DuplicateRunner {
            name: "r".into(),
            indexes: vec![0, 1],
        },
        Error::Locked {
            path: "/tmp/config.toml.lock".into(),
            waited_ms: 1,
        },
        Error::ConcurrentModification {
            path: "/tmp/config.toml".into(),
        },
        Error::CsrNotIssued {
            name: "n".into(),
            state: CsrState::Pending,
            detail: "pending".into(),
        },
        Error::CsrNotIssued {
            name: "n".into(),
            state: CsrState::Denied,
            detail: "denied".into(),
        },
        CsrApiProblem::Answered {
            what: "creating the CertificateSigningRequest",
            status: 403,
            reason: "Forbidden".into(),
            message: "forbidden".into(),
        }
        .into(),
        unreachable(TransportFailureKind::Refused),
        unreachable(TransportFailureKind::Timeout),
        Error::InvalidArgument("x".into()),
        Error::Crypto("x".into()),
        Error::NotIssuedByCa {
            path: "/tmp/c.crt".into(),
            issuers: vec!["CN=ca".into()],
        },
    ]
}

/// One exception of each class, as the core's errors convert.
#[pyfunction]
pub fn _error_samples(py: Python<'_>) -> Vec<Py<PyAny>> {
    samples()
        .into_iter()
        .map(|e| to_py(e).value(py).clone().into_any().unbind())
        .collect()
}
