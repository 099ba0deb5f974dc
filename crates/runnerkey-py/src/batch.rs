//! `CertificateAuthority.issue_many`: the batch of the core, entries given
//! as dicts (or JSON-lines text), signed with the GIL released.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyString};
use runnerkey::{BatchParams, CertificateAuthority};

use crate::convert::to_python;
use crate::errors::IntoPy;

/// The entries as JSON lines: a str is taken as it is; each dict of a
/// sequence becomes one line (os.PathLike values as their path).
pub fn entries_text(py: Python<'_>, entries: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = entries.cast::<PyString>() {
        return text.extract();
    }
    let json = py.import("json")?;
    let kwargs = PyDict::new(py);
    // Paths (os.PathLike) as their str; anything else JSON cannot hold
    // (bytes, sets, objects) is a TypeError, not its repr.
    let fspath = py.import("os")?.getattr("fspath")?.unbind();
    let default = PyCFunction::new_closure(py, None, None, move |args, _| -> PyResult<String> {
        let py = args.py();
        let obj = args.get_item(0)?;
        let path = fspath.bind(py).call1((&obj,)).map_err(|_| {
            PyTypeError::new_err(format!(
                "a batch entry holds a {}, which is neither JSON nor a path",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        path.extract::<String>()
            .map_err(|_| PyTypeError::new_err("a batch entry's path must be str, not bytes"))
    })?;
    kwargs.set_item("default", default)?;
    let mut lines = Vec::new();
    for item in entries.try_iter()? {
        let line: String = json
            .call_method("dumps", (item?,), Some(&kwargs))?
            .extract()?;
        lines.push(line);
    }
    Ok(lines.join("\n"))
}

/// Checks every entry, then issues them on all cores; the report as a dict.
pub fn issue_many(
    py: Python<'_>,
    ca: &CertificateAuthority,
    text: String,
    params: BatchParams,
) -> PyResult<Py<PyAny>> {
    let report = py
        .detach(|| {
            let entries = params.entries(ca, &text)?;
            Ok::<_, runnerkey::Error>(params.issue(ca, entries, &|_| {}))
        })
        .py()?;
    to_python(py, &report.data())
}
