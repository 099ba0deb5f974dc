//! `status`: where each runner's identity stands — how it authenticates,
//! who it is, until when, and whether it is due for renewal by the
//! [`RenewalPolicy`] that renewal uses — as data, and as a Prometheus text
//! file for node_exporter's textfile collector.

use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;

use crate::bearer_token::TokenClaims;
use crate::cert::Certificate;
use crate::error::Result;
use crate::key::PrivateKey;
use crate::lifetime::rfc3339;
use crate::renewal::RenewalPolicy;
use crate::renewal_record::RenewalRecord;
use crate::runner_config::{KubernetesSettings, RunnerConfig, RunnerInfo, RunnerSelector};

/// What to report on.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct StatusParams {
    /// One runner (every kubernetes runner when `None`).
    pub runner: Option<RunnerSelector>,
    /// When certificates are due for renewal.
    pub policy: RenewalPolicy,
    /// The time to judge at (now when `None`).
    pub now: Option<OffsetDateTime>,
}

/// How a runner authenticates to the API server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Credential {
    /// `cert_file` and `key_file`.
    ClientCertificate,
    /// `bearer_token` (a TokenRequest token states its lifetime).
    BearerToken,
    /// `host` is empty: in-cluster credentials.
    InCluster,
    /// Nothing.
    None,
}

/// One runner's identity.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct RunnerStatus {
    /// Its name (`#INDEX` when it has none).
    pub runner: String,
    /// Its 0-based position among `[[runners]]`.
    pub index: usize,
    /// The selector that names it (its name, or its index without one).
    pub selector: crate::runner_config::RunnerSelector,
    /// How it authenticates.
    pub credential: Credential,
    /// The certificate's user.
    pub user: Option<String>,
    /// The certificate's groups.
    pub groups: Vec<String>,
    /// `cert_file`.
    pub cert_file: Option<String>,
    /// The certificate's notBefore (RFC 3339).
    #[serde(with = "crate::lifetime::serde_rfc3339::option")]
    pub not_before: Option<OffsetDateTime>,
    /// The certificate's notAfter (RFC 3339).
    #[serde(with = "crate::lifetime::serde_rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// When it is due for renewal (RFC 3339).
    #[serde(with = "crate::lifetime::serde_rfc3339::option")]
    pub renew_at: Option<OffsetDateTime>,
    /// Seconds until notAfter (negative once expired).
    pub seconds_left: Option<i64>,
    /// The fraction of its lifetime that has passed.
    pub elapsed: Option<f64>,
    /// Due for renewal now.
    pub renewal_due: bool,
    /// Past notAfter.
    pub expired: bool,
    /// Why the credential cannot be judged or used (unreadable certificate,
    /// a key that does not match it).
    pub problem: Option<String>,
    /// The last renewal attempt, as `renew` recorded it.
    pub last_renewal: Option<RenewalRecord>,
    #[serde(skip)]
    times: Option<Times>,
}

impl RunnerStatus {
    /// Nothing to do: a readable, unexpired credential not due for renewal.
    pub fn ok(&self) -> bool {
        self.problem.is_none() && !self.expired && !self.renewal_due
    }
}

/// Every runner's identity.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct StatusReport {
    /// When this was judged (RFC 3339).
    #[serde(with = "crate::lifetime::serde_rfc3339")]
    pub generated_at: OffsetDateTime,
    /// One entry per runner.
    pub runners: Vec<RunnerStatus>,
    #[serde(skip)]
    now: i64,
    /// How many `[[runners]]` config.toml holds, kubernetes or not.
    #[serde(skip)]
    runners_in_config: usize,
}

impl StatusParams {
    /// The status of the kubernetes runners of `config` (or the one asked
    /// for).
    pub fn run(&self, config: &RunnerConfig) -> Result<StatusReport> {
        let now = self.now.unwrap_or_else(OffsetDateTime::now_utc);
        let records = config
            .file_path()
            .map(crate::renewal_record::load)
            .unwrap_or_default();
        let runners = config.runners()?;
        let chosen: Vec<&RunnerInfo> = match &self.runner {
            Some(s) => {
                let i = config.select(s)?;
                runners.iter().filter(|r| r.index == i).collect()
            }
            None => runners
                .iter()
                .filter(|r| r.executor.as_deref() == Some("kubernetes") || r.kubernetes.is_some())
                .collect(),
        };
        // A name two runners share selects neither: those are named by index.
        let shared = |name: &Option<String>| {
            name.is_some() && runners.iter().filter(|o| o.name == *name).count() > 1
        };
        Ok(StatusReport {
            generated_at: now,
            runners: chosen
                .into_iter()
                .map(|r| {
                    let mut s = self.runner(r, now);
                    if shared(&r.name) {
                        s.selector = crate::runner_config::RunnerSelector::Index(r.index);
                    }
                    s.last_renewal = records.get(&s.runner).cloned();
                    s
                })
                .collect(),
            now: now.unix_timestamp(),
            runners_in_config: runners.len(),
        })
    }

    fn runner(&self, r: &RunnerInfo, now: OffsetDateTime) -> RunnerStatus {
        let empty = KubernetesSettings::default();
        let k = r.kubernetes.as_ref().unwrap_or(&empty);
        let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let mut s = RunnerStatus {
            runner: r.name.clone().unwrap_or_else(|| format!("#{}", r.index)),
            selector: r.selector(),
            index: r.index,
            credential: Credential::None,
            user: None,
            groups: Vec::new(),
            cert_file: set(&k.cert_file),
            not_before: None,
            not_after: None,
            renew_at: None,
            seconds_left: None,
            elapsed: None,
            renewal_due: false,
            expired: false,
            problem: None,
            last_renewal: None,
            times: None,
        };
        s.credential = match (
            set(&k.host),
            &s.cert_file,
            k.bearer_token.as_ref().filter(|t| !t.is_empty()),
        ) {
            (None, _, _) => Credential::InCluster,
            (_, Some(_), _) => Credential::ClientCertificate,
            (_, None, Some(_)) => Credential::BearerToken,
            _ => Credential::None,
        };
        let Some(cert_file) = s.cert_file.clone() else {
            if s.credential == Credential::BearerToken
                && let Some(token) = k.bearer_token.as_ref().filter(|t| !t.is_empty())
            {
                self.token(&mut s, token.expose_secret(), now);
            }
            return s;
        };
        let cert = match Certificate::load_all(Path::new(&cert_file)) {
            Ok(chain) if !chain.is_empty() => chain[0].clone(),
            Ok(_) => {
                s.problem = Some(format!("{cert_file}: no certificate"));
                return s;
            }
            Err(e) => {
                s.problem = Some(e.chain());
                return s;
            }
        };
        match set(&k.key_file).map(|p| PrivateKey::load(Path::new(&p), None)) {
            Some(Ok(key)) if !key.matches(&cert.public_key()) => {
                s.problem = Some(format!(
                    "the key_file does not belong to {cert_file}: the runner cannot authenticate"
                ));
            }
            Some(Err(e)) => s.problem = Some(e.chain()),
            None => s.problem = Some("no key_file".into()),
            Some(Ok(_)) => {}
        }
        match set(&k.ca_file).map(|p| Certificate::load_all(Path::new(&p))) {
            None => {}
            Some(Err(e)) => {
                s.problem.get_or_insert(e.chain());
            }
            Some(Ok(cas)) => {
                if let Some(ca) = cas.iter().find(|c| c.subject() == cert.issuer())
                    && ca.not_after() < cert.not_after()
                {
                    s.problem.get_or_insert_with(|| {
                        format!(
                            "the CA {} ends on {}, before the certificate: renew the CA",
                            ca.subject(),
                            rfc3339(ca.not_after())
                        )
                    });
                }
            }
        }
        let id = cert.subject_reading();
        s.user = Some(id.user);
        s.groups = id.groups;
        let due = self.policy.due_at(&cert);
        Self::times(&mut s, cert.not_before(), cert.not_after(), due, now);
        s
    }

    /// A bearer token's subject and, for a TokenRequest token, its times.
    fn token(&self, s: &mut RunnerStatus, token: &str, now: OffsetDateTime) {
        let Some(claims) = TokenClaims::read(token) else {
            // An opaque token: who it is and until when only the server knows.
            return;
        };
        s.user = claims.subject.clone();
        if let Some(m) = &claims.malformed {
            s.problem = Some(format!("bearer_token cannot be judged: {m}"));
            if claims.expires_at.is_some_and(|end| end <= now) {
                s.expired = true;
            }
            return;
        }
        if let Some(account) = &claims.service_account {
            s.groups = vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{}", account.namespace()),
            ];
        }
        if let (Some(end), Some(due)) = (claims.expires_at, self.policy.token_due_at(&claims)) {
            // Without iat, the lifetime is unknown: the due date stands for
            // its start.
            Self::times(s, claims.issued_at.unwrap_or(due), end, due, now);
            if claims.issued_at.is_none() {
                s.not_before = None;
                s.elapsed = None;
            }
        }
    }

    fn times(
        s: &mut RunnerStatus,
        start: OffsetDateTime,
        end: OffsetDateTime,
        due: OffsetDateTime,
        now: OffsetDateTime,
    ) {
        let life = (end - start).as_seconds_f64();
        s.not_before = Some(start);
        s.not_after = Some(end);
        s.renew_at = Some(due);
        s.seconds_left = Some((end - now).whole_seconds());
        s.elapsed = (life > 0.0).then(|| ((now - start).as_seconds_f64() / life).clamp(0.0, 1.0));
        s.renewal_due = now >= due;
        s.expired = now > end;
        s.times = Some((
            start.unix_timestamp(),
            end.unix_timestamp(),
            due.unix_timestamp(),
        ));
    }
}

impl StatusReport {
    /// Whether any runner needs something done (renewal due, expired, or a
    /// problem).
    pub fn needs_attention(&self) -> bool {
        self.runners.iter().any(|r| !r.ok())
    }
}

/// notBefore, notAfter and the renewal time, as Unix times.
type Times = (i64, i64, i64);

mod pre_start;
mod prometheus;

pub use pre_start::{PreStart, Recovery, Unusable};
pub use prometheus::{TEXTFILE_NAME, prometheus_textfile};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::CaParams;
    use crate::{CertificateAuthority, ClientFiles, EnsureParams, Identity, KeyAlgorithm};

    #[test]
    fn certificates_tokens_and_problems() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::generate(&CaParams {
            algorithm: KeyAlgorithm::EcdsaP256,
            ..CaParams::default()
        })
        .unwrap();
        let files = ClientFiles::in_dir(tmp.path(), "r").unwrap();
        EnsureParams::new(Identity::new("gitlab-runner:\"q\"", ["ci"]).unwrap())
            .run(&ca, &files)
            .unwrap();
        let other = ClientFiles::in_dir(&tmp.path().join("o"), "o").unwrap();
        EnsureParams::new(Identity::new("o", Vec::<String>::new()).unwrap())
            .run(&ca, &other)
            .unwrap();
        let text = format!(
            "[[runners]]\n  name = \"cert\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"https://h:6443\"\n    cert_file = \"{}\"\n    key_file = \"{}\"\n\
             [[runners]]\n  name = \"token\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"https://h:6443\"\n    bearer_token = \"t\"\n\
             [[runners]]\n  name = \"wrong-key\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"https://h:6443\"\n    cert_file = \"{}\"\n    key_file = \"{}\"\n\
             [[runners]]\n  name = \"shell\"\n  executor = \"shell\"\n",
            files.cert_file.display(),
            files.key_file.display(),
            files.cert_file.display(),
            other.key_file.display(),
        );
        let config = RunnerConfig::parse(text).unwrap();
        let report = StatusParams::default().run(&config).unwrap();
        // A TokenRequest token: its subject and times, read from its claims.
        let b = |s: &str| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let jwt = format!(
            "{}.{}.sig",
            b("{}"),
            b(&format!(
                r#"{{"sub":"system:serviceaccount:ci:runner","iat":{},"exp":{}}}"#,
                now - 3000,
                now + 600
            ))
        );
        let with_jwt = RunnerConfig::parse(format!(
            "[[runners]]\n  name = \"t\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"https://h:6443\"\n    bearer_token = \"{jwt}\"\n"
        ))
        .unwrap();
        let t = &StatusParams::default().run(&with_jwt).unwrap().runners[0];
        assert_eq!(t.user.as_deref(), Some("system:serviceaccount:ci:runner"));
        assert!(t.renewal_due && !t.expired && !t.ok());
        assert!((590..=600).contains(&t.seconds_left.unwrap()));
        let prom = StatusParams::default().run(&with_jwt).unwrap().prometheus();
        assert!(prom.contains(&format!(
            "runnerkey_bearer_token_expiry_timestamp_seconds{{runner=\"t\",index=\"0\",user=\"system:serviceaccount:ci:runner\"}} {}",
            now + 600
        )), "{prom}");
        assert!(prom.contains("# TYPE runnerkey_renewal_failures_total counter"));
        let names: Vec<&str> = report.runners.iter().map(|r| r.runner.as_str()).collect();
        assert_eq!(names, ["cert", "token", "wrong-key"]);
        let cert = &report.runners[0];
        assert!(cert.ok() && cert.credential == Credential::ClientCertificate);
        assert_eq!(cert.groups, ["ci"]);
        assert!(cert.elapsed.unwrap() < 0.01);
        assert_eq!(report.runners[1].credential, Credential::BearerToken);
        assert!(
            report.runners[2]
                .problem
                .as_deref()
                .unwrap()
                .contains("does not belong")
        );
        assert!(report.needs_attention());
        // A year and a day later: expired and due.
        let later = StatusParams {
            now: Some(OffsetDateTime::now_utc() + time::Duration::days(366)),
            ..StatusParams::default()
        };
        let late = later.run(&config).unwrap();
        assert!(late.runners[0].expired && late.runners[0].renewal_due);
        let prom = late.prometheus();
        assert!(prom.contains(
            "runnerkey_certificate_expired{runner=\"cert\",index=\"0\",user=\"gitlab-runner:\\\"q\\\"\"} 1"
        ), "{prom}");
        assert!(prom.contains("runnerkey_credential_ok{runner=\"token\",index=\"1\",user=\"\"} 1"));
        assert!(
            prom.contains("runnerkey_credential_ok{runner=\"wrong-key\",index=\"2\","),
            "{prom}"
        );
        assert!(prom.lines().any(
            |l| l.starts_with("runnerkey_credential_ok{runner=\"wrong-key\"") && l.ends_with(" 0")
        ));
    }
}
