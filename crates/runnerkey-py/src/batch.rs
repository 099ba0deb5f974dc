//! `CertificateAuthority.issue_many`: the batch of the core, entries given
//! as dicts (or JSON-lines text), signed with the GIL released; and
//! `install_credentials`, which installs a fleet host's pair.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCFunction, PyDict, PyString};
use std::path::PathBuf;

use runnerkey::{BatchParams, CertificateAuthority, Identity, InstallParams, OfferedPair};

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

/// PEM text given as str or bytes.
fn pem(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.extract::<String>()?.into_bytes());
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be PEM text (str or bytes)"
    )))
}

/// Installs a key, certificate and CA certificate made elsewhere (on the
/// control plane) into the credential directory `dir` as one unit, unless
/// it holds them already or holds a pair of its own (renewed on this host)
/// that is still good for the identity and not due (`renew_at`,
/// `renew_before`: the policy `renew` uses). Returns the report (changed,
/// action, note, subject, not_after, files).
#[pyfunction]
#[pyo3(signature = (dir, *, key, cert, ca, name = "runner", user = None, groups = Vec::new(), renew_at = None, renew_before = None, dry_run = false))]
#[allow(clippy::too_many_arguments)]
pub fn install_credentials(
    py: Python<'_>,
    dir: PathBuf,
    key: &Bound<'_, PyAny>,
    cert: &Bound<'_, PyAny>,
    ca: &Bound<'_, PyAny>,
    name: &str,
    user: Option<String>,
    groups: Vec<String>,
    renew_at: Option<f64>,
    renew_before: Option<&str>,
    dry_run: bool,
) -> PyResult<Py<PyAny>> {
    let (key, cert, ca) = (pem("key", key)?, pem("cert", cert)?, pem("ca", ca)?);
    let mut params = InstallParams::new(dir, name);
    params.identity = user.map(|u| Identity::new(u, groups)).transpose().py()?;
    params.renewal = runnerkey::RenewalPolicy::from_options(renew_at, renew_before).py()?;
    params.dry_run = dry_run;
    let offered = OfferedPair {
        key: &key,
        cert: &cert,
        ca: &ca,
    };
    let report = py.detach(|| params.run(offered)).py()?;
    to_python(py, &report)
}
