//! The exception hierarchy, rooted in `runnerkey.RunnerkeyError`: every
//! core error maps to exactly one class, with its context as attributes.
//! The classes are defined in Python (below) so that they can also derive
//! from Python's own: I/O errors are `OSError`s (`FileNotFoundError`,
//! `PermissionError` where they fit, `.errno`, `.filename`), invalid input
//! is a `ValueError`, so `except OSError` and `except ValueError` work.

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
    """A certificate used as CA that cannot be one."""

class CaNotValidError(RunnerkeyError, ValueError):
    """A CA certificate that is expired or not yet valid."""

class InvalidNameError(RunnerkeyError, ValueError):
    """A user, group or object name that cannot be used; `.field`, `.value`."""

class SystemMastersError(InvalidNameError):
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
    """A CertificateSigningRequest with no certificate yet; `.state`."""

class InvalidArgumentError(RunnerkeyError, ValueError):
    """An argument out of range or inconsistent."""

class CryptoError(RunnerkeyError):
    """The crypto backend failed."""

class UntrustedError(RunnerkeyError):
    """A credential or request that is not what was decided (the identity setup pinned, the
    approval policy): refused, nothing done."""
"#;

/// Every class, in the order defined.
pub const NAMES: [&str; 25] = [
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
    "SystemMastersError",
    "SignatureError",
    "OutputExistsError",
    "ConfigParseError",
    "RunnerNotFoundError",
    "DuplicateRunnerError",
    "ConfigLockedError",
    "ConcurrentModificationError",
    "CsrNotIssuedError",
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

/// Converts a core error, keeping its context as attributes.
pub fn to_py(e: Error) -> PyErr {
    // The core's messages name no flag or argument; Python's hints name
    // Python's arguments.
    let hint = match e.root() {
        Error::PassphraseRequired => " (password=...)",
        Error::SystemMasters | Error::PrivilegedGroup { .. } => " (allow_system_masters=True)",
        Error::Exists { .. } => " (overwrite=True)",
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
    // Exhaustive over the core's error kinds: a new kind fails to compile
    // here until it has its exception class.
    let io_kind = match root {
        Error::Io { source, .. } => Some((source.kind(), source.raw_os_error())),
        _ => None,
    };
    let name = match e.kind() {
        ErrorKind::Io => match io_kind.map(|(k, _)| k) {
            Some(std::io::ErrorKind::NotFound) => "RunnerkeyFileNotFoundError",
            Some(std::io::ErrorKind::PermissionDenied) => "RunnerkeyPermissionError",
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
        ErrorKind::BadSignature => "SignatureError",
        ErrorKind::OutputExists => "OutputExistsError",
        ErrorKind::ConfigParse => "ConfigParseError",
        ErrorKind::RunnerNotFound => "RunnerNotFoundError",
        ErrorKind::DuplicateRunner => "DuplicateRunnerError",
        ErrorKind::Locked => "ConfigLockedError",
        ErrorKind::ConcurrentModification => "ConcurrentModificationError",
        ErrorKind::CsrNotIssued => "CsrNotIssuedError",
        ErrorKind::Crypto => "CryptoError",
        ErrorKind::Untrusted => "UntrustedError",
        ErrorKind::InvalidArgument => "InvalidArgumentError",
    };
    let err = new_err(name, message);
    Python::attach(|py| {
        let value = err.value(py);
        let _ = value.setattr("path", path.clone());
        if let Some((_, errno)) = io_kind {
            // As OSError has them, so str() reads "[Errno 2] No such file
            // or directory: '/etc/…'" rather than "[Errno 2] None: …".
            // Without an errno (not a regular file, too large), str() stays
            // runnerkey's message: OSError would print "[Errno None] None".
            if let Some(code) = errno {
                let os = std::io::Error::from_raw_os_error(code).to_string();
                let strerror = os.split(" (os error").next().unwrap_or(&os).to_string();
                let _ = value.setattr("strerror", strerror);
                let _ = value.setattr("errno", errno);
                let _ = value.setattr("filename", path);
            }
        }
        let _ = match root {
            Error::ConfigParse { line, column, .. } => value
                .setattr("line", *line)
                .and_then(|_| value.setattr("column", *column)),
            Error::RunnerNotFound { name, available } => value
                .setattr("name", name)
                .and_then(|_| value.setattr("available", available.clone())),
            Error::DuplicateRunner { name, indexes } => value
                .setattr("name", name)
                .and_then(|_| value.setattr("indexes", indexes.clone())),
            Error::WeakKey { bits } => value.setattr("bits", *bits),
            Error::InvalidName {
                field, value: v, ..
            } => value
                .setattr("field", *field)
                .and_then(|_| value.setattr("value", v)),
            Error::CsrNotIssued { name, state } => value
                .setattr("name", name)
                .and_then(|_| value.setattr("state", state)),
            _ => Ok(()),
        };
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
