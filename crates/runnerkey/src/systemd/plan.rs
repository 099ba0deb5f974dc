//! Which units one runner's renewal gets: its exact `renew` command (the
//! signer, the renewal policy, a token runner's pinned account), the paths
//! it may write, the pre-start check of gitlab-runner.service — decided
//! here, from config.toml, so the CLI and Python write the same units.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::RenewUnits;
use crate::bearer_token::TokenClaims;
use crate::error::{Error, Result};
use crate::renewal::RenewalPolicy;
use crate::runner_config::{RunnerConfig, RunnerSelector};
use crate::secret::Secret;

/// How the units' renewal gets the new credential.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenewSigner {
    /// A directory holding the cluster CA's `ca.crt` and `ca.key`.
    CaDir(PathBuf),
    /// The cluster CA's certificate and key files.
    CaFiles {
        /// The CA certificate.
        cert: PathBuf,
        /// The CA key.
        key: PathBuf,
    },
    /// The cluster, with this kubeconfig's identity: the CSR API for a
    /// certificate runner, the TokenRequest API for a token runner.
    Kubeconfig {
        /// The kubeconfig.
        path: PathBuf,
        /// Its context (`None`: current-context).
        context: Option<String>,
        /// Approve the request too.
        approve: bool,
        /// How long to wait for approval and the certificate (e.g. `5m`).
        wait: String,
    },
}

/// One runner's renewal units, to be decided from config.toml
/// ([`RenewUnitPlan::units`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RenewUnitPlan {
    /// config.toml (made absolute).
    pub config: PathBuf,
    /// The runner.
    pub runner: RunnerSelector,
    /// The units' instance name (`None`: the runner's name, or `#INDEX`).
    pub instance: Option<String>,
    /// The `runnerkey` command the units run (absolute).
    pub program: PathBuf,
    /// How the renewal gets the new credential.
    pub signer: RenewSigner,
    /// A file holding the CA key's passphrase.
    pub ca_passphrase_file: Option<PathBuf>,
    /// The renewal policy the units state (`None`: `renew`'s own default,
    /// which then stays the units' as it changes).
    pub policy: Option<RenewalPolicy>,
    /// node_exporter's textfile directory (or a file in it), refreshed by
    /// `status --prometheus` after every renewal attempt; it must exist.
    pub prometheus: Option<PathBuf>,
}

impl RenewUnitPlan {
    /// The plan for `runner` of `config`, run by `program`, signed by
    /// `signer`, with `renew`'s default policy.
    pub fn new(
        config: impl Into<PathBuf>,
        runner: RunnerSelector,
        program: impl Into<PathBuf>,
        signer: RenewSigner,
    ) -> Self {
        Self {
            config: config.into(),
            runner,
            instance: None,
            program: program.into(),
            signer,
            ca_passphrase_file: None,
            policy: None,
            prometheus: None,
        }
    }

    /// The units, decided from `config` (loaded from [`Self::config`]).
    pub fn units(&self, config: &RunnerConfig) -> Result<RenewUnits> {
        let config_path = absolute(&self.config)?;
        let index = config.select(&self.runner)?;
        let runners = config.runners()?;
        let info = runners
            .iter()
            .find(|r| r.index == index)
            .ok_or_else(|| Error::InvalidArgument("the runner disappeared".into()))?;
        let label = info.name.clone().unwrap_or_else(|| format!("#{index}"));
        let named = |n: &str| {
            runners
                .iter()
                .filter(|r| r.name.as_deref() == Some(n))
                .count()
        };
        let instance = match &self.instance {
            Some(i) if *i != label && named(i) > 0 => {
                return Err(Error::InvalidArgument(format!(
                    "the instance name {i:?} is the name of another runner in {}: its units would be overwritten; choose a name no runner has",
                    config_path.display()
                )));
            }
            Some(i) => i.clone(),
            None if info.name.is_some() && named(&label) > 1 => {
                return Err(Error::InvalidArgument(format!(
                    "{} runners in {} are named {label:?}: their units would overwrite each other; give this one a distinct instance name",
                    named(&label),
                    config_path.display()
                )));
            }
            None => label.clone(),
        };
        let k = info.kubernetes.clone().unwrap_or_default();
        // The paths renewal acts on: none may carry a line break or another
        // control character into a unit or a command line.
        for (field, value) in [
            ("cert_file", &k.cert_file),
            ("key_file", &k.key_file),
            ("ca_file", &k.ca_file),
            ("host", &k.host),
        ] {
            if let Some(v) = value
                && let Some(c) = v.chars().find(|c| c.is_control())
            {
                return Err(Error::InvalidArgument(format!(
                    "runner {label:?}: its {field} {v:?} holds the control character {c:?}: no unit is written for it"
                )));
            }
            // A unit runs in `/`, gitlab-runner in its own working
            // directory: a relative path would name other files for each.
            if field != "host"
                && let Some(v) = value.as_deref().filter(|v| !v.is_empty())
                && !Path::new(v).is_absolute()
            {
                return Err(Error::InvalidArgument(format!(
                    "runner {label:?}: its {field} {v:?} is relative: the renewal unit runs in / and gitlab-runner in its own directory, so it would name different files; make it absolute in config.toml"
                )));
            }
        }
        let key_dir = k
            .key_file
            .as_deref()
            .filter(|f| !f.is_empty())
            .and_then(|f| Path::new(f).parent().map(Path::to_path_buf));
        let token = k
            .bearer_token
            .as_ref()
            .map(Secret::expose_secret)
            .filter(|t| !t.is_empty());
        if key_dir.is_none() && token.is_none() {
            return Err(Error::InvalidArgument(format!(
                "runner {label:?} has neither key_file nor bearer_token: set it up first"
            )));
        }
        let program = self.program.display().to_string();
        let config_arg = format!("--config={}", config_path.display());
        // `--flag=value`: a value starting with `-` stays a value.
        let runner_arg = match &self.runner {
            RunnerSelector::Name(n) => format!("--runner={n}"),
            RunnerSelector::Index(i) => format!("--runner-index={i}"),
        };
        let mut exec = vec![
            program.clone(),
            "renew".into(),
            config_arg.clone(),
            runner_arg,
        ];
        match &self.signer {
            RenewSigner::Kubeconfig {
                path,
                context,
                approve,
                wait,
            } => {
                exec.push(format!("--kubeconfig={}", absolute(path)?.display()));
                if let Some(c) = context {
                    exec.push(format!("--context={c}"));
                }
                if *approve {
                    exec.push("--approve".into());
                }
                exec.push(format!("--wait={wait}"));
            }
            _ if key_dir.is_none() => {
                return Err(Error::InvalidArgument(format!(
                    "runner {label:?} authenticates with a bearer token: its renewal needs a kubeconfig (an identity that may create serviceaccounts/token), not a CA"
                )));
            }
            RenewSigner::CaDir(dir) => {
                exec.push(format!("--ca-dir={}", absolute(dir)?.display()));
            }
            RenewSigner::CaFiles { cert, key } => exec.extend([
                format!("--ca-cert={}", absolute(cert)?.display()),
                format!("--ca-key={}", absolute(key)?.display()),
            ]),
        }
        if let Some(p) = &self.ca_passphrase_file {
            exec.push(format!("--ca-passphrase-file={}", absolute(p)?.display()));
        }
        if let Some(policy) = &self.policy {
            exec.push(format!("--renew-at={}", policy.at));
            if let Some(before) = policy.before {
                exec.push(format!("--renew-before={}", duration_arg(before)));
            }
        }
        // A token runner's account, pinned in the unit: a token later written
        // into config.toml for another account is not renewed.
        if key_dir.is_none()
            && let Some(account) = token
                .and_then(TokenClaims::read)
                .and_then(|c| c.service_account)
        {
            exec.push(format!("--expect-service-account={account}"));
        }
        // gitlab-runner's check: every runner of this config.toml, stopping
        // it only when none could work.
        let check = vec![
            program.clone(),
            "status".into(),
            config_arg.clone(),
            "--pre-start".into(),
        ];
        let config_dir = config_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| "/".into());
        let mut writable = vec![config_dir];
        if let Some(dir) = key_dir {
            let dir = std::path::absolute(&dir).unwrap_or(dir);
            if !writable.contains(&dir) {
                writable.push(dir);
            }
        }
        let mut metrics = Vec::new();
        if let Some(target) = &self.prometheus {
            let file = absolute(&crate::status::prometheus_textfile(target)?)?;
            if let Some(dir) = file.parent().map(Path::to_path_buf)
                && !writable.contains(&dir)
            {
                writable.push(dir);
            }
            metrics = vec![
                program,
                "status".into(),
                config_arg,
                format!("--prometheus={}", file.display()),
                "-q".into(),
            ];
        }
        let mut units = RenewUnits::new(instance, exec, check, writable);
        units.metrics = metrics;
        Ok(units)
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|source| Error::Io {
        path: p.to_path_buf(),
        source,
    })
}

/// A duration as `renew --renew-before` reads it, in its largest whole unit.
fn duration_arg(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "[[runners]]\n  name = \"k8s\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"https://h:6443\"\n    cert_file = \"/etc/ssl/kubernetes/k8s.crt\"\n    key_file = \"/etc/ssl/kubernetes/k8s.key\"\n\
        [[runners]]\n  name = \"tok\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"https://h:6443\"\n    bearer_token = \"opaque\"\n\
        [[runners]]\n  name = \"shell\"\n  executor = \"shell\"\n";

    fn plan(runner: RunnerSelector, signer: RenewSigner) -> RenewUnitPlan {
        RenewUnitPlan::new(
            "/etc/gitlab-runner/config.toml",
            runner,
            "/usr/bin/runnerkey",
            signer,
        )
    }

    #[test]
    fn the_renewal_command_the_paths_and_the_check() {
        let config = RunnerConfig::parse(CONFIG).unwrap();
        let mut p = plan(
            RunnerSelector::Index(0),
            RenewSigner::CaDir("/etc/kubernetes/pki".into()),
        );
        let units = p.units(&config).unwrap();
        assert_eq!(units.runner, "k8s");
        assert_eq!(
            units.exec,
            [
                "/usr/bin/runnerkey",
                "renew",
                "--config=/etc/gitlab-runner/config.toml",
                "--runner-index=0",
                "--ca-dir=/etc/kubernetes/pki"
            ]
        );
        assert_eq!(
            units.check,
            [
                "/usr/bin/runnerkey",
                "status",
                "--config=/etc/gitlab-runner/config.toml",
                "--pre-start"
            ]
        );
        assert_eq!(
            units.writable,
            [
                PathBuf::from("/etc/gitlab-runner"),
                "/etc/ssl/kubernetes".into()
            ]
        );
        // The policy only when one is given; a duration in its largest unit.
        p.policy = Some(RenewalPolicy {
            before: Some(Duration::from_secs(30 * 86_400)),
            ..RenewalPolicy::at(0.75).unwrap()
        });
        let exec = p.units(&config).unwrap().exec;
        assert_eq!(exec[5..], ["--renew-at=0.75", "--renew-before=30d"]);
        assert_eq!(duration_arg(Duration::from_secs(5400)), "90m");
        // The metrics after every attempt, in a textfile directory that exists.
        let tmp = tempfile::tempdir().unwrap();
        p.prometheus = Some(tmp.path().into());
        let units = p.units(&config).unwrap();
        let file = tmp.path().join("runnerkey.prom");
        assert_eq!(
            units.metrics,
            [
                "/usr/bin/runnerkey".to_string(),
                "status".into(),
                "--config=/etc/gitlab-runner/config.toml".into(),
                format!("--prometheus={}", file.display()),
                "-q".into()
            ]
        );
        assert_eq!(units.writable.last().unwrap(), tmp.path());
        assert!(
            units
                .instance_dropin()
                .unwrap()
                .contains("\nExecStopPost=-/usr/bin/runnerkey status ")
        );
        p.prometheus = Some(tmp.path().join("missing/x.prom"));
        assert!(matches!(
            p.units(&config),
            Err(crate::Error::InvalidArgument { .. })
        ));
    }

    #[test]
    fn same_names_tokens_without_a_kubeconfig_and_control_characters_are_refused() {
        let config = RunnerConfig::parse(CONFIG).unwrap();
        let ca = RenewSigner::CaDir("/pki".into());
        let twice = RunnerConfig::parse(CONFIG.replace("\"tok\"", "\"k8s\"")).unwrap();
        let by_index = plan(RunnerSelector::Index(0), ca.clone());
        assert!(
            matches!(
                by_index.units(&twice),
                Err(crate::Error::InvalidArgument { .. })
            ),
            "two runners named k8s"
        );
        let mut other = plan(RunnerSelector::Index(0), ca.clone());
        other.instance = Some("shell".into());
        assert!(
            matches!(
                other.units(&config),
                Err(crate::Error::InvalidArgument { .. })
            ),
            "the name of another runner"
        );
        other.instance = Some("k8s-0".into());
        assert_eq!(other.units(&config).unwrap().runner, "k8s-0");
        let token = plan(RunnerSelector::Index(1), ca.clone());
        assert!(
            matches!(token.units(&config), Err(Error::InvalidArgument(m)) if m.contains("bearer token"))
        );
        let kube = plan(
            RunnerSelector::Index(1),
            RenewSigner::Kubeconfig {
                path: "/root/admin.conf".into(),
                context: None,
                approve: false,
                wait: "5m".into(),
            },
        );
        let units = kube.units(&config).unwrap();
        assert_eq!(
            units.exec[4..],
            ["--kubeconfig=/root/admin.conf", "--wait=5m"]
        );
        assert_eq!(units.writable, [PathBuf::from("/etc/gitlab-runner")]);
        let shell = plan(RunnerSelector::Index(2), ca.clone());
        assert!(
            matches!(
                shell.units(&config),
                Err(crate::Error::InvalidArgument { .. })
            ),
            "nothing to renew"
        );
        let evil = RunnerConfig::parse(CONFIG.replace("k8s.key", "k8s\\n.key")).unwrap();
        assert!(matches!(
            plan(RunnerSelector::Index(0), ca).units(&evil),
            Err(crate::Error::InvalidArgument { .. })
        ));
    }
}
