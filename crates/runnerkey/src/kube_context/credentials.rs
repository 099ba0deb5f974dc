//! What a resolved context trusts and presents: its cluster's CA
//! certificates and its user's credentials.

use super::*;

pub(super) fn cluster_cas(
    cluster: &Cluster,
    name: &str,
    source: &str,
) -> Result<(Vec<Certificate>, String)> {
    match (
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
    ) {
        (Some(b64), _) if !b64.is_empty() => {
            let what = format!("certificate-authority-data of the cluster {name:?}");
            let bad = |reason: String| {
                problem(
                    source,
                    KubeconfigProblem::BadData {
                        what: what.clone(),
                        reason,
                    },
                )
            };
            let pem = decode(&what, b64).map_err(|p| problem(source, p))?;
            let cas = Certificate::all_from_pem(&pem).map_err(|e| bad(e.chain()))?;
            Ok((cas, what))
        }
        (_, Some(path)) if !path.is_empty() => {
            let cas = Certificate::load_all(Path::new(path))?;
            Ok((cas, path.clone()))
        }
        _ => Ok((Vec::new(), "the system's trusted CAs".into())),
    }
}

pub(super) fn credentials(user: &User, name: &str, source: &str) -> Result<ContextCredentials> {
    if let Some(exec) = &user.exec {
        return Ok(ContextCredentials::Plugin {
            what: format!("an exec plugin {:?}", exec.command),
        });
    }
    if user.username.as_deref().is_some_and(|u| !u.is_empty()) {
        return Ok(ContextCredentials::Plugin {
            what: "basic authentication (username and password; removed in Kubernetes 1.19)".into(),
        });
    }
    if let Some(provider) = &user.auth_provider {
        return Ok(ContextCredentials::Plugin {
            what: format!("an auth-provider {:?}", provider.name),
        });
    }
    let cert = match (&user.client_certificate_data, &user.client_certificate) {
        (Some(b64), _) if !b64.is_empty() => {
            let what = format!("client-certificate-data of the user {name:?}");
            Some((decode(&what, b64).map_err(|p| problem(source, p))?, what))
        }
        (_, Some(path)) if !path.is_empty() => Some((file::read(Path::new(path))?, path.clone())),
        _ => None,
    };
    let key = match (&user.client_key_data, &user.client_key) {
        (Some(b64), _) if !b64.is_empty() => Some((
            decode(
                &format!("client-key-data of the user {name:?}"),
                b64.expose_secret(),
            )
            .map_err(|p| problem(source, p))?,
            None,
        )),
        (_, Some(path)) if !path.is_empty() => {
            Some((file::read(Path::new(path))?, Some(PathBuf::from(path))))
        }
        _ => None,
    };
    match (cert, key) {
        (Some((pem, cert_source)), Some((key_pem, key_path))) => {
            let chain = Certificate::all_from_pem(&pem).map_err(|e| {
                problem(
                    source,
                    KubeconfigProblem::BadData {
                        what: cert_source.clone(),
                        reason: e.chain(),
                    },
                )
            })?;
            let key = PrivateKey::from_pem(&key_pem, None).map_err(|e| match &key_path {
                Some(p) => e.in_file(p),
                None => e,
            })?;
            Ok(ContextCredentials::ClientCertificate {
                chain,
                key: Box::new(key),
                source: cert_source,
            })
        }
        (Some(_), None) | (None, Some(_)) => Err(problem(
            source,
            KubeconfigProblem::HalfClientCertificate {
                user: name.to_string(),
            },
        )),
        (None, None) => match (&user.token, &user.token_file) {
            (Some(t), _) if !t.is_empty() => Ok(ContextCredentials::Token {
                token: Secret::new(t.expose_secret().trim()),
                source: format!("token of the user {name:?}"),
            }),
            (_, Some(path)) if !path.is_empty() => {
                let text = file::read_capped(Path::new(path), 64 * 1024)?;
                let token = String::from_utf8_lossy(&text).trim().to_string();
                if token.is_empty() {
                    // client-go: "read empty token".
                    return Err(problem(
                        source,
                        KubeconfigProblem::BadData {
                            what: format!("tokenFile {path}"),
                            reason: "is empty".into(),
                        },
                    ));
                }
                Ok(ContextCredentials::Token {
                    token: token.into(),
                    source: path.clone(),
                })
            }
            _ => Ok(ContextCredentials::Anonymous),
        },
    }
}
