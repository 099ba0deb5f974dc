//! Keys, CSRs, certificates, the CA, verify and inspect.

use std::path::PathBuf;

use pyo3::prelude::*;
use runnerkey::inspect::{CertificateInfo, inspect_file};
use runnerkey::verify::verify_client_cert;
use runnerkey::{
    CaParams, ClientFiles, CsrParams, EnsureParams, Identity, IssueParams, KeyAlgorithm, Lifetime,
};

use crate::convert::{Data, datetime, to_python};
use crate::errors::IntoPy;

fn lifetime(days: Option<i64>, duration: Option<&str>) -> PyResult<Lifetime> {
    Lifetime::from_days_or_duration(days.map(days_arg).transpose()?, duration).py()
}

/// A Python int of days as the core takes it: an InvalidArgumentError
/// (not an OverflowError) for a negative or huge one.
pub(crate) fn days_arg(days: i64) -> PyResult<u32> {
    u32::try_from(days)
        .map_err(|_| {
            runnerkey::Error::InvalidArgument(format!(
                "days must be a positive number of days, not {days}"
            ))
        })
        .py()
}

/// A private key. Its repr never shows key material.
#[pyclass(module = "runnerkey", frozen)]
pub struct PrivateKey(pub runnerkey::PrivateKey);

#[pymethods]
impl PrivateKey {
    /// A new key: "ecdsa-p256" (default), "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519".
    #[staticmethod]
    #[pyo3(signature = (algorithm = runnerkey::defaults::KEY_ALGORITHM_NAME))]
    fn generate(py: Python<'_>, algorithm: &str) -> PyResult<Self> {
        let alg: KeyAlgorithm = algorithm.parse().py()?;
        py.detach(|| runnerkey::PrivateKey::generate(alg))
            .py()
            .map(Self)
    }

    /// A key from PEM (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8 with `password`).
    #[staticmethod]
    #[pyo3(signature = (data, password = None))]
    fn from_pem(data: Data, password: Option<Data>) -> PyResult<Self> {
        let pass = crate::convert::password(password);
        runnerkey::PrivateKey::from_pem(data.bytes(), pass.as_ref())
            .py()
            .map(Self)
    }

    /// A key from a PEM file.
    #[staticmethod]
    #[pyo3(signature = (path, password = None))]
    fn load(path: PathBuf, password: Option<Data>) -> PyResult<Self> {
        let pass = crate::convert::password(password);
        runnerkey::PrivateKey::load(&path, pass.as_ref())
            .py()
            .map(Self)
    }

    /// PKCS#8 PEM. Secret: keep it out of logs.
    fn to_pem(&self) -> String {
        self.0.to_pem().to_string()
    }

    /// Writes PKCS#8 PEM to a new file created with mode 0600.
    #[pyo3(signature = (path, overwrite = false))]
    fn write(&self, path: PathBuf, overwrite: bool) -> PyResult<()> {
        self.0.write(&path, overwrite).py()
    }

    /// "RSA", "ECDSA" or "Ed25519".
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.0.key_type().family().as_str()
    }

    /// Key size in bits.
    #[getter]
    fn key_size(&self) -> usize {
        self.0.key_type().bits()
    }

    /// SHA-256 of the public key (SubjectPublicKeyInfo), hex with colons.
    #[getter]
    fn public_key_sha256(&self) -> String {
        self.0.public_key().sha256_fingerprint()
    }

    fn __repr__(&self) -> String {
        format!("<PrivateKey {}>", self.0.key_type())
    }
}

/// A PKCS#10 certificate signing request (self-signature verified).
#[pyclass(module = "runnerkey", frozen)]
pub struct CertificateRequest(pub runnerkey::CertificateRequest);

#[pymethods]
impl CertificateRequest {
    /// A CSR with CN = user and one O per group, signed by `key`.
    #[staticmethod]
    #[pyo3(signature = (key, *, user, groups = Vec::new(), allow_system_masters = false))]
    fn create(
        key: &PrivateKey,
        user: String,
        groups: Vec<String>,
        allow_system_masters: bool,
    ) -> PyResult<Self> {
        let identity = Identity::new(user, groups).py()?;
        runnerkey::CertificateRequest::create(&key.0, &{
            let mut p = CsrParams::new(identity);
            p.allow_system_masters = allow_system_masters;
            p
        })
        .py()
        .map(Self)
    }

    /// From PEM.
    #[staticmethod]
    fn from_pem(data: Data) -> PyResult<Self> {
        runnerkey::CertificateRequest::from_pem(data.bytes())
            .py()
            .map(Self)
    }

    /// From a PEM file.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        runnerkey::CertificateRequest::load(&path).py().map(Self)
    }

    /// Requested user (CN).
    #[getter]
    fn user(&self) -> String {
        self.0.subject_reading().user
    }

    /// Requested groups (every O).
    #[getter]
    fn groups(&self) -> Vec<String> {
        self.0.subject_reading().groups
    }

    /// Subject.
    #[getter]
    fn subject(&self) -> String {
        self.0.subject()
    }

    /// PEM.
    fn to_pem(&self) -> String {
        self.0.to_pem()
    }

    fn __repr__(&self) -> String {
        format!("<CertificateRequest {}>", self.0.subject())
    }
}

/// An X.509 certificate.
#[pyclass(module = "runnerkey", frozen)]
pub struct Certificate(pub runnerkey::Certificate);

#[pymethods]
impl Certificate {
    /// The first certificate of PEM text.
    #[staticmethod]
    fn from_pem(data: Data) -> PyResult<Self> {
        runnerkey::Certificate::from_pem(data.bytes())
            .py()
            .map(Self)
    }

    /// The first certificate of a PEM file.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        runnerkey::Certificate::load(&path).py().map(Self)
    }

    /// Kubernetes user (CN).
    #[getter]
    fn user(&self) -> String {
        self.0.subject_reading().user
    }

    /// Kubernetes groups (every O).
    #[getter]
    fn groups(&self) -> Vec<String> {
        self.0.subject_reading().groups
    }

    /// Subject.
    #[getter]
    fn subject(&self) -> String {
        self.0.subject()
    }

    /// Issuer.
    #[getter]
    fn issuer(&self) -> String {
        self.0.issuer()
    }

    /// Serial number, lower-case hex.
    #[getter]
    fn serial(&self) -> String {
        self.0.serial_hex()
    }

    /// Start of validity (aware UTC datetime).
    #[getter]
    fn not_before(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        datetime(py, self.0.not_before())
    }

    /// End of validity (aware UTC datetime).
    #[getter]
    fn not_after(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        datetime(py, self.0.not_after())
    }

    /// Whole days left (negative once expired).
    #[getter]
    fn days_left(&self) -> i64 {
        self.0.days_left(time::OffsetDateTime::now_utc())
    }

    /// Whether it may act as a CA.
    #[getter]
    fn is_ca(&self) -> bool {
        self.0.is_ca()
    }

    /// SHA-256 of the DER certificate, hex with colons.
    #[getter]
    fn fingerprint_sha256(&self) -> String {
        self.0.sha256_fingerprint()
    }

    /// ExtendedKeyUsage names (None when absent).
    #[getter]
    fn extended_key_usage(&self) -> Option<Vec<String>> {
        self.0.extended_key_usage()
    }

    /// PEM.
    fn to_pem(&self) -> String {
        self.0.to_pem()
    }

    /// Writes PEM atomically (mode 0644); refuses to replace a file unless `overwrite`.
    #[pyo3(signature = (path, overwrite = false))]
    fn write(&self, path: PathBuf, overwrite: bool) -> PyResult<()> {
        self.0.write(&path, overwrite).py()
    }

    /// DER.
    fn to_der<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
        crate::convert::bytes(py, self.0.to_der())
    }

    /// Everything `runnerkey inspect --json` says of it.
    fn inspect(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(
            py,
            &CertificateInfo::new(&self.0, time::OffsetDateTime::now_utc()),
        )
    }

    fn __eq__(&self, other: &Certificate) -> bool {
        self.0 == other.0
    }

    fn __hash__(&self) -> u64 {
        let fp = self.0.to_der();
        fp.iter().fold(1469598103934665603u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(1099511628211)
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "<Certificate {} issued by {}>",
            self.0.subject(),
            self.0.issuer()
        )
    }
}

/// A CA certificate with its key, checked to match, be a CA and be valid.
#[pyclass(module = "runnerkey", frozen)]
pub struct CertificateAuthority(pub runnerkey::CertificateAuthority);

#[pymethods]
impl CertificateAuthority {
    /// ca.crt and ca.key files.
    #[staticmethod]
    #[pyo3(signature = (cert_path, key_path, password = None))]
    fn load(cert_path: PathBuf, key_path: PathBuf, password: Option<Data>) -> PyResult<Self> {
        let pass = crate::convert::password(password);
        runnerkey::CertificateAuthority::load(&cert_path, &key_path, pass.as_ref())
            .py()
            .map(Self)
    }

    /// A kubeadm pki directory holding ca.crt and ca.key.
    #[staticmethod]
    #[pyo3(signature = (path, password = None))]
    fn load_dir(path: PathBuf, password: Option<Data>) -> PyResult<Self> {
        let pass = crate::convert::password(password);
        runnerkey::CertificateAuthority::load_dir(&path, pass.as_ref())
            .py()
            .map(Self)
    }

    /// From PEM text of the certificate and the key.
    #[staticmethod]
    #[pyo3(signature = (cert, key, password = None))]
    fn from_pem(cert: Data, key: Data, password: Option<Data>) -> PyResult<Self> {
        let pass = crate::convert::password(password);
        runnerkey::CertificateAuthority::from_pem(cert.bytes(), key.bytes(), pass.as_ref())
            .py()
            .map(Self)
    }

    /// A new self-signed CA like kubeadm's.
    #[staticmethod]
    #[pyo3(signature = (common_name = "kubernetes", algorithm = "rsa-2048", days = 3650))]
    fn generate(py: Python<'_>, common_name: &str, algorithm: &str, days: i64) -> PyResult<Self> {
        let days = days_arg(days)?;
        let params = {
            let mut p = CaParams::default();
            p.common_name = common_name.to_string();
            p.algorithm = algorithm.parse().py()?;
            p.lifetime = Lifetime::days(days);
            p
        };
        py.detach(|| runnerkey::CertificateAuthority::generate(&params))
            .py()
            .map(Self)
    }

    /// The CA certificate.
    #[getter]
    fn certificate(&self) -> Certificate {
        Certificate(self.0.certificate().clone())
    }

    /// Advice found while loading (e.g. a key file readable by others).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.0.warnings().to_vec()
    }

    /// Signs a client certificate for a CSR (validity `days`, or `duration` like "8760h").
    #[pyo3(signature = (csr, *, days = None, duration = None, allow_system_masters = false))]
    fn sign(
        &self,
        py: Python<'_>,
        csr: &CertificateRequest,
        days: Option<i64>,
        duration: Option<&str>,
        allow_system_masters: bool,
    ) -> PyResult<Certificate> {
        let params = {
            let mut p = IssueParams::default();
            p.lifetime = lifetime(days, duration)?;
            p.allow_system_masters = allow_system_masters;
            p.now = None;
            p
        };
        py.detach(|| self.0.sign(&csr.0, &params))
            .py()
            .map(|i| Certificate(i.certificate))
    }

    /// A new key and a client certificate for user/groups: (key, certificate).
    #[pyo3(signature = (*, user, groups = Vec::new(), algorithm = runnerkey::defaults::KEY_ALGORITHM_NAME, days = None, duration = None, allow_system_masters = false))]
    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        py: Python<'_>,
        user: String,
        groups: Vec<String>,
        algorithm: &str,
        days: Option<i64>,
        duration: Option<&str>,
        allow_system_masters: bool,
    ) -> PyResult<(PrivateKey, Certificate)> {
        let identity = Identity::new(user, groups).py()?;
        let alg: KeyAlgorithm = algorithm.parse().py()?;
        let params = {
            let mut p = IssueParams::default();
            p.lifetime = lifetime(days, duration)?;
            p.allow_system_masters = allow_system_masters;
            p.now = None;
            p
        };
        let (key, issued) = py.detach(|| self.0.issue(&identity, alg, &params)).py()?;
        Ok((PrivateKey(key), Certificate(issued.certificate)))
    }

    /// Ensures a runner's key, certificate and CA certificate: keeps what
    /// is still good (same identity, accepted by this CA, not due for
    /// renewal by the policy `renew` uses: `renew_at`, `renew_before`),
    /// issues what is missing, wrong or due, and changes nothing otherwise. With `dry_run`, writes
    /// nothing and reports what would change. Returns the report (changed,
    /// files, issued, subject, not_after, note, warnings).
    #[pyo3(signature = (*, cert_path, key_path, ca_path, user, groups = Vec::new(), algorithm = runnerkey::defaults::KEY_ALGORITHM_NAME, days = None, duration = None, renew_at = None, renew_before = None, force = false, dry_run = false, allow_system_masters = false))]
    #[allow(clippy::too_many_arguments)]
    fn ensure(
        &self,
        py: Python<'_>,
        cert_path: PathBuf,
        key_path: PathBuf,
        ca_path: PathBuf,
        user: String,
        groups: Vec<String>,
        algorithm: &str,
        days: Option<i64>,
        duration: Option<&str>,
        renew_at: Option<f64>,
        renew_before: Option<&str>,
        force: bool,
        dry_run: bool,
        allow_system_masters: bool,
    ) -> PyResult<Py<PyAny>> {
        let mut p = EnsureParams::new(Identity::new(user, groups).py()?);
        p.algorithm = algorithm.parse().py()?;
        p.lifetime = lifetime(days, duration)?;
        p.renewal = runnerkey::RenewalPolicy::from_options(renew_at, renew_before).py()?;
        p.force = force;
        p.dry_run = dry_run;
        p.allow_system_masters = allow_system_masters;
        let files = ClientFiles {
            key_file: key_path,
            cert_file: cert_path,
            ca_file: ca_path,
        };
        let report = py.detach(|| p.run(&self.0, &files)).py()?;
        to_python(py, &report)
    }

    /// One new key and certificate per entry (dicts with user or host,
    /// groups, out_dir, and optional name, algorithm, days; or JSON-lines
    /// text), every entry checked before the first is issued, signed on
    /// all cores with the GIL released; each entry's files written all or
    /// nothing. With `keep_valid`, an entry whose key and certificate are
    /// still good and not due (`renew_at`, `renew_before`) is kept. Returns the
    /// report (issued, kept, failed, results, warnings).
    #[pyo3(signature = (entries, *, algorithm = runnerkey::defaults::KEY_ALGORITHM_NAME, days = None, duration = None, groups = Vec::new(), user_template = None, allow_system_masters = false, overwrite = false, keep_valid = false, renew_at = None, renew_before = None, threads = 0))]
    #[allow(clippy::too_many_arguments)]
    fn issue_many(
        &self,
        py: Python<'_>,
        entries: &Bound<'_, PyAny>,
        algorithm: &str,
        days: Option<i64>,
        duration: Option<&str>,
        groups: Vec<String>,
        user_template: Option<String>,
        allow_system_masters: bool,
        overwrite: bool,
        keep_valid: bool,
        renew_at: Option<f64>,
        renew_before: Option<&str>,
        threads: usize,
    ) -> PyResult<Py<PyAny>> {
        let text = crate::batch::entries_text(py, entries)?;
        let mut params = runnerkey::BatchParams::default();
        params.algorithm = algorithm.parse().py()?;
        params.lifetime = lifetime(days, duration)?;
        params.groups = groups;
        params.user_template = user_template;
        params.allow_system_masters = allow_system_masters;
        params.overwrite = overwrite;
        if keep_valid {
            params.keep_valid =
                Some(runnerkey::RenewalPolicy::from_options(renew_at, renew_before).py()?);
        }
        params.threads = threads;
        crate::batch::issue_many(py, &self.0, text, params)
    }

    /// Writes ca.crt and ca.key (kubeadm's formats) into a directory.
    #[pyo3(signature = (directory, overwrite = false))]
    fn write_kubeadm(&self, directory: PathBuf, overwrite: bool) -> PyResult<Vec<PathBuf>> {
        self.0.write_kubeadm(&directory, overwrite).py()
    }

    fn __repr__(&self) -> String {
        format!("<CertificateAuthority {}>", self.0.certificate().subject())
    }
}

/// The outcome of `verify`.
#[pyclass(module = "runnerkey", frozen)]
pub struct VerifyReport(pub runnerkey::verify::VerifyReport);

#[pymethods]
impl VerifyReport {
    /// No problem found.
    #[getter]
    fn ok(&self) -> bool {
        self.0.ok
    }

    /// Problems as (code, message) pairs.
    #[getter]
    fn problems(&self) -> Vec<(String, String)> {
        self.0
            .problems
            .iter()
            .map(|p| (p.code.to_string(), p.message.clone()))
            .collect()
    }

    /// The whole report as a dict.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.0)
    }

    fn __bool__(&self) -> bool {
        self.0.ok
    }

    fn __repr__(&self) -> String {
        format!(
            "<VerifyReport ok={} problems={}>",
            self.0.ok,
            self.0.problems.len()
        )
    }
}

/// One CA certificate or several.
#[derive(FromPyObject)]
pub enum Cas<'py> {
    /// One.
    One(PyRef<'py, Certificate>),
    /// Several.
    Many(Vec<PyRef<'py, Certificate>>),
}

/// Is `cert` accepted for client authentication by `ca` now (and does `key` match)?
#[pyfunction]
#[pyo3(signature = (ca, cert, key = None))]
pub fn verify(ca: Cas<'_>, cert: &Certificate, key: Option<&PrivateKey>) -> VerifyReport {
    let cas: Vec<runnerkey::Certificate> = match ca {
        Cas::One(c) => vec![c.0.clone()],
        Cas::Many(v) => v.iter().map(|c| c.0.clone()).collect(),
    };
    VerifyReport(verify_client_cert(&cas, &cert.0, key.map(|k| &k.0), None))
}

/// Describes every certificate, CSR and key in PEM text, or a kubeconfig's users (no secret included).
#[pyfunction]
#[pyo3(signature = (data, password = None))]
pub fn inspect(py: Python<'_>, data: Data, password: Option<Data>) -> PyResult<Py<PyAny>> {
    let pass = crate::convert::password(password);
    let items = inspect_file(data.bytes(), pass.as_ref(), None).py()?;
    to_python(py, &items)
}

/// One PEM block as Go's `encoding/pem` decodes it. Its repr never shows
/// the contents (they may be a private key).
#[pyclass(module = "runnerkey", frozen)]
pub struct PemBlock(runnerkey::PemBlock);

/// Text from Go's bytes as Python's `bytes.decode("utf-8", "surrogateescape")`
/// gives it, so that no byte is lost.
fn go_string<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    pyo3::types::PyBytes::new(py, bytes).call_method1("decode", ("utf-8", "surrogateescape"))
}

#[pymethods]
impl PemBlock {
    /// The block's type, e.g. "CERTIFICATE".
    #[getter(r#type)]
    fn label<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        go_string(py, self.0.label_bytes())
    }

    /// The headers (`Proc-Type` …), as Go reads them.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let dict = pyo3::types::PyDict::new(py);
        for (k, v) in self.0.headers() {
            dict.set_item(go_string(py, k)?, go_string(py, v)?)?;
        }
        Ok(dict)
    }

    /// The decoded contents.
    #[getter]
    fn bytes<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
        pyo3::types::PyBytes::new(py, self.0.contents())
    }

    fn __repr__(&self) -> String {
        format!(
            "<PemBlock {:?}, {} bytes>",
            self.0.label(),
            self.0.contents().len()
        )
    }
}

/// The next PEM block in `data` and the rest after it, exactly as Go's
/// `pem.Decode` finds them: `(None, data)` when there is none.
#[pyfunction]
pub fn pem_decode<'py>(
    py: Python<'py>,
    data: &[u8],
) -> (Option<PemBlock>, Bound<'py, pyo3::types::PyBytes>) {
    let (block, rest) = runnerkey::PemBlock::decode(data);
    (block.map(PemBlock), pyo3::types::PyBytes::new(py, rest))
}
