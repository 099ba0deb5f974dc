//! `runnerkey._native`: the pyo3 binding. It converts types and errors
//! only; all logic is in the `runnerkey` crate. Public names are re-exported
//! by `python/runnerkey/__init__.py`.

mod approver;
mod batch;
mod config;
mod convert;
mod error_samples;
mod errors;
mod kube;
mod pki;
mod systemd;

use pyo3::prelude::*;

/// The `runnerkey` command: the CLI's own entry point (not a second
/// implementation) on `argv`, with the GIL released; its exit status.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<std::ffi::OsString>) -> u8 {
    py.detach(|| runnerkey_cli::run(argv))
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<pki::PrivateKey>()?;
    m.add_class::<pki::CertificateRequest>()?;
    m.add_class::<pki::Certificate>()?;
    m.add_class::<pki::CertificateAuthority>()?;
    m.add_class::<pki::VerifyReport>()?;
    m.add_class::<pki::PemBlock>()?;
    m.add_class::<config::RunnerConfig>()?;
    m.add_class::<kube::Manifests>()?;
    m.add_class::<kube::Kubeconfig>()?;
    m.add_function(wrap_pyfunction!(error_samples::_error_samples, m)?)?;
    m.add_function(wrap_pyfunction!(pki::verify, m)?)?;
    m.add_function(wrap_pyfunction!(pki::inspect, m)?)?;
    m.add_function(wrap_pyfunction!(pki::pem_decode, m)?)?;
    m.add_function(wrap_pyfunction!(kube::rbac, m)?)?;
    m.add_function(wrap_pyfunction!(kube::kubeconfig, m)?)?;
    m.add_function(wrap_pyfunction!(kube::k8s_csr, m)?)?;
    m.add_function(wrap_pyfunction!(kube::k8s_csr_certificate, m)?)?;
    m.add_function(wrap_pyfunction!(kube::doctor, m)?)?;
    m.add_function(wrap_pyfunction!(kube::doctor_kubeconfig, m)?)?;
    m.add_function(wrap_pyfunction!(kube::status, m)?)?;
    m.add_function(wrap_pyfunction!(kube::renew, m)?)?;
    m.add_function(wrap_pyfunction!(kube::k8s_csr_submit, m)?)?;
    m.add_function(wrap_pyfunction!(kube::k8s_csr_approve, m)?)?;
    m.add_function(wrap_pyfunction!(systemd::renew_units, m)?)?;
    m.add_function(wrap_pyfunction!(systemd::systemd_units, m)?)?;
    m.add_function(wrap_pyfunction!(kube::request_token, m)?)?;
    m.add_function(wrap_pyfunction!(kube::status_prometheus, m)?)?;
    m.add_function(wrap_pyfunction!(kube::setup, m)?)?;
    m.add_function(wrap_pyfunction!(approver::approver_run_once, m)?)?;
    m.add_function(wrap_pyfunction!(approver::approver_manifests, m)?)?;
    m.add_function(wrap_pyfunction!(approver::approver_unit, m)?)?;
    m.add_function(wrap_pyfunction!(batch::install_credentials, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // The library's defaults as text, for the Ansible modules' test and for
    // callers: the signatures above take the same values.
    let defaults = pyo3::types::PyDict::new(m.py());
    for (name, value) in runnerkey::defaults::all() {
        defaults.set_item(name, value)?;
    }
    m.add("DEFAULTS", defaults)?;
    Ok(())
}
