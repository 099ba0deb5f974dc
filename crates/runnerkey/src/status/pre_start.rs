//! gitlab-runner's pre-start check: one runner's unusable identity never
//! stops the others. gitlab-runner runs every runner of config.toml in one
//! service, so the check stops it only when no runner could work — every
//! runner is a kubernetes runner whose identity is unusable — and otherwise
//! lets it start, naming each unusable runner and how to recover it.

use serde::Serialize;

use super::{Credential, RunnerStatus, StatusReport};

/// How an unusable identity is recovered: the same identity issued anew,
/// by someone who need not authenticate as the runner (its own credential
/// cannot vouch for anything any more).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Recovery {
    /// A client certificate: renew it now, whatever the policy says, with
    /// the cluster CA or through the CSR API with an admin's kubeconfig
    /// that may approve; the pinned identity is issued again with a new key.
    ReissueCertificate,
    /// A service account token: request a new one for the same account
    /// with an admin's kubeconfig (setup with token authentication again),
    /// since an expired token cannot vouch for the account it names.
    NewToken,
}

/// A runner whose identity cannot authenticate.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Unusable {
    /// Its name (`#INDEX` when it has none).
    pub runner: String,
    /// Its 0-based position among `[[runners]]`.
    pub index: usize,
    /// Why.
    pub reason: String,
    /// How to recover it.
    pub recovery: Recovery,
}

/// What the pre-start check decided.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct PreStart {
    /// Whether gitlab-runner should start: there is no runner, or one
    /// that is not a kubernetes runner, or one whose identity is usable.
    pub start: bool,
    /// The runners whose identity is unusable.
    pub unusable: Vec<Unusable>,
}

impl RunnerStatus {
    /// Whether its credential cannot authenticate: expired, unreadable,
    /// or not matching its key.
    pub fn unusable(&self) -> bool {
        self.expired || self.problem.is_some()
    }

    /// How to recover an unusable identity (`None` while it is usable, or
    /// for in-cluster credentials or none, which runnerkey does not issue).
    pub fn recovery(&self) -> Option<Recovery> {
        if !self.unusable() {
            return None;
        }
        match self.credential {
            Credential::ClientCertificate => Some(Recovery::ReissueCertificate),
            Credential::BearerToken => Some(Recovery::NewToken),
            Credential::InCluster | Credential::None => None,
        }
    }

    /// Why it cannot authenticate (`None` while it can).
    pub fn unusable_reason(&self) -> Option<String> {
        match (&self.problem, &self.not_after) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(end)) if self.expired => Some(format!(
                "its credential expired on {}",
                crate::lifetime::rfc3339(*end)
            )),
            (None, None) if self.expired => Some("its credential expired".into()),
            _ => None,
        }
    }
}

impl StatusReport {
    /// The pre-start check of a report on every runner of config.toml.
    pub fn pre_start(&self) -> PreStart {
        let unusable: Vec<Unusable> = self
            .runners
            .iter()
            .filter_map(|r| {
                Some(Unusable {
                    runner: r.runner.clone(),
                    index: r.index,
                    reason: r.unusable_reason()?,
                    recovery: r.recovery()?,
                })
            })
            .collect();
        let all_unusable = self.runners.iter().all(RunnerStatus::unusable);
        let only_kubernetes = self.runners_in_config == self.runners.len();
        PreStart {
            start: self.runners_in_config == 0 || !(only_kubernetes && all_unusable),
            unusable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::CaParams;
    use crate::runner_config::RunnerConfig;
    use crate::status::StatusParams;
    use crate::{CertificateAuthority, ClientFiles, EnsureParams, Identity, KeyAlgorithm};

    #[test]
    fn an_expired_runner_stops_gitlab_runner_only_when_no_runner_could_work() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::generate(&CaParams {
            algorithm: KeyAlgorithm::EcdsaP256,
            ..CaParams::default()
        })
        .unwrap();
        let files = ClientFiles::in_dir(tmp.path(), "k").unwrap();
        EnsureParams::new(Identity::new("gitlab-runner:k", ["ci"]).unwrap())
            .run(&ca, &files)
            .unwrap();
        let k8s = format!(
            "[[runners]]\n  name = \"k8s\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"https://h:6443\"\n    cert_file = \"{}\"\n    key_file = \"{}\"\n",
            files.cert_file.display(),
            files.key_file.display()
        );
        let docker = "[[runners]]\n  name = \"docker\"\n  executor = \"docker\"\n";
        let later = StatusParams {
            now: Some(time::OffsetDateTime::now_utc() + time::Duration::days(400)),
            ..StatusParams::default()
        };
        let judge = |text: &str, params: &StatusParams| {
            params
                .run(&RunnerConfig::parse(text).unwrap())
                .unwrap()
                .pre_start()
        };
        // Expired, beside a docker runner: gitlab-runner starts, and says.
        let both = judge(&format!("{k8s}{docker}"), &later);
        assert!(both.start);
        assert_eq!(both.unusable.len(), 1);
        assert_eq!(both.unusable[0].runner, "k8s");
        assert_eq!(both.unusable[0].recovery, Recovery::ReissueCertificate);
        assert!(both.unusable[0].reason.contains("expired on"));
        // Expired and alone: nothing could work.
        let alone = judge(&k8s, &later);
        assert!(!alone.start && alone.unusable.len() == 1);
        // Valid: starts, nothing to say.
        let now = judge(&k8s, &StatusParams::default());
        assert!(now.start && now.unusable.is_empty());
        // No runner at all, or a docker runner only: starts.
        assert!(judge("", &later).start);
        assert!(judge(docker, &later).start);
    }
}
