//! A kubeconfig context resolved as client-go resolves it: the files of
//! `KUBECONFIG` (or `~/.kube/config`) merged, the first definition of each
//! name winning; relative paths read from the directory of the file that
//! names them; the current context or the one asked for; the cluster's
//! server and CA (data or file); the user's client certificate and key
//! (data or files) or bearer token (`token` or `tokenFile`). Exec plugins
//! and auth providers are named, not run.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::cert::Certificate;
pub use crate::error::kubeconfig::KubeconfigProblem;
use crate::error::{Error, Result};
use crate::file;
use crate::key::PrivateKey;
use crate::kubeconfig::{Cluster, Kubeconfig, User};
use crate::secret::Secret;

fn problem(source: &str, problem: KubeconfigProblem) -> Error {
    Error::Kubeconfig {
        source_name: source.to_string(),
        problem,
    }
}

/// How a context's user authenticates.
#[derive(Debug)]
#[non_exhaustive]
pub enum ContextCredentials {
    /// A client certificate (then any intermediates) and its key.
    ClientCertificate {
        /// The certificate, then intermediates.
        chain: Vec<Certificate>,
        /// Its key.
        key: Box<PrivateKey>,
        /// Where the certificate comes from (a file, or the user's data).
        source: String,
    },
    /// A bearer token.
    Token {
        /// The token.
        token: Secret,
        /// Where it comes from (`token`, or the `tokenFile`).
        source: String,
    },
    /// An exec plugin or auth provider, which runnerkey does not run.
    Plugin {
        /// What it is: `exec plugin "aws"`, `auth-provider "oidc"`.
        what: String,
    },
    /// Nothing: anonymous.
    Anonymous,
}

/// One resolved context.
#[derive(Debug)]
#[non_exhaustive]
pub struct KubeContext {
    /// The context's name.
    pub name: String,
    /// The kubeconfig file(s) it came from.
    pub source: String,
    /// The API server URL.
    pub server: String,
    /// The CA certificates to trust (empty: the system's).
    pub cas: Vec<Certificate>,
    /// Where they come from.
    pub ca_source: String,
    /// The kubeconfig turns server certificate checks off.
    pub insecure_skip_tls_verify: bool,
    /// Honour `insecure_skip_tls_verify` in the CSR and TokenRequest flows
    /// (speak to the server without checking its certificate); they refuse
    /// such a context otherwise. Never set by a kubeconfig.
    pub accept_insecure: bool,
    /// The context's namespace.
    pub namespace: Option<String>,
    /// The user's credentials.
    pub credentials: ContextCredentials,
}

impl KubeContext {
    /// A second copy (its key copied through its PEM), for a flow that
    /// needs the context again after a first client consumed it.
    pub(crate) fn try_clone(&self) -> Result<Self> {
        let credentials = match &self.credentials {
            ContextCredentials::ClientCertificate { chain, key, source } => {
                ContextCredentials::ClientCertificate {
                    chain: chain.clone(),
                    key: Box::new(PrivateKey::from_pem(key.to_pem().as_bytes(), None)?),
                    source: source.clone(),
                }
            }
            ContextCredentials::Token { token, source } => ContextCredentials::Token {
                token: token.clone(),
                source: source.clone(),
            },
            ContextCredentials::Plugin { what } => {
                ContextCredentials::Plugin { what: what.clone() }
            }
            ContextCredentials::Anonymous => ContextCredentials::Anonymous,
        };
        Ok(Self {
            name: self.name.clone(),
            source: self.source.clone(),
            server: self.server.clone(),
            cas: self.cas.clone(),
            ca_source: self.ca_source.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            accept_insecure: self.accept_insecure,
            namespace: self.namespace.clone(),
            credentials,
        })
    }

    /// Checks the runner's permissions in `namespace` instead of the
    /// context's (`kubectl -n`); it must be a namespace name.
    pub fn set_namespace(&mut self, namespace: &str) -> Result<()> {
        crate::k8s_name::check_label("namespace", namespace)?;
        self.namespace = Some(namespace.to_string());
        Ok(())
    }
}

/// The files kubectl reads: those of `KUBECONFIG` (separated by `:`), or
/// `~/.kube/config`.
pub fn default_kubeconfig_paths() -> Vec<PathBuf> {
    match std::env::var_os("KUBECONFIG") {
        Some(v) if !v.is_empty() => std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        _ => std::env::var_os("HOME")
            .map(|h| vec![Path::new(&h).join(".kube").join("config")])
            .unwrap_or_default(),
    }
}

/// Makes a relative path in the kubeconfig at `dir` absolute.
fn rebase(dir: &Path, p: &mut Option<String>) {
    if let Some(path) = p
        .as_mut()
        .filter(|p| !p.is_empty() && !Path::new(p).is_absolute())
    {
        *path = dir.join(&*path).display().to_string();
    }
}

/// Who other than this user (or root) controls the kubeconfig at `path`:
/// the owner of the file or of its directory, or `None` for "anyone" when
/// either is writable by others. `Ok(None)` when nobody else does.
fn controller(path: &Path) -> Option<Option<u32>> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    [std::fs::metadata(path), std::fs::metadata(dir)]
        .into_iter()
        .flatten()
        .find_map(|meta| file::other_control(&meta))
        .map(|other| match other {
            file::OtherControl::Owner(uid) => Some(uid),
            file::OtherControl::Writers(_) => None,
        })
}

/// A kubeconfig someone else controls is data: the files it names are read
/// now, only when they belong to that user (who could read them anyway), and
/// embedded, so that nothing later opens a path it chose.
fn embed_files(config: &mut Kubeconfig, path: &Path, by: Option<u32>) -> Result<()> {
    use base64::Engine;
    let read = |file: &str| -> Result<Vec<u8>> {
        file::read_owned_by(Path::new(file), by).map_err(|e| Error::NotOwned {
            kubeconfig: path.to_path_buf(),
            file: file.chars().take(200).collect(),
            source: Box::new(e),
        })
    };
    let b64 = |data: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(data);
    for c in &mut config.clusters {
        let cluster = &mut c.value.cluster;
        if let Some(f) = cluster
            .certificate_authority
            .take()
            .filter(|f| !f.is_empty())
            && cluster
                .certificate_authority_data
                .as_deref()
                .is_none_or(str::is_empty)
        {
            cluster.certificate_authority_data = Some(b64(read(&f)?));
        }
    }
    for u in &mut config.users {
        let user = &mut u.value.user;
        if let Some(f) = user.client_certificate.take().filter(|f| !f.is_empty())
            && user
                .client_certificate_data
                .as_deref()
                .is_none_or(str::is_empty)
        {
            user.client_certificate_data = Some(b64(read(&f)?));
        }
        if let Some(f) = user.client_key.take().filter(|f| !f.is_empty())
            && user.client_key_data.as_ref().is_none_or(Secret::is_empty)
        {
            user.client_key_data = Some(Secret::new(b64(read(&f)?)));
        }
        if let Some(f) = user.token_file.take().filter(|f| !f.is_empty())
            && user.token.as_ref().is_none_or(Secret::is_empty)
        {
            user.token = Some(Secret::new(String::from_utf8_lossy(&read(&f)?).trim()));
        }
    }
    Ok(())
}

/// Reads and merges the kubeconfig files `paths` as kubectl does: a
/// missing file among several is skipped; the first file that sets
/// `current-context` wins, and so does the first entry of each name.
pub fn load_kubeconfig(paths: &[PathBuf]) -> Result<Kubeconfig> {
    let mut merged: Option<Kubeconfig> = None;
    for path in paths {
        // A kubeconfig another user controls is read only when it is that
        // user's own file (not a link to one of root's).
        let by = controller(path);
        let read = match by {
            Some(owner) => file::read_owned_by(path, owner),
            None => file::read(path),
        };
        let text = match read {
            Ok(t) => t,
            Err(Error::Io { source, .. })
                if paths.len() > 1 && source.kind() == std::io::ErrorKind::NotFound =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut config =
            Kubeconfig::parse(&String::from_utf8_lossy(&text)).map_err(|e| e.in_file(path))?;
        let source = path.display().to_string();
        check_unique("cluster", config.clusters.iter().map(|c| &c.name), &source)?;
        check_unique("user", config.users.iter().map(|c| &c.name), &source)?;
        check_unique("context", config.contexts.iter().map(|c| &c.name), &source)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for c in &mut config.clusters {
            rebase(dir, &mut c.value.cluster.certificate_authority);
        }
        for u in &mut config.users {
            let user = &mut u.value.user;
            rebase(dir, &mut user.client_certificate);
            rebase(dir, &mut user.client_key);
            rebase(dir, &mut user.token_file);
        }
        if let Some(by) = by {
            embed_files(&mut config, path, by)?;
        }
        merged = Some(match merged {
            None => config,
            Some(mut m) => {
                if m.current_context.is_empty() {
                    m.current_context = config.current_context;
                }
                for c in config.clusters {
                    if !m.clusters.iter().any(|x| x.name == c.name) {
                        m.clusters.push(c);
                    }
                }
                for u in config.users {
                    if !m.users.iter().any(|x| x.name == u.name) {
                        m.users.push(u);
                    }
                }
                for c in config.contexts {
                    if !m.contexts.iter().any(|x| x.name == c.name) {
                        m.contexts.push(c);
                    }
                }
                m
            }
        });
    }
    merged.ok_or_else(|| {
        let source = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        problem(&source, KubeconfigProblem::NoFile)
    })
}

fn check_unique<'a>(
    kind: &'static str,
    names: impl Iterator<Item = &'a String>,
    source: &str,
) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(problem(
                source,
                KubeconfigProblem::DuplicateName {
                    kind,
                    name: name.clone(),
                },
            ));
        }
    }
    Ok(())
}

fn decode(what: &str, b64: &str) -> std::result::Result<Vec<u8>, KubeconfigProblem> {
    STANDARD
        .decode(b64.trim())
        .map_err(|e| KubeconfigProblem::BadData {
            what: what.to_string(),
            reason: format!("not base64: {e}"),
        })
}

impl Kubeconfig {
    /// The context `name`, or the current one, resolved (see the module
    /// documentation); `source` names the file(s) in messages.
    pub fn resolve_context(&self, name: Option<&str>, source: &str) -> Result<KubeContext> {
        let name = match name {
            Some(n) => n.to_string(),
            None if !self.current_context.is_empty() => self.current_context.clone(),
            None => {
                return Err(problem(
                    source,
                    KubeconfigProblem::NoCurrentContext {
                        available: self.context_names(),
                    },
                ));
            }
        };
        let context = &self
            .contexts
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                problem(
                    source,
                    KubeconfigProblem::NoContext {
                        name: name.clone(),
                        available: self.context_names(),
                    },
                )
            })?
            .value
            .context;
        let cluster = &self
            .clusters
            .iter()
            .find(|c| c.name == context.cluster)
            .ok_or_else(|| {
                problem(
                    source,
                    KubeconfigProblem::Undefined {
                        context: name.clone(),
                        kind: "cluster",
                        name: context.cluster.clone(),
                    },
                )
            })?
            .value
            .cluster;
        let user = match context.user.as_str() {
            "" => None,
            u => Some(
                &self
                    .users
                    .iter()
                    .find(|x| x.name == u)
                    .ok_or_else(|| {
                        problem(
                            source,
                            KubeconfigProblem::Undefined {
                                context: name.clone(),
                                kind: "user",
                                name: u.to_string(),
                            },
                        )
                    })?
                    .value
                    .user,
            ),
        };
        let (cas, ca_source) = cluster_cas(cluster, &context.cluster, source)?;
        Ok(KubeContext {
            name: name.clone(),
            source: source.to_string(),
            server: cluster.server.clone(),
            cas,
            ca_source,
            insecure_skip_tls_verify: cluster.insecure_skip_tls_verify == Some(true),
            accept_insecure: false,
            namespace: context.namespace.clone().filter(|n| !n.is_empty()),
            credentials: match user {
                Some(u) => credentials(u, &context.user, source)?,
                None => ContextCredentials::Anonymous,
            },
        })
    }

    fn context_names(&self) -> Vec<String> {
        self.contexts.iter().map(|c| c.name.clone()).collect()
    }
}

mod credentials;
mod in_cluster;

use credentials::{cluster_cas, credentials};
#[cfg(test)]
mod tests;
