//! Where the approver runs: in the cluster (a Deployment with its own
//! service account and the `approver` RBAC profile, reading the in-cluster
//! configuration) or on a control-plane host (a hardened systemd unit with
//! a kubeconfig passed as a systemd credential).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::manifest::{MANAGED_BY, Manifests};
use crate::rbac::{Profile, RbacParams, RbacSubject};

/// The port the approver serves its metrics on, in the cluster.
pub const METRICS_PORT: u16 = 9745;

/// The approver in the cluster: what `runnerkey approver manifests`
/// writes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ApproverDeployment {
    /// The namespace it runs in (default `runnerkey-system`).
    pub namespace: String,
    /// The container image holding the `runnerkey` command (on its PATH).
    pub image: String,
    /// Replicas: two approvers at once never approve a request twice.
    pub replicas: u32,
    /// The arguments after `runnerkey approver run --in-cluster`
    /// (`--deny`, `--rate 3/1h`…).
    pub extra_args: Vec<String>,
}

impl ApproverDeployment {
    /// The approver from `image` in `runnerkey-system`, one replica.
    pub fn new(image: impl Into<String>) -> Self {
        Self {
            namespace: "runnerkey-system".into(),
            image: image.into(),
            replicas: 1,
            extra_args: Vec::new(),
        }
    }

    /// The manifests, in apply order: Namespace, ServiceAccount,
    /// ClusterRole and ClusterRoleBinding (profile `approver`), Deployment.
    pub fn manifests(&self) -> Result<Manifests<Value>> {
        crate::k8s_name::check_label("namespace", &self.namespace)?;
        if self.image.is_empty()
            || self
                .image
                .contains(|c: char| c.is_whitespace() || c.is_control())
        {
            return Err(Error::InvalidArgument(format!(
                "the image {:?} is not an image reference",
                self.image
            )));
        }
        let name = "runnerkey-approver";
        let rbac = RbacParams::new(
            RbacSubject::service_account(&format!("{}/{name}", self.namespace))?,
            Profile::Approver,
        )
        .manifests()?;
        let mut items: Vec<Value> = rbac
            .items
            .iter()
            .map(|o| serde_json::to_value(o).map_err(|e| Error::InvalidArgument(e.to_string())))
            .collect::<Result<_>>()?;
        let labels = json!({"app.kubernetes.io/name": name, MANAGED_BY.0: MANAGED_BY.1});
        let mut args = vec![
            "approver".to_string(),
            "run".into(),
            "--in-cluster".into(),
            "--metrics-address".into(),
            format!("0.0.0.0:{METRICS_PORT}"),
        ];
        args.extend(self.extra_args.iter().cloned());
        let probe =
            json!({"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 30});
        items.push(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
            "spec": {
                "replicas": self.replicas,
                "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": name,
                        "automountServiceAccountToken": true,
                        "securityContext": {
                            "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [{
                            "name": "approver",
                            "image": self.image,
                            "command": ["runnerkey"],
                            "args": args,
                            "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
                            "livenessProbe": probe,
                            "readinessProbe": probe,
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "16Mi"},
                                "limits": {"memory": "64Mi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": false,
                                "readOnlyRootFilesystem": true,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }],
                    },
                },
            },
        }));
        Ok(Manifests {
            items,
            warnings: rbac.warnings,
        })
    }
}

/// The approver on a control-plane host: `runnerkey-approver.service`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ApproverUnit {
    /// The `runnerkey` program (absolute).
    pub program: PathBuf,
    /// The approver's kubeconfig (with its certificate and key embedded),
    /// handed to the service as a systemd credential: the service runs as
    /// a dynamic user and reads it from `$CREDENTIALS_DIRECTORY`.
    pub kubeconfig: PathBuf,
    /// Where metrics are served (default `127.0.0.1:9745`).
    pub metrics_address: String,
    /// Arguments after `approver run` (`--deny`, `--rate 3/1h`…).
    pub extra_args: Vec<String>,
}

/// The approver unit's file name.
pub const APPROVER_UNIT: &str = "runnerkey-approver.service";

impl ApproverUnit {
    /// A unit running `program` with `kubeconfig`.
    pub fn new(program: impl Into<PathBuf>, kubeconfig: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            kubeconfig: kubeconfig.into(),
            metrics_address: format!("127.0.0.1:{METRICS_PORT}"),
            extra_args: Vec::new(),
        }
    }

    /// The unit's text.
    pub fn text(&self) -> Result<String> {
        for (what, p) in [("program", &self.program), ("kubeconfig", &self.kubeconfig)] {
            let text = p.to_str().unwrap_or("");
            if !p.is_absolute()
                || text.is_empty()
                || text.contains(|c: char| c.is_control() || c == '"' || c == '\\' || c == ':')
            {
                return Err(Error::InvalidArgument(format!(
                    "the approver's {what} {} must be an absolute UTF-8 path without quotes, backslashes, colons or control characters (it goes into a unit file)",
                    p.display()
                )));
            }
        }
        let mut argv = vec![
            self.program.display().to_string(),
            "approver".into(),
            "run".into(),
            "--kubeconfig".into(),
            "${CREDENTIALS_DIRECTORY}/kubeconfig".into(),
            "--metrics-address".into(),
            self.metrics_address.clone(),
        ];
        argv.extend(self.extra_args.iter().cloned());
        if let Some(bad) = argv.iter().find(|a| a.contains(|c: char| c.is_control())) {
            return Err(Error::InvalidArgument(format!(
                "the approver's argument {bad:?} holds a control character: it cannot go into a unit file"
            )));
        }
        let mut words = crate::systemd::command_line(&argv);
        // The one place a variable is meant: systemd expands it.
        words[4] = "${CREDENTIALS_DIRECTORY}/kubeconfig".into();
        Ok(format!(
            "[Unit]\n\
             Description=Approve gitlab runners' renewals of their own Kubernetes client identity (runnerkey approver)\n\
             After=network-online.target\n\
             Wants=network-online.target\n\
             \n\
             [Service]\n\
             ExecStart={exec}\n\
             LoadCredential=kubeconfig:{kubeconfig}\n\
             Restart=always\n\
             RestartSec=5\n\
             DynamicUser=yes\n\
             UMask=0077\n\
             NoNewPrivileges=yes\n\
             CapabilityBoundingSet=\n\
             AmbientCapabilities=\n\
             ProtectSystem=strict\n\
             ProtectHome=yes\n\
             PrivateTmp=yes\n\
             PrivateDevices=yes\n\
             PrivateUsers=yes\n\
             ProtectHostname=yes\n\
             ProtectClock=yes\n\
             ProtectKernelTunables=yes\n\
             ProtectKernelModules=yes\n\
             ProtectKernelLogs=yes\n\
             ProtectControlGroups=yes\n\
             ProtectProc=invisible\n\
             ProcSubset=pid\n\
             RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n\
             RestrictNamespaces=yes\n\
             RestrictRealtime=yes\n\
             RestrictSUIDSGID=yes\n\
             LockPersonality=yes\n\
             MemoryDenyWriteExecute=yes\n\
             RemoveIPC=yes\n\
             SystemCallArchitectures=native\n\
             SystemCallFilter=@system-service\n\
             SystemCallFilter=~@privileged @resources\n\
             DevicePolicy=closed\n\
             \n\
             [Install]\n\
             WantedBy=multi-user.target\n",
            exec = words.join(" "),
            kubeconfig = self.kubeconfig.display(),
        ))
    }

    /// Writes the unit into `ROOT/etc/systemd/system` (0644, atomically):
    /// its path.
    pub fn install(&self, root: &Path) -> Result<PathBuf> {
        let text = self.text()?;
        let dir = root.join("etc/systemd/system");
        crate::file::create_dirs(&dir, crate::file::PUBLIC_DIR)?;
        let path = dir.join(APPROVER_UNIT);
        crate::file::write_atomic(&path, text.as_bytes(), crate::file::PUBLIC, true)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployment_runs_in_cluster_with_the_approver_profile() {
        let m = ApproverDeployment::new("registry.example/runnerkey:0.1.0")
            .manifests()
            .unwrap();
        let kinds: Vec<&str> = m
            .items
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Deployment"
            ]
        );
        let d = &m.items[4];
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "registry.example/runnerkey:0.1.0");
        assert!(
            c["args"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "--in-cluster")
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["serviceAccountName"],
            "runnerkey-approver"
        );
        assert_eq!(m.items[3]["subjects"][0]["namespace"], "runnerkey-system");
        assert!(matches!(
            ApproverDeployment::new("bad image").manifests(),
            Err(crate::Error::InvalidArgument { .. })
        ));
        let mut bad = ApproverDeployment::new("i");
        bad.namespace = "Not_A_Namespace".into();
        assert!(matches!(bad.manifests(), Err(Error::InvalidName { .. })));
    }

    #[test]
    fn the_unit_passes_the_kubeconfig_as_a_credential() {
        let unit = ApproverUnit::new("/usr/local/bin/runnerkey", "/etc/runnerkey/approver.conf");
        let text = unit.text().unwrap();
        assert!(text.contains("ExecStart=/usr/local/bin/runnerkey approver run --kubeconfig ${CREDENTIALS_DIRECTORY}/kubeconfig --metrics-address 127.0.0.1:9745\n"), "{text}");
        assert!(text.contains("LoadCredential=kubeconfig:/etc/runnerkey/approver.conf\n"));
        assert!(text.contains("DynamicUser=yes\n"));
        let mut odd = unit.clone();
        odd.extra_args = vec!["--rate".into(), "3 per $HOME".into()];
        assert!(odd.text().unwrap().contains("\"3 per $$HOME\""));
        for bad in ["relative", "/a:b", "/a\nb", "/a\"b"] {
            let u = ApproverUnit::new("/usr/bin/runnerkey", bad);
            assert!(matches!(u.text(), Err(Error::InvalidArgument(_))), "{bad}");
        }
    }
}
