//! Conversions between Python values and the core's types.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// PEM given as `str` or `bytes`.
#[derive(FromPyObject)]
pub enum Data {
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

impl Data {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Data::Text(s) => s.as_bytes(),
            Data::Bytes(b) => b,
        }
    }
}

/// Any serialisable value as plain Python objects (dict, list, str …).
pub fn to_python(py: Python<'_>, value: &impl serde::Serialize) -> PyResult<Py<PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// An aware UTC `datetime`.
pub fn datetime(py: Python<'_>, t: time::OffsetDateTime) -> PyResult<Py<PyAny>> {
    let dt = py.import("datetime")?;
    let utc = dt.getattr("timezone")?.getattr("utc")?;
    Ok(dt
        .getattr("datetime")?
        .call_method1("fromtimestamp", (t.unix_timestamp(), utc))?
        .unbind())
}

/// A password (`str` or `bytes`: PEM passphrases need not be UTF-8),
/// zeroized when dropped.
pub fn password(p: Option<Data>) -> Option<runnerkey::secret::Passphrase> {
    p.map(|d| runnerkey::secret::Passphrase::from(d.bytes()))
}

/// Bytes for Python.
pub fn bytes<'py>(py: Python<'py>, b: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, b)
}

/// A timeout or wait as Python gives it: seconds (int or float) or a
/// duration string (`"90s"`, `"5m"`, `"1h30m"`), in the syntax of the CLI.
#[derive(Clone, Debug, FromPyObject)]
pub enum Seconds {
    /// `True`/`False`, refused (Python's bool is an int: it would read as
    /// 1 or 0 seconds).
    Bool(bool),
    /// A number of seconds.
    Number(f64),
    /// A number of seconds or a duration, as text.
    Text(String),
}

impl Seconds {
    /// The checked duration, by the core's one parser.
    pub fn duration(&self, what: &'static str) -> PyResult<std::time::Duration> {
        match self {
            Seconds::Bool(b) => Err(runnerkey::Error::InvalidArgument(format!(
                "{what}: a number of seconds or a duration such as \"5m\", not {}",
                if *b { "True" } else { "False" }
            ))),
            Seconds::Number(secs) => runnerkey::Timeout::from_secs_f64(what, *secs),
            Seconds::Text(text) => runnerkey::Timeout::parse(what, text),
        }
        .map(runnerkey::Timeout::as_duration)
        .map_err(crate::errors::to_py)
    }
}
