//! The exception hierarchy, rooted in `runnerkey.RunnerkeyError`: every
//! core error maps to exactly one class, with its context as attributes.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::{PyErr, create_exception};
use runnerkey::{Error, ErrorKind};

create_exception!(
    runnerkey,
    RunnerkeyError,
    PyException,
    "Root of every runnerkey error; `.path` names the file when one is at fault."
);
create_exception!(
    runnerkey,
    RunnerkeyIOError,
    RunnerkeyError,
    "A file could not be read or written."
);
create_exception!(
    runnerkey,
    PemError,
    RunnerkeyError,
    "Malformed PEM or DER, or not the kind of block expected."
);
create_exception!(
    runnerkey,
    PrivateKeyError,
    RunnerkeyError,
    "A private key that cannot be used."
);
create_exception!(
    runnerkey,
    PassphraseRequiredError,
    PrivateKeyError,
    "The key is encrypted and no password was given."
);
create_exception!(
    runnerkey,
    BadPassphraseError,
    PrivateKeyError,
    "The password does not decrypt the key."
);
create_exception!(
    runnerkey,
    WeakKeyError,
    PrivateKeyError,
    "An RSA key below 2048 bits; `.bits`."
);
create_exception!(
    runnerkey,
    KeyMismatchError,
    RunnerkeyError,
    "A private key that does not belong to its certificate."
);
create_exception!(
    runnerkey,
    NotACaError,
    RunnerkeyError,
    "A certificate used as CA that cannot be one."
);
create_exception!(
    runnerkey,
    CaNotValidError,
    RunnerkeyError,
    "A CA certificate that is expired or not yet valid."
);
create_exception!(
    runnerkey,
    InvalidNameError,
    RunnerkeyError,
    "A user, group or object name that cannot be used; `.field`, `.value`."
);
create_exception!(
    runnerkey,
    SystemMastersError,
    InvalidNameError,
    "The group system:masters without allow_system_masters=True."
);
create_exception!(
    runnerkey,
    SignatureError,
    RunnerkeyError,
    "A signature that does not verify."
);
create_exception!(
    runnerkey,
    OutputExistsError,
    RunnerkeyError,
    "An output file exists and overwriting was not allowed."
);
create_exception!(
    runnerkey,
    ConfigParseError,
    RunnerkeyError,
    "A config.toml that does not parse; `.line`, `.column`."
);
create_exception!(
    runnerkey,
    RunnerNotFoundError,
    RunnerkeyError,
    "No runner of that name; `.available` lists the names."
);
create_exception!(
    runnerkey,
    DuplicateRunnerError,
    RunnerkeyError,
    "Several runners share the name; `.indexes`."
);
create_exception!(
    runnerkey,
    ConfigLockedError,
    RunnerkeyError,
    "Another editor holds the config's lock."
);
create_exception!(
    runnerkey,
    ConcurrentModificationError,
    RunnerkeyError,
    "The config changed on disk since it was read."
);
create_exception!(
    runnerkey,
    CsrNotIssuedError,
    RunnerkeyError,
    "A CertificateSigningRequest with no certificate yet; `.state`."
);
create_exception!(
    runnerkey,
    InvalidArgumentError,
    RunnerkeyError,
    "An argument out of range or inconsistent."
);
create_exception!(
    runnerkey,
    CryptoError,
    RunnerkeyError,
    "The crypto backend failed."
);

/// Registers every class in the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("RunnerkeyError", py.get_type::<RunnerkeyError>())?;
    m.add("RunnerkeyIOError", py.get_type::<RunnerkeyIOError>())?;
    m.add("PemError", py.get_type::<PemError>())?;
    m.add("PrivateKeyError", py.get_type::<PrivateKeyError>())?;
    m.add(
        "PassphraseRequiredError",
        py.get_type::<PassphraseRequiredError>(),
    )?;
    m.add("BadPassphraseError", py.get_type::<BadPassphraseError>())?;
    m.add("WeakKeyError", py.get_type::<WeakKeyError>())?;
    m.add("KeyMismatchError", py.get_type::<KeyMismatchError>())?;
    m.add("NotACaError", py.get_type::<NotACaError>())?;
    m.add("CaNotValidError", py.get_type::<CaNotValidError>())?;
    m.add("InvalidNameError", py.get_type::<InvalidNameError>())?;
    m.add("SystemMastersError", py.get_type::<SystemMastersError>())?;
    m.add("SignatureError", py.get_type::<SignatureError>())?;
    m.add("OutputExistsError", py.get_type::<OutputExistsError>())?;
    m.add("ConfigParseError", py.get_type::<ConfigParseError>())?;
    m.add("RunnerNotFoundError", py.get_type::<RunnerNotFoundError>())?;
    m.add(
        "DuplicateRunnerError",
        py.get_type::<DuplicateRunnerError>(),
    )?;
    m.add("ConfigLockedError", py.get_type::<ConfigLockedError>())?;
    m.add(
        "ConcurrentModificationError",
        py.get_type::<ConcurrentModificationError>(),
    )?;
    m.add("CsrNotIssuedError", py.get_type::<CsrNotIssuedError>())?;
    m.add(
        "InvalidArgumentError",
        py.get_type::<InvalidArgumentError>(),
    )?;
    m.add("CryptoError", py.get_type::<CryptoError>())?;
    Ok(())
}

/// Converts a core error, keeping its context as attributes.
pub fn to_py(e: Error) -> PyErr {
    // The core's messages name no flag or argument; Python's hints name
    // Python's arguments.
    let hint = match e.root() {
        Error::PassphraseRequired => " (password=...)",
        Error::SystemMasters => " (allow_system_masters=True)",
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
    let err = match e.kind() {
        ErrorKind::Io => RunnerkeyIOError::new_err(message),
        ErrorKind::Malformed => PemError::new_err(message),
        ErrorKind::PassphraseRequired => PassphraseRequiredError::new_err(message),
        ErrorKind::BadPassphrase => BadPassphraseError::new_err(message),
        ErrorKind::WeakKey => WeakKeyError::new_err(message),
        ErrorKind::UnsupportedKey => PrivateKeyError::new_err(message),
        ErrorKind::KeyMismatch => KeyMismatchError::new_err(message),
        ErrorKind::NotACa => NotACaError::new_err(message),
        ErrorKind::CaNotValid => CaNotValidError::new_err(message),
        ErrorKind::InvalidName => InvalidNameError::new_err(message),
        ErrorKind::SystemMasters => SystemMastersError::new_err(message),
        ErrorKind::BadSignature => SignatureError::new_err(message),
        ErrorKind::OutputExists => OutputExistsError::new_err(message),
        ErrorKind::ConfigParse => ConfigParseError::new_err(message),
        ErrorKind::RunnerNotFound => RunnerNotFoundError::new_err(message),
        ErrorKind::DuplicateRunner => DuplicateRunnerError::new_err(message),
        ErrorKind::Locked => ConfigLockedError::new_err(message),
        ErrorKind::ConcurrentModification => ConcurrentModificationError::new_err(message),
        ErrorKind::CsrNotIssued => CsrNotIssuedError::new_err(message),
        ErrorKind::Crypto => CryptoError::new_err(message),
        ErrorKind::InvalidArgument => InvalidArgumentError::new_err(message),
    };
    Python::attach(|py| {
        let value = err.value(py);
        let _ = value.setattr("path", path);
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
