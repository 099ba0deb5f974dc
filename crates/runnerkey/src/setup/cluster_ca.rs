//! The cluster CA a kubeconfig context trusts: setup writes it to ca_file.

use super::*;

/// The cluster CA a kubeconfig context names: setup writes it to ca_file.
pub(super) fn cluster_ca(context: &crate::kube_context::KubeContext) -> Result<Certificate> {
    context.cas.first().cloned().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "{}: the context names no cluster CA (certificate-authority-data): setup needs it for ca_file",
            context.source
        ))
    })
}
