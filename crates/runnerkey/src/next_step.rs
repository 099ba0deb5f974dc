//! What to do next, as data: a finding's remedy or setup's remaining steps.
//! The core says *what* (apply this profile for this subject, set these
//! keys, sign this CSR); the CLI and Python say *how* in their own words
//! (the CLI as a command line).

use std::path::PathBuf;

use serde::Serialize;

/// A RoleBinding or ClusterRoleBinding (one that grants cluster-admin).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AdminBinding {
    /// `ClusterRoleBinding` or `RoleBinding`.
    pub kind: BindingKind,
    /// Namespace of a RoleBinding.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// The two kinds of RBAC binding (serialised and shown as the Kubernetes
/// kind, `ClusterRoleBinding` or `RoleBinding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum BindingKind {
    /// Binds cluster-wide.
    ClusterRoleBinding,
    /// Binds in one namespace.
    RoleBinding,
}

impl BindingKind {
    /// The Kubernetes kind: `ClusterRoleBinding` or `RoleBinding`.
    pub fn as_str(self) -> &'static str {
        match self {
            BindingKind::ClusterRoleBinding => "ClusterRoleBinding",
            BindingKind::RoleBinding => "RoleBinding",
        }
    }
}

crate::named::display_as_str!(BindingKind);

impl std::fmt::Display for AdminBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {} in {ns}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// One `kubectl delete` command for `bindings` (cluster-wide ones, then
/// each namespace's).
pub fn delete_command(bindings: &[AdminBinding]) -> String {
    let cluster: Vec<&str> = bindings
        .iter()
        .filter(|b| b.namespace.is_none())
        .map(|b| b.name.as_str())
        .collect();
    let mut parts = Vec::new();
    if !cluster.is_empty() {
        parts.push(format!(
            "kubectl delete clusterrolebinding {}",
            cluster.join(" ")
        ));
    }
    let mut namespaces: Vec<&str> = bindings
        .iter()
        .filter_map(|b| b.namespace.as_deref())
        .collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    for ns in namespaces {
        let names: Vec<&str> = bindings
            .iter()
            .filter(|b| b.namespace.as_deref() == Some(ns))
            .map(|b| b.name.as_str())
            .collect();
        parts.push(format!(
            "kubectl delete rolebinding -n {ns} {}",
            names.join(" ")
        ));
    }
    parts.join(" && ")
}

/// Whom RBAC is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RbacFor {
    /// A user, as a client certificate's CN names it.
    User {
        /// The user name.
        name: String,
    },
    /// A service account.
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// Not known here (the identity is not a client certificate).
    Unknown,
}

/// One thing left to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum NextStep {
    /// Generate an RBAC profile for a subject and apply it on the cluster.
    ApplyProfile {
        /// For whom.
        subject: RbacFor,
        /// Which profile (`executor`, `deployer`, `auditor`, ...).
        profile: crate::profile::Profile,
        /// The namespace of the Role, when the profile has one.
        namespace: Option<String>,
    },
    /// Apply a manifest file on the cluster, as an admin.
    ApplyFile {
        /// The manifests.
        file: PathBuf,
    },
    /// Issue (or renew) the runner's certificate from the cluster CA.
    IssueCertificate {
        /// A certificate exists and is replaced.
        renew: bool,
    },
    /// Set `[runners.kubernetes]` keys of a runner.
    SetRunnerKeys {
        /// The runner's name, when it has one.
        runner: Option<String>,
        /// The keys and the kind of value each wants.
        keys: Vec<(&'static str, &'static str)>,
    },
    /// Check the runner online, as doctor does.
    CheckOnline {
        /// gitlab-runner's config.
        config: PathBuf,
        /// The runner.
        runner: crate::runner_selector::RunnerSelector,
    },
    /// Try the identity by hand with kubectl.
    TryKubeconfig {
        /// The kubeconfig.
        kubeconfig: PathBuf,
    },
    /// Ask the API server by hand what an identity may do.
    CheckAccessByHand {
        /// Whom to ask about (`None`: the runner's own identity).
        impersonate: Option<String>,
    },
    /// Sign the runner's CSR with the cluster CA, on the control plane.
    SignCsr {
        /// The CSR.
        csr: PathBuf,
        /// The certificate to write.
        certificate: String,
    },
    /// Submit the CertificateSigningRequest object, approve it and save the
    /// result, as a cluster admin.
    SubmitCsrObject {
        /// The manifest.
        manifest: PathBuf,
        /// The object's name.
        name: String,
    },
    /// Copy the files written here to the runner host, where config.toml
    /// expects them.
    InstallFiles {
        /// Where they were written.
        from: PathBuf,
        /// Where the runner host's config.toml names them.
        to: PathBuf,
        /// The edited config.toml, to put in place too.
        config: PathBuf,
    },
    /// Delete the bindings that grant cluster-admin (after applying the
    /// least-privilege profile, so nothing the runner needs is lost).
    DeleteBindings {
        /// The bindings, each deleted on its own.
        bindings: Vec<AdminBinding>,
    },
    /// Finish setup on the runner host with the signed certificate.
    CompleteSetup {
        /// The signed certificate file.
        certificate: String,
        /// Or the CSR object saved as JSON.
        csr_object: String,
        /// The API server.
        server: String,
        /// gitlab-runner's config.
        config: PathBuf,
        /// The runner's name (or `#index`).
        runner: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_and_profiles_are_spelled_as_kubernetes_and_the_cli_spell_them() {
        let binding = AdminBinding {
            kind: BindingKind::RoleBinding,
            namespace: Some("ci".into()),
            name: "ci-admin".into(),
        };
        assert_eq!(
            serde_json::to_value(&binding).unwrap(),
            serde_json::json!({"kind": "RoleBinding", "namespace": "ci", "name": "ci-admin"})
        );
        assert_eq!(binding.to_string(), "RoleBinding ci-admin in ci");
        assert_eq!(
            serde_json::to_value(BindingKind::ClusterRoleBinding).unwrap(),
            "ClusterRoleBinding"
        );
        let step = NextStep::ApplyProfile {
            subject: RbacFor::Unknown,
            profile: crate::profile::Profile::Deployer,
            namespace: None,
        };
        let v = serde_json::to_value(&step).unwrap();
        assert_eq!(
            (&v["step"], &v["profile"]),
            (&"apply-profile".into(), &"deployer".into())
        );
    }
}
