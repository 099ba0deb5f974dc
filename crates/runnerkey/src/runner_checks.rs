//! The checks of `runner-config lint` that go beyond the config's own
//! rules: the runner's files (readable, absolute, the certificate judged as
//! the API server would and its risks, the key's mode and owner, CA keys and
//! writable directories around them), its bearer token's claims and its
//! host as the HTTP client parses it. They are a module of their own,
//! which doctor runs too, so that `runner_config` depends neither on PKI
//! verification nor on the HTTP client (and `lint` needs neither the
//! `client` feature nor doctor).

use std::path::Path;

use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::code::Code;
use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::key::PrivateKey;
use crate::next_step::NextStep;
use crate::runner_config::host_audit::{self, HostRisk};
use crate::runner_config::lint::{Finding, LintOptions, Linter, RunnerChecks};
use crate::runner_config::{KubernetesSettings, RunnerConfig};
use crate::secret::Secret;
use crate::severity::Severity;
use crate::verify::{key_file_problems, verify_client_chain};

impl RunnerConfig {
    /// Lints the config (see [`crate::runner_config::lint`]); findings in
    /// file order per kind, errors first.
    pub fn lint(&self, options: &LintOptions) -> Result<Vec<Finding>> {
        self.lint_with(options, &FileChecks)
    }
}

/// The checks of a runner's host, files and token.
struct FileChecks;

impl RunnerChecks for FileChecks {
    fn host(&self, linter: &mut Linter, runner: &str, host: &str, at: Option<usize>) {
        match Endpoint::parse(host) {
            Err(e) => linter.add(Code::BadHost, Severity::Error, Some(runner), Some("runners.kubernetes.host".into()), at,
                e.chain(), "set host to https://HOST:PORT".into()),
            Ok(e) if !e.https => linter.add(Code::InsecureHost, Severity::Error, Some(runner), Some("runners.kubernetes.host".into()), at,
                format!("host {host:?} is plain http: credentials and job secrets travel in clear, and client certificates are never sent"),
                "use the API server's https:// URL".into()),
            Ok(e) if e.scheme_missing => linter.add(Code::HostWithoutScheme, Severity::Warning, Some(runner), Some("runners.kubernetes.host".into()), at,
                if host.contains(':') {
                    format!("host {host:?} has no scheme: client-go assumes https only because TLS files are set")
                } else {
                    format!("host {host:?} has no scheme and no port: client-go then uses https on port 443, not kube-apiserver's usual 6443")
                },
                format!("write it in full: https://{}:{}", e.host, if host.contains(':') { e.port } else { 6443 })),
            Ok(_) => {}
        }
    }

    fn files(
        &self,
        linter: &mut Linter,
        runner: &str,
        k: &KubernetesSettings,
        now: OffsetDateTime,
    ) {
        linter.file_findings(runner, k, now);
        linter.token_findings(runner, k, now);
    }
}

impl Linter {
    /// A bearer token whose own claims say it has ended (or has not begun):
    /// the API server refuses it, so doctor says so offline too — as
    /// `status` does, from the same claims.
    pub(super) fn token_findings(
        &mut self,
        runner: &str,
        k: &KubernetesSettings,
        now: OffsetDateTime,
    ) {
        let Some(token) = k
            .bearer_token
            .as_ref()
            .map(Secret::expose_secret)
            .filter(|t| !t.is_empty())
        else {
            return;
        };
        if k.cert_file.as_deref().is_some_and(|c| !c.is_empty()) {
            return;
        }
        let Some(claims) = crate::bearer_token::TokenClaims::read(token) else {
            return;
        };
        if let Some(end) = claims.expires_at.filter(|end| *end <= now) {
            self.add(
                Code::BearerTokenExpired,
                Severity::Error,
                Some(runner),
                Some("runners.kubernetes.bearer_token".into()),
                None,
                format!(
                    "bearer_token ({}) expired at {}",
                    claims.subject.as_deref().unwrap_or("a token"),
                    crate::lifetime::rfc3339(end)
                ),
                "issue a new token for the service account (renew it through the TokenRequest API)"
                    .into(),
            );
        }
    }

    fn file_findings(&mut self, runner: &str, k: &KubernetesSettings, now: OffsetDateTime) {
        let fields = [
            ("cert_file", &k.cert_file),
            ("key_file", &k.key_file),
            ("ca_file", &k.ca_file),
        ];
        let readable = |this: &mut Self, key: &str, p: &str| -> bool {
            let path = Path::new(p);
            if !path.is_absolute() {
                this.add(
                    Code::RelativePath,
                    Severity::Error,
                    Some(runner),
                    Some(format!("runners.kubernetes.{key}")),
                    None,
                    format!("{key} = {p:?} is relative: it is resolved against the runner's working directory"),
                    format!("use an absolute path for {key}"),
                );
                return false;
            }
            match std::fs::File::open(path) {
                Ok(_) => true,
                Err(e) => {
                    let code = if e.kind() == std::io::ErrorKind::NotFound {
                        Code::FileMissing
                    } else {
                        Code::FileUnreadable
                    };
                    this.add(
                        code,
                        Severity::Error,
                        Some(runner),
                        Some(format!("runners.kubernetes.{key}")),
                        None,
                        format!("{key} {p}: {e}"),
                        format!("create {p}, or fix the path"),
                    );
                    false
                }
            }
        };
        let mut ok = [false; 3];
        for (i, (key, value)) in fields.iter().enumerate() {
            if let Some(p) = value.as_deref().filter(|p| !p.is_empty()) {
                ok[i] = readable(self, key, p);
            }
        }
        let chain = if ok[0] {
            self.load(runner, "cert_file", || {
                Certificate::load_all(Path::new(k.cert_file.as_deref().unwrap_or_default()))
            })
        } else {
            None
        };
        let key = if ok[1] {
            self.load(runner, "key_file", || {
                PrivateKey::load(Path::new(k.key_file.as_deref().unwrap_or_default()), None)
            })
        } else {
            None
        };
        let cas = if ok[2] {
            self.load(runner, "ca_file", || {
                Certificate::load_all(Path::new(k.ca_file.as_deref().unwrap_or_default()))
            })
        } else {
            None
        };
        if ok[1] {
            let p = Path::new(k.key_file.as_deref().unwrap_or_default());
            for problem in key_file_problems(p, self.owner) {
                let fix = match problem.code {
                    Code::KeyFilePermissions => format!("chmod 600 {}", p.display()),
                    _ => format!(
                        "chown the key to the runner's user: chown {} {}",
                        self.owner.unwrap_or(0),
                        p.display()
                    ),
                };
                self.add(
                    problem.code,
                    problem.severity,
                    Some(runner),
                    Some("runners.kubernetes.key_file".into()),
                    None,
                    problem.message,
                    fix,
                );
            }
        }
        let files: Vec<&Path> = [&k.cert_file, &k.key_file, &k.ca_file]
            .iter()
            .filter_map(|v| v.as_deref().filter(|p| !p.is_empty()).map(Path::new))
            .filter(|p| p.is_absolute())
            .collect();
        for risk in host_audit::audit(&files, cas.as_deref().unwrap_or(&[])) {
            let (code, severity, message, fix) = match risk {
                HostRisk::CaKey { path, why } => (
                    Code::CaKeyOnRunnerHost,
                    Severity::Error,
                    format!("{} is a CA private key on the runner host ({why}): whoever reads it can mint any identity, cluster-admin included", path.display()),
                    format!("delete {} here: the CA key belongs on the control plane only", path.display()),
                ),
                HostRisk::SerialFile { path } => (
                    Code::CaSerialFile,
                    Severity::Warning,
                    format!("{} is an OpenSSL CA serial file: certificates were signed with the CA key on this host", path.display()),
                    "make sure no copy of the CA key is left on this host, then delete the serial file".to_string(),
                ),
                HostRisk::WritableDirectory { path, mode, below } => (
                    Code::WritableDirectory,
                    Severity::Warning,
                    format!("{} (mode {mode:o}) on the way to {} is writable by group or others: they can swap the runner's files", path.display(), below.display()),
                    format!("chmod go-w {}", path.display()),
                ),
            };
            self.add(code, severity, Some(runner), None, None, message, fix);
        }
        let Some(chain) = chain.filter(|c| !c.is_empty()) else {
            return;
        };
        let cert = chain[0].clone();
        let report = verify_client_chain(
            cas.as_deref().unwrap_or(&[]),
            &chain,
            key.as_ref(),
            Some(now),
        );
        for p in &report.problems {
            let Some((code, severity, key, fix)) = client_finding(p.code, cas.is_some()) else {
                continue;
            };
            self.add(
                code,
                severity,
                Some(runner),
                Some(format!("runners.kubernetes.{key}")),
                None,
                format!("{}: {}", cert.subject(), p.message),
                fix,
            );
            if code == Code::CertExpired {
                self.then(NextStep::IssueCertificate { renew: true });
            }
        }
        // Due by the policy renewal and status use: what doctor calls
        // expiring, renew renews and status marks due.
        let policy = crate::renewal::RenewalPolicy::default();
        if policy.is_due(&cert, now) && now <= cert.not_after() {
            let left = cert.days_left(now);
            self.add(
                Code::CertExpiring,
                Severity::Warning,
                Some(runner),
                Some("runners.kubernetes.cert_file".into()),
                None,
                format!(
                    "{} is due for renewal since {} ({left} days left)",
                    cert.subject(),
                    crate::lifetime::rfc3339(policy.due_at(&cert))
                ),
                "renew it now".into(),
            );
            self.then(NextStep::IssueCertificate { renew: true });
        }
    }

    fn load<T>(&mut self, runner: &str, key: &str, f: impl FnOnce() -> Result<T>) -> Option<T> {
        match f() {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(
                    Code::FileInvalid,
                    Severity::Error,
                    Some(runner),
                    Some(format!("runners.kubernetes.{key}")),
                    None,
                    e.chain(),
                    format!("put a valid PEM file at {key}"),
                );
                None
            }
        }
    }
}

/// The finding a problem `verify` found with a runner's client certificate
/// becomes: its code, severity, the config key it concerns and the fix.
/// `None` for a trust problem when no CA is known to judge it by.
pub(crate) fn client_finding(
    code: Code,
    cas_known: bool,
) -> Option<(Code, Severity, &'static str, String)> {
    Some(match code {
        Code::KeyMismatch => (
            Code::KeyMismatch,
            Severity::Error,
            "key_file",
            "point key_file at the key the certificate was issued for, or re-issue"
                .to_string(),
        ),
        Code::Expired => (
            Code::CertExpired,
            Severity::Error,
            "cert_file",
            "renew the certificate".to_string(),
        ),
        Code::NotYetValid => (
            Code::CertNotYetValid,
            Severity::Error,
            "cert_file",
            "check the clocks, or wait".to_string(),
        ),
        Code::IsCa => (
            Code::ClientCertIsCa,
            Severity::Error,
            "cert_file",
            "issue a client certificate (CA:FALSE) for the runner".to_string(),
        ),
        Code::SystemMasters => (
            Code::SystemMasters,
            Severity::Error,
            "cert_file",
            "issue a certificate without group system:masters and bind least-privilege RBAC to the user".to_string(),
        ),
        Code::SystemGroup => (
            Code::SystemGroup,
            Severity::Warning,
            "cert_file",
            "issue a certificate without reserved system: groups".to_string(),
        ),
        Code::AmbiguousSubject => (
            Code::AmbiguousSubject,
            Severity::Error,
            "cert_file",
            "issue a certificate whose subject has exactly one CN and plain names".to_string(),
        ),
        Code::LongValidity => (
            Code::LongValidity,
            Severity::Warning,
            "cert_file",
            "re-issue with a lifetime of a year or less, and renew it".to_string(),
        ),
        Code::V1Certificate => (
            Code::V1Certificate,
            Severity::Warning,
            "cert_file",
            "re-issue it as an X.509 v3 client certificate".to_string(),
        ),
        Code::UnsupportedKey => (
            Code::UnsupportedKey,
            Severity::Error,
            "cert_file",
            "issue a certificate for an RSA, ECDSA P-256/P-384/P-521 or Ed25519 key".to_string(),
        ),
        _ if !cas_known => return None,
        _ => (
            Code::CertNotTrusted,
            Severity::Error,
            "cert_file",
            "issue the certificate from the cluster CA that ca_file holds".to_string(),
        ),
    })
}
