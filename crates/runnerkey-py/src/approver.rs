//! `runnerkey.approver_*`: the approver's one pass, its manifests and its
//! unit (see `runnerkey approver`).

use std::path::PathBuf;

use pyo3::prelude::*;
use runnerkey::approver::{Approver, ApproverDeployment, ApproverParams, ApproverUnit};

use crate::convert::{Seconds, to_python};
use crate::errors::IntoPy;

fn params(
    deny: bool,
    subresource: String,
    rate: &str,
    timeout: std::time::Duration,
) -> runnerkey::Result<ApproverParams> {
    let mut p = ApproverParams::default();
    p.deny = deny;
    p.subresource = subresource;
    p.rate = rate.parse()?;
    p.timeout = timeout;
    p.validate()?;
    Ok(p)
}

/// Decides every pending kube-apiserver-client request once (see
/// `runnerkey approver run --once`): the decisions, as dicts.
#[pyfunction]
#[pyo3(signature = (*, kubeconfig = None, context = None, in_cluster = false, deny = false, subresource = runnerkey::approver::SELF_CLIENT.to_string(), rate = "3/1h", timeout = Seconds::Text(runnerkey::defaults::REQUEST_TIMEOUT.into())))]
#[allow(clippy::too_many_arguments)]
pub fn approver_run_once(
    py: Python<'_>,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    in_cluster: bool,
    deny: bool,
    subresource: String,
    rate: &str,
    timeout: Seconds,
) -> PyResult<Py<PyAny>> {
    let params = params(deny, subresource, rate, timeout.duration("timeout")?).py()?;
    let decisions = py
        .detach(|| {
            let ctx = if in_cluster {
                if kubeconfig.is_some() || context.is_some() {
                    return Err(runnerkey::Error::InvalidArgument(
                        "in_cluster takes no kubeconfig or context".into(),
                    ));
                }
                runnerkey::KubeContext::in_cluster()?
            } else {
                crate::kube::kube_context(kubeconfig, context.as_deref())?
            };
            Approver::new(params).run_once(ctx)
        })
        .py()?;
    to_python(py, &decisions)
}

/// The manifests that run the approver in the cluster (see `runnerkey
/// approver manifests`), as a list of dicts.
#[pyfunction]
#[pyo3(signature = (image, *, namespace = "runnerkey-system".to_string(), replicas = 1, extra_args = Vec::new()))]
pub fn approver_manifests(
    py: Python<'_>,
    image: String,
    namespace: String,
    replicas: u32,
    extra_args: Vec<String>,
) -> PyResult<Py<PyAny>> {
    let mut d = ApproverDeployment::new(image);
    d.namespace = namespace;
    d.replicas = replicas;
    d.extra_args = extra_args;
    to_python(py, &d.manifests().py()?.items)
}

/// The approver's systemd unit for a control-plane host (see `runnerkey
/// approver unit`): its text.
#[pyfunction]
#[pyo3(signature = (program, kubeconfig, *, metrics_address = "127.0.0.1:9745".to_string(), extra_args = Vec::new()))]
pub fn approver_unit(
    program: PathBuf,
    kubeconfig: PathBuf,
    metrics_address: String,
    extra_args: Vec<String>,
) -> PyResult<String> {
    let mut u = ApproverUnit::new(program, kubeconfig);
    u.metrics_address = metrics_address;
    u.extra_args = extra_args;
    u.text().py()
}
