//! The core's next steps as the command lines that do them.

use runnerkey::runner_config::RunnerSelector;
use runnerkey::{NextStep, RbacFor};

/// `step` as a command line (or a short instruction where no single
/// command does it).
pub fn command(step: &NextStep) -> String {
    match step {
        NextStep::ApplyProfile {
            subject,
            profile,
            namespace,
        } => {
            let who = match subject {
                RbacFor::User { name } => format!("--user {name}"),
                RbacFor::ServiceAccount { namespace, name } => {
                    format!("--service-account {namespace}/{name}")
                }
                RbacFor::Unknown => "--service-account NS/NAME".into(),
            };
            let ns = namespace
                .as_ref()
                .map(|n| format!(" --namespace {n}"))
                .unwrap_or_default();
            format!("runnerkey rbac {who} --profile {profile}{ns} | kubectl apply -f -")
        }
        NextStep::DeleteBindings { bindings } => runnerkey::delete_command(bindings),
        NextStep::ApplyFile { file } => {
            format!(
                "kubectl apply -f {}   (on the cluster, as an admin)",
                file.display()
            )
        }
        NextStep::IssueCertificate { renew } => format!(
            "runnerkey issue --ca-dir /etc/kubernetes/pki --user USER --out-dir DIR{}   (or runnerkey setup again)",
            if *renew { " --force" } else { "" }
        ),
        NextStep::SetRunnerKeys { runner, keys } => {
            let runner = runner
                .as_ref()
                .map(|r| format!("--runner {r}"))
                .unwrap_or_else(|| "--runner-index N".into());
            let keys: Vec<String> = keys
                .iter()
                .map(|(k, v)| format!("--{} {v}", k.replace('_', "-")))
                .collect();
            format!("runnerkey runner-config set {runner} {}", keys.join(" "))
        }
        NextStep::CheckOnline { config, runner } => {
            let pick = runner_flag(runner);
            format!(
                "runnerkey doctor --online --config {} {pick}",
                config.display()
            )
        }
        NextStep::TryKubeconfig { kubeconfig } => {
            format!("kubectl --kubeconfig {} version", kubeconfig.display())
        }
        NextStep::CheckAccessByHand { impersonate } => match impersonate {
            Some(who) => format!("kubectl auth can-i --list --as {who}   (as an admin)"),
            None => "kubectl auth can-i --list".into(),
        },
        NextStep::SignCsr { csr, certificate } => format!(
            "either, on the control plane: runnerkey csr sign {} --ca-dir /etc/kubernetes/pki --out {certificate}, then copy {certificate} and /etc/kubernetes/pki/ca.crt back",
            csr.display()
        ),
        NextStep::SubmitCsrObject { manifest, name } => format!(
            "or, with kubectl as an admin: kubectl apply -f {} && kubectl certificate approve {name} && kubectl get csr {name} -o json > {name}.json",
            manifest.display()
        ),
        NextStep::CompleteSetup {
            certificate,
            csr_object,
            server,
            config,
            runner,
        } => format!(
            "then here: runnerkey setup --complete (--cert {certificate} | --k8s-csr-json {csr_object}) --ca-cert ca.crt --server {server} --config {} --runner {runner} …",
            config.display()
        ),
        NextStep::InstallFiles { from, to, config } => format!(
            "copy to the runner host: rsync -a {}/ RUNNER:{}/ (-a keeps the links; scp -r works too), and {} to /etc/gitlab-runner/config.toml",
            from.display(),
            to.display(),
            config.display()
        ),
        _ => format!("{step:?}"),
    }
}

/// `--runner NAME` or `--runner-index N`, for a shell.
pub(crate) fn runner_flag(runner: &RunnerSelector) -> String {
    match runner {
        RunnerSelector::Name(name) => format!("--runner {}", sh(name)),
        RunnerSelector::Index(i) => format!("--runner-index {i}"),
    }
}

/// A word for a POSIX shell: single-quoted unless it is plain.
pub(crate) fn sh(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
