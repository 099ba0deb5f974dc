//! The context of a pod, as client-go's `rest.InClusterConfig` builds it:
//! the API server from `KUBERNETES_SERVICE_HOST` and
//! `KUBERNETES_SERVICE_PORT`, the service account's token and the
//! cluster CA from `/var/run/secrets/kubernetes.io/serviceaccount`. Read
//! anew for each connection: the kubelet rotates the token.

use std::path::Path;

use super::{ContextCredentials, KubeContext};
use crate::cert::Certificate;
use crate::error::{Error, Result};

/// Where a pod's service-account files are mounted.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

impl KubeContext {
    /// The pod's own context (see the module documentation); an error
    /// outside a pod.
    pub fn in_cluster() -> Result<Self> {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        Self::in_cluster_from(
            Path::new(SERVICE_ACCOUNT_DIR),
            &var("KUBERNETES_SERVICE_HOST"),
            &var("KUBERNETES_SERVICE_PORT"),
        )
    }

    /// The context from the service-account files in `dir` and the API
    /// server at `host`:`port`.
    pub fn in_cluster_from(dir: &Path, host: &str, port: &str) -> Result<Self> {
        if host.is_empty() || port.is_empty() {
            return Err(Error::InvalidArgument(
                "not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set".into(),
            ));
        }
        if host.contains(['/', '@', '?', '#', ' ']) || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidArgument(format!(
                "KUBERNETES_SERVICE_HOST {host:?} and KUBERNETES_SERVICE_PORT {port:?} do not make an address"
            )));
        }
        let server = if host.contains(':') {
            format!("https://[{host}]:{port}")
        } else {
            format!("https://{host}:{port}")
        };
        let token_path = dir.join("token");
        let token = crate::file::read_capped(&token_path, 64 * 1024)?;
        let token = String::from_utf8(token)
            .map_err(|_| Error::InvalidArgument(format!("{}: not UTF-8", token_path.display())))?
            .trim()
            .to_string();
        if token.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{}: the service account's token is empty",
                token_path.display()
            )));
        }
        let ca_path = dir.join("ca.crt");
        let cas = Certificate::all_from_pem(&crate::file::read_capped(&ca_path, 1 << 20)?)
            .map_err(|e| e.in_file(&ca_path))?;
        let namespace = std::fs::read_to_string(dir.join("namespace"))
            .ok()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        Ok(KubeContext {
            name: "in-cluster".into(),
            source: dir.display().to_string(),
            server,
            cas,
            ca_source: ca_path.display().to_string(),
            insecure_skip_tls_verify: false,
            accept_insecure: false,
            namespace,
            credentials: ContextCredentials::Token {
                token: token.into(),
                source: token_path.display().to_string(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pods_context_from_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let ca = crate::CertificateAuthority::generate(&crate::CaParams::default()).unwrap();
        std::fs::write(dir.path().join("token"), "tok\n").unwrap();
        std::fs::write(dir.path().join("ca.crt"), ca.certificate().to_pem()).unwrap();
        std::fs::write(dir.path().join("namespace"), "runnerkey-system").unwrap();
        let c = KubeContext::in_cluster_from(dir.path(), "10.96.0.1", "443").unwrap();
        assert_eq!(c.server, "https://10.96.0.1:443");
        assert_eq!(c.namespace.as_deref(), Some("runnerkey-system"));
        assert!(
            matches!(&c.credentials, ContextCredentials::Token { token, .. } if token.expose_secret() == "tok")
        );
        let v6 = KubeContext::in_cluster_from(dir.path(), "fd00::1", "6443").unwrap();
        assert_eq!(v6.server, "https://[fd00::1]:6443");
        for (h, p) in [("", "443"), ("h", ""), ("h/x", "443"), ("h", "44a")] {
            assert!(matches!(
                KubeContext::in_cluster_from(dir.path(), h, p),
                Err(Error::InvalidArgument(_))
            ));
        }
        std::fs::write(dir.path().join("token"), "\n").unwrap();
        assert!(matches!(
            KubeContext::in_cluster_from(dir.path(), "h", "1"),
            Err(crate::Error::InvalidArgument { .. })
        ));
    }
}
