//! The exception hierarchy, rooted in `runnerkey.RunnerkeyError`: every
//! core error maps to exactly one class, with its context as attributes.
//! The classes are defined in Python (below) so that they can also derive
//! from Python's own: I/O errors are `OSError`s (`FileNotFoundError`,
//! `PermissionError` where they fit, `.errno`, `.filename`), invalid input
//! is a `ValueError`, a server not reached a `ConnectionError` (and a
//! `TimeoutError` when it did not answer in time), so `except OSError`,
//! `except ConnectionError` and `except ValueError` work — and an
//! `except ValueError` around input never swallows a network outage or a
//! cluster's refusal. [`to_py`] is the one place that picks the class, by
//! the core's [`ErrorKind`]; every class has the attributes its stub
//! declares ([`ATTRIBUTES`], `None` where a value does not apply).

use pyo3::IntoPyObjectExt;
use pyo3::PyErr;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyType};
use runnerkey::{Error, ErrorKind};

const CLASSES: &str = r#"
class RunnerkeyError(Exception):
    """Root of every runnerkey error; `.path` names the file when one is at fault."""

class RunnerkeyIOError(RunnerkeyError, OSError):
    """A file could not be read or written (`.errno`, `.filename` as OSError has them)."""

class RunnerkeyFileNotFoundError(RunnerkeyIOError, FileNotFoundError):
    """A file that does not exist."""

class RunnerkeyPermissionError(RunnerkeyIOError, PermissionError):
    """A file this user may not read or write."""

class PemError(RunnerkeyError, ValueError):
    """Malformed PEM or DER, or not the kind of block expected."""

class PrivateKeyError(RunnerkeyError, ValueError):
    """A private key that cannot be used."""

class PassphraseRequiredError(PrivateKeyError):
    """The key is encrypted and no password was given."""

class BadPassphraseError(PrivateKeyError):
    """The password does not decrypt the key."""

class WeakKeyError(PrivateKeyError):
    """An RSA key below 2048 bits; `.bits`."""

class KeyMismatchError(RunnerkeyError, ValueError):
    """A private key that does not belong to its certificate."""

class NotACaError(RunnerkeyError, ValueError):
    """A certificate used as CA that cannot be one, or whose chain up to its root is incomplete."""

class CaNotValidError(RunnerkeyError, ValueError):
    """A CA certificate that is expired or not yet valid."""

class InvalidNameError(RunnerkeyError, ValueError):
    """A user, group or object name that cannot be used; `.field`, `.value`."""

class PrivilegedGroupError(InvalidNameError):
    """A group that gives cluster-wide power (kubeadm:cluster-admins, ...) without
    allow_system_masters=True; `.group`."""

class SystemMastersError(PrivilegedGroupError):
    """The group system:masters without allow_system_masters=True."""

class SignatureError(RunnerkeyError, ValueError):
    """A signature that does not verify."""

class OutputExistsError(RunnerkeyError, FileExistsError):
    """An output file exists (or is the CA's own) and overwriting was not allowed."""

class ConfigParseError(RunnerkeyError, ValueError):
    """A config.toml that does not parse; `.line`, `.column`."""

class RunnerNotFoundError(RunnerkeyError, ValueError):
    """No runner of that name; `.available` lists the names."""

class DuplicateRunnerError(RunnerkeyError, ValueError):
    """Several runners share the name; `.indexes`."""

class ConfigLockedError(RunnerkeyError, TimeoutError):
    """Another editor holds the config's lock."""

class ConcurrentModificationError(RunnerkeyIOError):
    """The config changed on disk since it was read."""

class CsrNotIssuedError(RunnerkeyError):
    """A CertificateSigningRequest with no certificate (yet); `.name`, `.state`."""

class ClusterRefusedError(RunnerkeyError):
    """The cluster refused what was asked: the API server answered with an error status
    (`.status`, `.reason` as its Status says), a request was not approved or denied."""

class CsrDeniedError(CsrNotIssuedError, ClusterRefusedError):
    """A CertificateSigningRequest denied, or failed by its signer."""

class RunnerkeyConnectionError(RunnerkeyError, ConnectionError):
    """The API server could not be reached (name, connection, TLS, proxy); `.server`,
    `.failure` (dns, refused, timeout, not-tls, server-certificate, tls, io, proxy,
    too-large, bad-http)."""

class RunnerkeyTimeoutError(RunnerkeyConnectionError, TimeoutError):
    """The API server did not answer in time."""

class InvalidArgumentError(RunnerkeyError, ValueError):
    """An argument out of range or inconsistent."""

class CryptoError(RunnerkeyError):
    """The crypto backend failed."""

class UntrustedError(RunnerkeyError):
    """A credential or request that is not what was decided (the identity setup pinned, the
    approval policy): refused, nothing done."""
"#;

/// Every class, in the order defined.
pub const NAMES: [&str; 30] = [
    "RunnerkeyError",
    "RunnerkeyIOError",
    "RunnerkeyFileNotFoundError",
    "RunnerkeyPermissionError",
    "PemError",
    "PrivateKeyError",
    "PassphraseRequiredError",
    "BadPassphraseError",
    "WeakKeyError",
    "KeyMismatchError",
    "NotACaError",
    "CaNotValidError",
    "InvalidNameError",
    "PrivilegedGroupError",
    "SystemMastersError",
    "SignatureError",
    "OutputExistsError",
    "ConfigParseError",
    "RunnerNotFoundError",
    "DuplicateRunnerError",
    "ConfigLockedError",
    "ConcurrentModificationError",
    "CsrNotIssuedError",
    "ClusterRefusedError",
    "CsrDeniedError",
    "RunnerkeyConnectionError",
    "RunnerkeyTimeoutError",
    "InvalidArgumentError",
    "CryptoError",
    "UntrustedError",
];

static CLASS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    CLASS_MODULE
        .get_or_try_init(py, || {
            PyModule::from_code(
                py,
                &std::ffi::CString::new(CLASSES).expect("no NUL"),
                c"runnerkey/_errors.py",
                c"runnerkey._errors",
            )
            .map(Bound::unbind)
        })
        .map(|m| m.bind(py))
}

/// A class by name.
pub fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    Ok(classes(py)?.getattr(name)?.cast_into::<PyType>()?)
}

/// A new exception of class `name` with `message`.
pub fn new_err(name: &str, message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| match class(py, name) {
        Ok(ty) => PyErr::from_type(ty, (message,)),
        Err(e) => e,
    })
}

/// Registers every class in the module, with `__module__` = `runnerkey`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    for name in NAMES {
        let ty = class(py, name)?;
        ty.setattr("__module__", "runnerkey")?;
        m.add(name, ty)?;
    }
    Ok(())
}

/// The attributes each class has beyond `OSError`'s (its own and those of
/// the classes it derives from), as the stubs declare them: every one is
/// set on every instance, `None` where the error does not give it.
pub const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("RunnerkeyError", &["path"]),
    ("WeakKeyError", &["bits"]),
    ("InvalidNameError", &["field", "value"]),
    ("PrivilegedGroupError", &["group"]),
    ("ConfigParseError", &["line", "column"]),
    ("RunnerNotFoundError", &["name", "available"]),
    ("DuplicateRunnerError", &["name", "indexes"]),
    ("CsrNotIssuedError", &["name", "state"]),
    ("ClusterRefusedError", &["status", "reason"]),
    ("RunnerkeyConnectionError", &["server", "failure"]),
];

/// The class of an error: by its kind, the one place that decides it.
/// Exhaustive over the core's error kinds: a new kind fails to compile
/// here until it has its exception class.
fn class_name(e: &Error) -> &'static str {
    match e.kind() {
        ErrorKind::Io => match e.root() {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "RunnerkeyFileNotFoundError"
            }
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                "RunnerkeyPermissionError"
            }
            _ => "RunnerkeyIOError",
        },
        ErrorKind::Malformed => "PemError",
        ErrorKind::PassphraseRequired => "PassphraseRequiredError",
        ErrorKind::BadPassphrase => "BadPassphraseError",
        ErrorKind::WeakKey => "WeakKeyError",
        ErrorKind::UnsupportedKey => "PrivateKeyError",
        ErrorKind::KeyMismatch => "KeyMismatchError",
        ErrorKind::NotACa => "NotACaError",
        ErrorKind::CaNotValid => "CaNotValidError",
        ErrorKind::InvalidName => "InvalidNameError",
        ErrorKind::SystemMasters => "SystemMastersError",
        ErrorKind::PrivilegedGroup => "PrivilegedGroupError",
        ErrorKind::BadSignature => "SignatureError",
        ErrorKind::OutputExists => "OutputExistsError",
        ErrorKind::ConfigParse => "ConfigParseError",
        ErrorKind::RunnerNotFound => "RunnerNotFoundError",
        ErrorKind::DuplicateRunner => "DuplicateRunnerError",
        ErrorKind::Locked => "ConfigLockedError",
        ErrorKind::ConcurrentModification => "ConcurrentModificationError",
        ErrorKind::CsrNotIssued => "CsrNotIssuedError",
        ErrorKind::CsrDenied => "CsrDeniedError",
        ErrorKind::ClusterRefused => "ClusterRefusedError",
        ErrorKind::Unreachable => "RunnerkeyConnectionError",
        ErrorKind::Timeout => "RunnerkeyTimeoutError",
        ErrorKind::Crypto => "CryptoError",
        ErrorKind::Untrusted => "UntrustedError",
        ErrorKind::InvalidArgument => "InvalidArgumentError",
    }
}

/// The attributes of `root` (the innermost error), by its variant.
fn attributes<'py>(
    py: Python<'py>,
    root: &Error,
) -> PyResult<Vec<(&'static str, Bound<'py, PyAny>)>> {
    use runnerkey::CsrApiProblem as P;
    let v = |x: &dyn ToPy| x.to_py(py);
    let pending = runnerkey::CsrState::Pending.as_str();
    Ok(match root {
        Error::ConfigParse { line, column, .. } => vec![("line", v(line)?), ("column", v(column)?)],
        Error::RunnerNotFound { name, available } => {
            vec![("name", v(name)?), ("available", v(available)?)]
        }
        Error::DuplicateRunner { name, indexes } => {
            vec![("name", v(name)?), ("indexes", v(indexes)?)]
        }
        Error::WeakKey { bits } => vec![("bits", v(bits)?)],
        Error::InvalidName { field, value, .. } => {
            vec![("field", v(&field.to_string())?), ("value", v(value)?)]
        }
        Error::AmbiguousSubject(problem) => vec![
            ("field", v(&"subject".to_string())?),
            ("value", v(&problem.to_string())?),
        ],
        Error::SystemMasters => {
            let group = "system:masters".to_string();
            vec![
                ("field", v(&"group".to_string())?),
                ("value", v(&group)?),
                ("group", v(&group)?),
            ]
        }
        Error::PrivilegedGroup { group, .. } => vec![
            ("field", v(&"group".to_string())?),
            ("value", v(group)?),
            ("group", v(group)?),
        ],
        Error::CsrNotIssued { name, state, .. } => {
            vec![
                ("name", v(name)?),
                ("state", v(&state.as_str().to_string())?),
            ]
        }
        Error::CsrApi(P::StillPending { name, .. } | P::RenewalPending { name, .. }) => {
            vec![("name", v(name)?), ("state", v(&pending.to_string())?)]
        }
        Error::CsrApi(P::NotAdoptable { name, .. }) => vec![
            ("name", v(name)?),
            ("state", v(&runnerkey::CsrState::Gone.as_str().to_string())?),
        ],
        Error::CsrApi(P::Answered { status, reason, .. }) => vec![
            ("status", v(status)?),
            (
                "reason",
                v(&Some(reason.clone()).filter(|r| !r.is_empty()))?,
            ),
        ],
        Error::CsrApi(P::Unreachable { server, source }) => vec![
            ("server", v(server)?),
            ("failure", v(&failure_name(source.kind).to_string())?),
        ],
        _ => Vec::new(),
    })
}

/// A transport failure's name, as `.failure` gives it.
fn failure_name(kind: runnerkey::TransportFailureKind) -> &'static str {
    use runnerkey::TransportFailureKind as K;
    match kind {
        K::Dns => "dns",
        K::Refused => "refused",
        K::Timeout => "timeout",
        K::NotTls => "not-tls",
        K::ServerCertificate => "server-certificate",
        K::Tls => "tls",
        K::Io => "io",
        K::Proxy => "proxy",
        K::TooLarge => "too-large",
        K::BadHttp => "bad-http",
        _ => "other",
    }
}

/// A value as Python sees it.
trait ToPy {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>>;
}

impl<T: for<'a> IntoPyObject<'a> + Clone> ToPy for T {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.clone().into_bound_py_any(py)
    }
}

/// Converts a core error, keeping its context as attributes.
pub fn to_py(e: Error) -> PyErr {
    // The core's messages name no flag or argument; Python's hints name
    // Python's arguments.
    let hint = match e.root() {
        Error::PassphraseRequired => " (password=...)",
        Error::SystemMasters | Error::PrivilegedGroup { .. } => " (allow_system_masters=True)",
        Error::Exists { .. } => " (overwrite=True)",
        Error::NoPin { .. } => " (renew(expect_user=..., expect_groups=[...]))",
        _ => "",
    };
    let message = format!("{}{hint}", e.chain());
    let path = match &e {
        Error::InFile { path, .. } | Error::Io { path, .. } | Error::Exists { path } => {
            Some(path.display().to_string())
        }
        Error::Locked { path, .. } | Error::ConcurrentModification { path } => {
            Some(path.display().to_string())
        }
        _ => None,
    };
    let root = e.root();
    let name = class_name(&e);
    let err = new_err(name, message);
    Python::attach(|py| {
        let value = err.value(py);
        let set = || -> PyResult<()> {
            // Every attribute the class declares, then what this error gives.
            let ty = value.get_type();
            for (class, attrs) in ATTRIBUTES {
                if ty.is_subclass(self::class(py, class)?.as_any())? {
                    for a in *attrs {
                        value.setattr(*a, py.None())?;
                    }
                }
            }
            value.setattr("path", path.clone())?;
            for (a, v) in attributes(py, root)? {
                value.setattr(a, v)?;
            }
            if let Error::Io { source, .. } = root {
                // As OSError has them, so str() reads "[Errno 2] No such
                // file or directory: '/etc/…'" rather than "[Errno 2] None:
                // …". Without an errno (not a regular file, too large),
                // str() stays runnerkey's message: OSError would print
                // "[Errno None] None".
                if let Some(code) = source.raw_os_error() {
                    let os = std::io::Error::from_raw_os_error(code).to_string();
                    let strerror = os.split(" (os error").next().unwrap_or(&os).to_string();
                    value.setattr("strerror", strerror)?;
                    value.setattr("errno", code)?;
                    value.setattr("filename", path.clone())?;
                }
            }
            Ok(())
        };
        // Setting an attribute on a fresh exception does not fail; if it
        // did, the exception is still raised, with what could be set.
        let _ = set();
    });
    err
}

/// `Result` with the error converted.
pub trait IntoPy<T> {
    /// Converts the error.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for runnerkey::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
