//! A kubeconfig for the issued identity, usable by kubectl as is: to test
//! the runner's certificate from any host before gitlab-runner uses it.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::file;
use crate::key::PrivateKey;
use crate::manifest::to_yaml;
use crate::secret::Secret;

/// What goes into the kubeconfig.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KubeconfigParams {
    /// API server URL, `https://HOST:PORT`.
    pub server: String,
    /// The CA that signed the API server's certificate (ca_file).
    pub ca_file: PathBuf,
    /// Client certificate (cert_file).
    pub cert_file: PathBuf,
    /// Client key (key_file).
    pub key_file: PathBuf,
    /// User entry name (default: the certificate's CN).
    pub user: Option<String>,
    /// Cluster entry name (default `kubernetes`, as kubeadm).
    pub cluster: Option<String>,
    /// Reference the files by absolute path instead of embedding them.
    pub reference_files: bool,
}

impl KubeconfigParams {
    /// Params for `server` and the three files, embedding them, with the
    /// certificate's CN as the user entry's name and cluster `kubernetes`.
    pub fn new(
        server: impl Into<String>,
        ca_file: impl Into<PathBuf>,
        cert_file: impl Into<PathBuf>,
        key_file: impl Into<PathBuf>,
    ) -> Self {
        Self {
            server: server.into(),
            ca_file: ca_file.into(),
            cert_file: cert_file.into(),
            key_file: key_file.into(),
            user: None,
            cluster: None,
            reference_files: false,
        }
    }
}

/// A kubeconfig `clusters[]` entry's `cluster`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cluster {
    /// API server URL.
    pub server: String,
    /// Embedded CA, base64 PEM.
    #[serde(
        rename = "certificate-authority-data",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub certificate_authority_data: Option<String>,
    /// CA path.
    #[serde(
        rename = "certificate-authority",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub certificate_authority: Option<String>,
    /// Server certificate checks turned off (runnerkey never does that).
    #[serde(
        rename = "insecure-skip-tls-verify",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub insecure_skip_tls_verify: Option<bool>,
}

/// A kubeconfig `users[]` entry's `user`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// Embedded client certificate, base64 PEM.
    #[serde(
        rename = "client-certificate-data",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub client_certificate_data: Option<String>,
    /// Client certificate path.
    #[serde(
        rename = "client-certificate",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub client_certificate: Option<String>,
    /// Embedded client key, base64 PEM: a [`Secret`], so `Debug` and a
    /// report never show it; the kubeconfig's YAML holds it, as kubectl
    /// needs.
    #[serde(
        rename = "client-key-data",
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::secret::expose_option",
        default
    )]
    pub client_key_data: Option<Secret>,
    /// Client key path.
    #[serde(
        rename = "client-key",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub client_key: Option<String>,
    /// A bearer token: the kubeconfig is the one place that holds it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::secret::expose_option",
        default
    )]
    pub token: Option<Secret>,
    /// A file holding a bearer token.
    #[serde(rename = "tokenFile", skip_serializing_if = "Option::is_none", default)]
    pub token_file: Option<String>,
    /// An exec credential plugin (runnerkey does not run plugins).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exec: Option<ExecPlugin>,
    /// Basic authentication's user name (removed in Kubernetes 1.19).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub username: Option<String>,
    /// A legacy auth provider (gcp, oidc, azure …; runnerkey does not run them).
    #[serde(
        rename = "auth-provider",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub auth_provider: Option<AuthProvider>,
}

/// A kubeconfig user's `exec` credential plugin (only what runnerkey reports).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExecPlugin {
    /// The command kubectl would run.
    #[serde(default)]
    pub command: String,
}

/// A kubeconfig user's `auth-provider` (only what runnerkey reports).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthProvider {
    /// Its name (gcp, oidc, azure …).
    #[serde(default)]
    pub name: String,
}

/// A kubeconfig `contexts[]` entry's `context`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Context {
    /// Cluster entry name.
    pub cluster: String,
    /// User entry name.
    #[serde(default)]
    pub user: String,
    /// The default namespace.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub namespace: Option<String>,
}

/// A named entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Named<T> {
    /// Entry name.
    pub name: String,
    /// The entry, under `cluster`/`user`/`context`.
    #[serde(flatten)]
    pub value: T,
}

/// `{cluster: …}` wrapper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClusterEntry {
    /// The cluster.
    pub cluster: Cluster,
}

/// `{user: …}` wrapper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserEntry {
    /// The user.
    pub user: User,
}

/// `{context: …}` wrapper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContextEntry {
    /// The context.
    pub context: Context,
}

/// A kubeconfig (`apiVersion: v1`, `kind: Config`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Kubeconfig {
    /// `v1` (kubectl reads a file without it, and so does runnerkey).
    #[serde(rename = "apiVersion", default)]
    pub api_version: String,
    /// `Config`.
    #[serde(default)]
    pub kind: String,
    /// Clusters.
    #[serde(default)]
    pub clusters: Vec<Named<ClusterEntry>>,
    /// Users (kubectl reads a kubeconfig without any, and so does runnerkey).
    #[serde(default)]
    pub users: Vec<Named<UserEntry>>,
    /// Contexts.
    #[serde(default)]
    pub contexts: Vec<Named<ContextEntry>>,
    /// The context kubectl uses.
    #[serde(rename = "current-context", default)]
    pub current_context: String,
}

fn absolute(p: &Path) -> Result<String> {
    std::fs::canonicalize(p)
        .map(|p| p.display().to_string())
        .map_err(|source| Error::Io {
            path: p.to_owned(),
            source,
        })
}

/// Checks the server URL: `https://` with a host.
pub(crate) fn check_server(url: &str) -> Result<()> {
    // One URL reader for every server URL: the API client's, as client-go
    // reads `host`.
    let endpoint = crate::endpoint::Endpoint::parse(url)?;
    if !endpoint.https || endpoint.scheme_missing {
        return Err(Error::BadUrl {
            field: "server",
            value: crate::url::without_userinfo(url),
            reason: "must start with https://",
        });
    }
    if endpoint.host.contains(char::is_whitespace) {
        return Err(Error::BadUrl {
            field: "server",
            value: crate::url::without_userinfo(url),
            reason: "has no valid host",
        });
    }
    Ok(())
}

impl Kubeconfig {
    /// One cluster, one user, one context `<user>@<cluster>`, current.
    fn single(user_name: &str, cluster_name: &str, cluster: Cluster, user: User) -> Self {
        let context = format!("{user_name}@{cluster_name}");
        Self {
            api_version: "v1".into(),
            kind: "Config".into(),
            clusters: vec![Named {
                name: cluster_name.to_string(),
                value: ClusterEntry { cluster },
            }],
            users: vec![Named {
                name: user_name.to_string(),
                value: UserEntry { user },
            }],
            contexts: vec![Named {
                name: context.clone(),
                value: ContextEntry {
                    context: Context {
                        cluster: cluster_name.to_string(),
                        user: user_name.to_string(),
                        namespace: None,
                    },
                },
            }],
            current_context: context,
        }
    }

    /// A kubeconfig that references the three files by path (nothing
    /// secret inside), for `user` on `cluster`.
    pub fn referencing(
        server: &str,
        user: &str,
        cluster: &str,
        ca_file: &Path,
        cert_file: &Path,
        key_file: &Path,
    ) -> Result<Self> {
        check_server(server)?;
        let path = |p: &Path| Some(p.display().to_string());
        Ok(Self::single(
            user,
            cluster,
            Cluster {
                server: server.to_string(),
                certificate_authority: path(ca_file),
                ..Cluster::default()
            },
            User {
                client_certificate: path(cert_file),
                client_key: path(key_file),
                ..User::default()
            },
        ))
    }

    /// Builds a kubeconfig after checking that the files load and the key
    /// matches the certificate (the first of the file; intermediates after
    /// it are kept); the files are embedded, or with
    /// `reference_files` referenced by absolute path.
    pub fn new(params: &KubeconfigParams) -> Result<Self> {
        check_server(&params.server)?;
        let ca_pem = file::read(&params.ca_file)?;
        Certificate::all_from_pem(&ca_pem).map_err(|e| e.in_file(&params.ca_file))?;
        let cert_pem = file::read(&params.cert_file)?;
        // The whole chain (leaf, then intermediates) goes along, as
        // client-go sends every certificate of client-certificate-data.
        let chain =
            Certificate::all_from_pem(&cert_pem).map_err(|e| e.in_file(&params.cert_file))?;
        let cert = &chain[0];
        let key = PrivateKey::load(&params.key_file, None)?;
        if !key.matches(&cert.public_key()) {
            return Err(Error::KeyMismatch {
                certificate: format!("the certificate {}", params.cert_file.display()),
            }
            .in_file(&params.key_file));
        }
        let user_name = params
            .user
            .clone()
            .unwrap_or_else(|| cert.subject_reading().user);
        crate::identity::check_name("kubeconfig user name", &user_name)?;
        let cluster_name = params
            .cluster
            .clone()
            .unwrap_or_else(|| "kubernetes".into());
        crate::identity::check_name("cluster name", &cluster_name)?;
        if params.reference_files {
            return Self::referencing(
                &params.server,
                &user_name,
                &cluster_name,
                Path::new(&absolute(&params.ca_file)?),
                Path::new(&absolute(&params.cert_file)?),
                Path::new(&absolute(&params.key_file)?),
            );
        }
        Ok(Self::single(
            &user_name,
            &cluster_name,
            Cluster {
                server: params.server.clone(),
                certificate_authority_data: Some(STANDARD.encode(&ca_pem)),
                ..Cluster::default()
            },
            User {
                client_certificate_data: Some(
                    STANDARD.encode(chain.iter().map(Certificate::to_pem).collect::<String>()),
                ),
                client_key_data: Some(Secret::new(STANDARD.encode(key.to_pem().as_bytes()))),
                ..User::default()
            },
        ))
    }

    /// Reads a kubeconfig (YAML or JSON).
    pub fn parse(text: &str) -> Result<Self> {
        crate::nesting::check(text, "the kubeconfig")?;
        if text.trim().is_empty() {
            // An empty file (`touch ~/.kube/config`) is an empty config to
            // kubectl.
            return Ok(Self {
                api_version: "v1".into(),
                kind: "Config".into(),
                clusters: Vec::new(),
                users: Vec::new(),
                contexts: Vec::new(),
                current_context: String::new(),
            });
        }
        serde_norway::from_str(text).map_err(|e| {
            Error::InvalidArgument(format!(
                "not a kubeconfig: {}",
                crate::error::text::without_values(&e.to_string())
            ))
        })
    }

    /// The CA certificates of every cluster entry: embedded
    /// `certificate-authority-data` or the `certificate-authority` file.
    pub fn cluster_cas(&self) -> Result<Vec<Certificate>> {
        let mut out = Vec::new();
        for c in &self.clusters {
            let cluster = &c.value.cluster;
            let pem = match (
                &cluster.certificate_authority_data,
                &cluster.certificate_authority,
            ) {
                (Some(b64), _) => STANDARD
                    .decode(b64.trim())
                    .map_err(|e| Error::der("certificate-authority-data", e))?,
                (None, Some(path)) => file::read(Path::new(path))?,
                (None, None) => continue,
            };
            out.extend(Certificate::all_from_pem(&pem)?);
        }
        if out.is_empty() {
            return Err(Error::InvalidArgument(
                "the kubeconfig names no cluster CA".into(),
            ));
        }
        Ok(out)
    }

    /// The kubeconfig as YAML. Holds the key when embedded: keep it secret.
    pub fn to_yaml(&self) -> Result<String> {
        to_yaml(self)
    }

    /// Writes the kubeconfig: mode 0600 (always: it names or holds a
    /// credential), atomically, refusing to replace a file unless `overwrite`.
    pub fn write(&self, path: &Path, overwrite: bool) -> Result<()> {
        file::write_atomic(path, self.to_yaml()?.as_bytes(), file::PRIVATE, overwrite)
    }
}

#[cfg(test)]
mod tests;
