//! RBAC, kubeconfig, the CSR API, doctor and setup.

use std::path::PathBuf;

use pyo3::prelude::*;
use runnerkey::doctor::{DoctorOptions, diagnose};
use runnerkey::k8s_csr::{K8sCsr, K8sCsrParams};
use runnerkey::kubeconfig::KubeconfigParams;
use runnerkey::rbac::{ExecutorFeature, RbacObject, RbacParams, RbacSubject};
use runnerkey::setup::{SetupParams, SourceChoice};
use runnerkey::{Identity, Lifetime};

use crate::config::Runner;

/// A service account as Python gives it: `"NAMESPACE/NAME"` or a
/// `(namespace, name)` pair, checked by the one rule of
/// [`runnerkey::ServiceAccountRef`].
#[derive(FromPyObject)]
pub enum ServiceAccountArg {
    /// `"NAMESPACE/NAME"`.
    Text(String),
    /// `(namespace, name)`.
    Pair(String, String),
}

impl ServiceAccountArg {
    /// The checked reference.
    pub fn checked(self) -> PyResult<runnerkey::ServiceAccountRef> {
        match self {
            Self::Text(s) => s.parse().py(),
            Self::Pair(namespace, name) => runnerkey::ServiceAccountRef::new(namespace, name).py(),
        }
    }
}
use crate::convert::{Data, Seconds, to_python};
use crate::errors::IntoPy;
use crate::pki::{Certificate, CertificateAuthority, CertificateRequest, PrivateKey};

/// Kubernetes manifests ready for `kubectl apply -f -`.
#[pyclass(module = "runnerkey", frozen)]
pub struct Manifests(pub runnerkey::Manifests<RbacObject>);

#[pymethods]
impl Manifests {
    /// Multi-document YAML.
    fn to_yaml(&self) -> PyResult<String> {
        self.0.to_yaml().py()
    }

    /// A JSON `List`.
    fn to_json(&self) -> PyResult<String> {
        self.0.to_json().py()
    }

    /// The objects as dicts.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.0.items)
    }

    /// Advice (e.g. the risk of cluster-admin).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.0.warnings.clone()
    }

    fn __len__(&self) -> usize {
        self.0.items.len()
    }

    fn __repr__(&self) -> String {
        format!("<Manifests {} objects>", self.0.items.len())
    }
}

/// RBAC for a user (`user`, `groups`) or a service account ("NS/NAME"):
/// profile "executor", "deployer" or "cluster-admin".
#[pyfunction]
#[pyo3(signature = (*, user = None, groups = Vec::new(), service_account = None, profile = "executor", namespace = None, with_token_secret = false, features = None, with_namespaces = true))]
#[allow(clippy::too_many_arguments)]
pub fn rbac(
    user: Option<String>,
    groups: Vec<String>,
    service_account: Option<String>,
    profile: &str,
    namespace: Option<String>,
    with_token_secret: bool,
    features: Option<Vec<String>>,
    with_namespaces: bool,
) -> PyResult<Manifests> {
    let subject = match (user, service_account, groups.as_slice()) {
        (Some(u), None, _) => RbacSubject::User(Identity::new(u, groups).py()?),
        (None, Some(sa), []) => RbacSubject::service_account(&sa).py()?,
        (None, None, [group]) => RbacSubject::group(group).py()?,
        _ => {
            return Err(crate::errors::new_err(
                "InvalidArgumentError",
                "give user= (and its groups=), groups=[one group] alone, or service_account=",
            ));
        }
    };
    let mut params = RbacParams::new(subject, profile.parse().py()?);
    params.namespace = namespace;
    params.with_token_secret = with_token_secret;
    params.with_namespaces = with_namespaces;
    if let Some(f) = features {
        params.features = f
            .iter()
            .map(|s| s.parse::<ExecutorFeature>())
            .collect::<runnerkey::Result<_>>()
            .py()?;
    }
    params.manifests().py().map(Manifests)
}

/// A kubeconfig for the issued identity.
#[pyclass(module = "runnerkey", frozen)]
pub struct Kubeconfig(pub runnerkey::kubeconfig::Kubeconfig);

#[pymethods]
impl Kubeconfig {
    /// YAML (holds the key when embedded: keep it secret).
    fn to_yaml(&self) -> PyResult<String> {
        self.0.to_yaml().py()
    }

    /// Writes it with mode 0600.
    #[pyo3(signature = (path, overwrite = false))]
    fn write(&self, path: PathBuf, overwrite: bool) -> PyResult<()> {
        self.0.write(&path, overwrite).py()
    }

    /// The current context's name.
    #[getter]
    fn current_context(&self) -> String {
        self.0.current_context.clone()
    }

    fn __repr__(&self) -> String {
        format!("<Kubeconfig {}>", self.0.current_context)
    }
}

/// A kubeconfig from the three files (embedded, or referenced by path).
#[pyfunction]
#[pyo3(signature = (server, ca_file, cert_file, key_file, *, user = None, cluster = "kubernetes", reference_files = false))]
pub fn kubeconfig(
    server: String,
    ca_file: PathBuf,
    cert_file: PathBuf,
    key_file: PathBuf,
    user: Option<String>,
    cluster: &str,
    reference_files: bool,
) -> PyResult<Kubeconfig> {
    let mut params = KubeconfigParams::new(server, ca_file, cert_file, key_file);
    params.user = user;
    params.cluster = Some(cluster.to_string());
    params.reference_files = reference_files;
    runnerkey::kubeconfig::Kubeconfig::new(&params)
        .py()
        .map(Kubeconfig)
}

/// A certificates.k8s.io/v1 CertificateSigningRequest object (a dict) for `csr`.
#[pyfunction]
#[pyo3(signature = (csr, *, name, expiration = None, allow_system_masters = false))]
pub fn k8s_csr(
    py: Python<'_>,
    csr: &CertificateRequest,
    name: String,
    expiration: Option<&str>,
    allow_system_masters: bool,
) -> PyResult<Py<PyAny>> {
    let expiration = expiration
        .map(|e| e.parse::<Lifetime>().map(|l| l.as_duration()))
        .transpose()
        .py()?;
    let object = K8sCsr::new(&csr.0, &{
        let mut p = K8sCsrParams::new(name);
        p.expiration = expiration;
        p.allow_system_masters = allow_system_masters;
        p
    })
    .py()?;
    to_python(py, &object)
}

/// The certificate from `kubectl get csr NAME -o json|yaml` output, checked against `key`.
#[pyfunction]
pub fn k8s_csr_certificate(data: Data, key: &PrivateKey) -> PyResult<Certificate> {
    let text = String::from_utf8_lossy(data.bytes()).into_owned();
    K8sCsr::parse(&text)
        .and_then(|o| o.issued_certificate(&key.0))
        .py()
        .map(Certificate)
}

/// Diagnoses the kubernetes runners of a config (online: connect as the runner does); a dict.
#[pyfunction]
#[pyo3(signature = (config, *, runner = None, online = false, timeout = Seconds::Text(runnerkey::defaults::ONLINE_TIMEOUT.into())))]
pub fn doctor(
    py: Python<'_>,
    config: PathBuf,
    runner: Option<Runner>,
    online: bool,
    timeout: Seconds,
) -> PyResult<Py<PyAny>> {
    let cfg = runnerkey::runner_config::RunnerConfig::load(&config).py()?;
    let options = {
        let mut p = DoctorOptions::default();
        p.runner = runner.map(Into::into);
        p.online = online;
        p.timeout = timeout.duration("timeout")?;
        p.now = None;
        p
    };
    let report = py.detach(|| diagnose(&cfg, &options)).py()?;
    to_python(py, &report)
}

/// Diagnoses one kubeconfig context (`doctor --kubeconfig`): the file, or
/// the files of KUBECONFIG (else ~/.kube/config); the current context or
/// `context`; a dict.
#[pyfunction]
#[pyo3(signature = (kubeconfig = None, *, context = None, namespace = None, online = false, timeout = Seconds::Text(runnerkey::defaults::ONLINE_TIMEOUT.into())))]
pub fn doctor_kubeconfig(
    py: Python<'_>,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    namespace: Option<String>,
    online: bool,
    timeout: Seconds,
) -> PyResult<Py<PyAny>> {
    let options = {
        let mut p = DoctorOptions::default();
        p.online = online;
        p.timeout = timeout.duration("timeout")?;
        p
    };
    let report = py
        .detach(|| {
            let mut ctx = kube_context(kubeconfig, context.as_deref())?;
            if let Some(ns) = &namespace {
                ctx.set_namespace(ns)?;
            }
            Ok::<_, runnerkey::Error>(runnerkey::doctor::diagnose_context(ctx, &options))
        })
        .py()?;
    to_python(py, &report)
}

fn status_report(
    config: PathBuf,
    runner: Option<Runner>,
    renew_at: f64,
    renew_before: Option<&str>,
) -> runnerkey::Result<runnerkey::StatusReport> {
    let cfg = runnerkey::runner_config::RunnerConfig::load(&config)?;
    let policy = runnerkey::RenewalPolicy::from_options(Some(renew_at), renew_before)?;
    let mut p = runnerkey::StatusParams::default();
    p.runner = runner.map(Into::into);
    p.policy = policy;
    p.run(&cfg).map_err(|e| e.in_file(&config))
}

pub(crate) fn kube_context(
    kubeconfig: Option<PathBuf>,
    context: Option<&str>,
) -> runnerkey::Result<runnerkey::KubeContext> {
    let paths = match kubeconfig {
        Some(p) => vec![p],
        None => runnerkey::default_kubeconfig_paths(),
    };
    let source = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    runnerkey::load_kubeconfig(&paths)?.resolve_context(context, &source)
}

/// Submits `csr` (made for `key`) to the cluster's CSR API (see
/// `runnerkey k8s-csr submit`), approves it when asked, waits, checks and
/// returns the certificate; the object is deleted afterwards.
#[pyfunction]
#[pyo3(signature = (csr, key, *, kubeconfig = None, context = None, name = None, generate_name = "runnerkey-", expiration = None, approve = false, wait = Seconds::Text(runnerkey::defaults::CSR_WAIT.into())))]
#[allow(clippy::too_many_arguments)]
pub fn k8s_csr_submit(
    py: Python<'_>,
    csr: &crate::pki::CertificateRequest,
    key: &crate::pki::PrivateKey,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    name: Option<String>,
    generate_name: &str,
    expiration: Option<&str>,
    approve: bool,
    wait: Seconds,
) -> PyResult<crate::pki::Certificate> {
    let mut p = runnerkey::SubmitParams::default();
    p.name = name;
    p.generate_name = Some(generate_name.to_string());
    p.expiration = expiration
        .map(|e| e.parse::<Lifetime>().map(|l| l.as_duration()))
        .transpose()
        .py()?;
    p.approve = approve;
    p.wait = wait.duration("wait")?;
    let done = py
        .detach(|| {
            p.run(
                kube_context(kubeconfig, context.as_deref())?,
                &csr.0,
                &key.0,
            )
        })
        .py()?;
    Ok(crate::pki::Certificate(done.certificate))
}

/// Approves the pending CertificateSigningRequest `name` only when it asks
/// for exactly `expect_user` and `expect_groups` — without `expect_user`,
/// exactly its submitter's own identity (see `runnerkey k8s-csr approve`).
#[pyfunction]
#[pyo3(signature = (name, *, expect_user = None, expect_groups = Vec::new(), kubeconfig = None, context = None, deny = false))]
pub fn k8s_csr_approve(
    py: Python<'_>,
    name: &str,
    expect_user: Option<String>,
    expect_groups: Vec<String>,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    deny: bool,
) -> PyResult<()> {
    if expect_user.is_none() && !expect_groups.is_empty() {
        return Err(crate::errors::to_py(runnerkey::Error::InvalidArgument(
            "expect_groups needs expect_user".into(),
        )));
    }
    let expected = expect_user
        .map(|u| Identity::new(u, expect_groups))
        .transpose()
        .py()?;
    py.detach(|| {
        runnerkey::approve_csr(
            kube_context(kubeconfig, context.as_deref())?,
            name,
            expected.as_ref(),
            deny,
            std::time::Duration::from_secs(30),
        )
    })
    .py()
    .map(|_| ())
}

/// Renews a runner's client certificate when it is due (see `runnerkey
/// renew`); the report as a dict.
#[pyfunction]
#[pyo3(signature = (*, config, runner, ca = None, kubeconfig = None, context = None, approve = false, wait = Seconds::Text(runnerkey::defaults::CSR_WAIT.into()), renew_at = 2.0 / 3.0, renew_before = None, force = false, dry_run = false, online = true, timeout = Seconds::Text(runnerkey::defaults::ONLINE_TIMEOUT.into()), expect_service_account = None, expect_user = None, expect_groups = Vec::new()))]
#[allow(clippy::too_many_arguments)]
pub fn renew(
    py: Python<'_>,
    config: PathBuf,
    runner: Runner,
    ca: Option<PyRef<'_, CertificateAuthority>>,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    approve: bool,
    wait: Seconds,
    renew_at: f64,
    renew_before: Option<&str>,
    force: bool,
    dry_run: bool,
    online: bool,
    timeout: Seconds,
    expect_service_account: Option<ServiceAccountArg>,
    expect_user: Option<String>,
    expect_groups: Vec<String>,
) -> PyResult<Py<PyAny>> {
    let mut p = runnerkey::RenewParams::new(config, runner.into());
    p.expect_service_account = expect_service_account
        .map(ServiceAccountArg::checked)
        .transpose()?;
    p.expect_identity = expect_user
        .map(|u| Identity::new(u, expect_groups))
        .transpose()
        .py()?;
    p.policy = runnerkey::RenewalPolicy::from_options(Some(renew_at), renew_before).py()?;
    p.force = force;
    p.dry_run = dry_run;
    p.online = online;
    p.timeout = timeout.duration("timeout")?;
    let wait = wait.duration("wait")?;
    let report = match (&ca, kubeconfig) {
        (Some(ca), None) => {
            let ca = &ca.0;
            py.detach(|| p.run(runnerkey::Signer::Ca(ca))).py()?
        }
        (None, Some(file)) => py
            .detach(|| {
                let context = kube_context(Some(file), context.as_deref())?;
                p.run(runnerkey::Signer::CsrApi {
                    context: Box::new(context),
                    approve,
                    wait,
                    // The request's name reaches Python in the error when
                    // it is still pending (RenewalPending).
                    progress: None,
                })
            })
            .py()?,
        _ => return Err(ca_or_kubeconfig()),
    };
    to_python(py, &report)
}

/// Neither or both of `ca=` and `kubeconfig=`.
fn ca_or_kubeconfig() -> PyErr {
    crate::errors::to_py(runnerkey::Error::InvalidArgument(
        "give ca= (the CA at hand) or kubeconfig= (the cluster's CSR API), one of them".into(),
    ))
}

/// A service account token from the TokenRequest API (see `setup --auth
/// token`); a dict with the token itself (secret), its user, end and
/// lifetime.
#[pyfunction]
#[pyo3(signature = (*, namespace, service_account, kubeconfig = None, context = None, duration = runnerkey::defaults::TOKEN_DURATION, create_service_account = false, timeout = Seconds::Text(runnerkey::defaults::REQUEST_TIMEOUT.into())))]
#[allow(clippy::too_many_arguments)]
pub fn request_token(
    py: Python<'_>,
    namespace: String,
    service_account: String,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    duration: &str,
    create_service_account: bool,
    timeout: Seconds,
) -> PyResult<Py<PyAny>> {
    let mut p = runnerkey::TokenRequestParams::new(
        runnerkey::ServiceAccountRef::new(namespace, service_account).py()?,
    );
    p.duration = duration.parse::<Lifetime>().py()?.as_duration();
    p.create_service_account = create_service_account;
    p.timeout = timeout.duration("timeout")?;
    let issued = py
        .detach(|| p.run(kube_context(kubeconfig, context.as_deref())?))
        .py()?;
    let mut out = serde_json::to_value(&issued)
        .map_err(|e| crate::errors::to_py(runnerkey::Error::InvalidArgument(e.to_string())))?;
    // The one place Python is given a token: explicitly, under "token".
    out["token"] = serde_json::Value::String(issued.token.expose_secret().to_string());
    to_python(py, &out)
}

/// Where each kubernetes runner's identity stands (see `runnerkey status`);
/// a dict.
#[pyfunction]
#[pyo3(signature = (config, *, runner = None, renew_at = 2.0 / 3.0, renew_before = None))]
pub fn status(
    py: Python<'_>,
    config: PathBuf,
    runner: Option<Runner>,
    renew_at: f64,
    renew_before: Option<&str>,
) -> PyResult<Py<PyAny>> {
    let report = py
        .detach(|| status_report(config, runner, renew_at, renew_before))
        .py()?;
    to_python(py, &report)
}

/// The same status as Prometheus text (node_exporter's textfile collector).
#[pyfunction]
#[pyo3(signature = (config, *, runner = None, renew_at = 2.0 / 3.0, renew_before = None))]
pub fn status_prometheus(
    py: Python<'_>,
    config: PathBuf,
    runner: Option<Runner>,
    renew_at: f64,
    renew_before: Option<&str>,
) -> PyResult<String> {
    py.detach(|| status_report(config, runner, renew_at, renew_before))
        .py()
        .map(|r| r.prometheus())
}

/// The whole procedure (see `runnerkey setup`); returns the report as a dict.
#[pyfunction]
#[pyo3(signature = (*, config, runner, server, ca = None, kubeconfig = None, context = None, approve = false, wait = Seconds::Text(runnerkey::defaults::CSR_WAIT.into()), user = runnerkey::defaults::USER, groups = Vec::new(), out_dir = PathBuf::from(runnerkey::defaults::OUT_DIR), install_dir = None, namespace = runnerkey::defaults::NAMESPACE, service_account = runnerkey::defaults::JOB_SERVICE_ACCOUNT, algorithm = runnerkey::defaults::KEY_ALGORITHM_NAME, days = i64::from(runnerkey::defaults::CERT_DAYS), renew_before = runnerkey::defaults::RENEW_BEFORE, force = false, keep_key = false, dry_run = false, auth = "certificate", token_service_account = None, token_duration = runnerkey::defaults::TOKEN_DURATION))]
#[allow(clippy::too_many_arguments)]
pub fn setup(
    py: Python<'_>,
    config: PathBuf,
    runner: Runner,
    server: String,
    ca: Option<PyRef<'_, CertificateAuthority>>,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    approve: bool,
    wait: Seconds,
    user: &str,
    groups: Vec<String>,
    out_dir: PathBuf,
    install_dir: Option<PathBuf>,
    namespace: &str,
    service_account: &str,
    algorithm: &str,
    days: i64,
    renew_before: &str,
    force: bool,
    keep_key: bool,
    dry_run: bool,
    auth: &str,
    token_service_account: Option<String>,
    token_duration: &str,
) -> PyResult<Py<PyAny>> {
    let mut p = SetupParams::new(config, runner.into(), server).py()?;
    p.identity = Identity::new(user, groups).py()?;
    p.out_dir = out_dir;
    p.install_dir = install_dir;
    p.namespace = namespace.to_string();
    p.service_account = service_account.to_string();
    p.algorithm = algorithm.parse().py()?;
    p.lifetime = Lifetime::from_days_or_duration(Some(crate::pki::days_arg(days)?), None).py()?;
    p.renew_before = renew_before.parse::<Lifetime>().py()?.as_duration();
    p.force = force;
    p.keep_key = keep_key;
    p.dry_run = dry_run;
    let mut choice = SourceChoice::new(auth.parse().py()?);
    choice.ca = ca.as_ref().map(|c| &c.0);
    choice.context = kubeconfig
        .map(|file| kube_context(Some(file), context.as_deref()))
        .transpose()
        .py()?;
    choice.approve = approve;
    choice.wait = wait.duration("wait")?;
    choice.token_service_account = token_service_account;
    choice.token_duration = token_duration.parse::<Lifetime>().py()?.as_duration();
    let source = choice.choose(&p).py()?;
    let report = py.detach(|| p.setup(source)).py()?;
    to_python(py, &report)
}
