//! A stand-in for kube-apiserver, for runnerkey's tests only (none can run
//! here). It listens on loopback with real TLS, requests a client
//! certificate and, like kube-apiserver, authenticates it at the HTTP layer
//! (verified against `--client-ca`; invalid or missing → 401), maps CN to
//! the user and every O to a group (plus `system:authenticated`), and
//! answers the real paths with the real JSON shapes:
//! `GET /version`, `POST …/selfsubjectreviews` (authentication.k8s.io v1 and
//! v1beta1), `POST …/selfsubjectaccessreviews` and `…/subjectaccessreviews`
//! (authorization.k8s.io/v1), deciding from RBAC manifests (`--rbac FILE`,
//! YAML or JSON as `runnerkey rbac` writes them). `--plain` serves plain
//! HTTP instead, for the "not TLS" scenario.
//!
//! Client certificates are accepted as Go's `crypto/x509` accepts them:
//! with the intermediates the client sends, and X.509 v1 leaves without
//! extensions (checked by signature, as Go does). RoleBindings and
//! ClusterRoleBindings can be listed (`GET …/clusterrolebindings`,
//! `…/rolebindings`) by identities RBAC allows to. `--prefix /P` serves the
//! API under a path prefix (as behind a reverse proxy) and 404s the rest;
//! `--sar-status N` answers every SubjectAccessReview with HTTP N;
//! `--handshake-log FILE` appends a line per TLS connection served (each
//! serves requests until the client closes it, as kube-apiserver does);
//! `--request-log FILE` a line `METHOD PATH` per request.
//!
//! CertificateSigningRequests can be created, read, listed, watched,
//! approved and deleted (see `csr.rs`); `--signing-ca-cert F
//! --signing-ca-key F` makes the server issue approved ones, for at most
//! `--cluster-signing-duration SECS`; `--no-watch` answers watches 405.
//! Hostile answers for the tests: `--signer-duration SECS` issues every
//! certificate for exactly SECS whatever was asked; `--endless-watch`
//! keeps every watch open past `timeoutSeconds`, repeating the pending
//! object as MODIFIED every 100 ms.
//! ServiceAccounts (`--service-account NS/NAME`, or created through the API)
//! get TokenRequest tokens that authenticate them (see `token.rs`).
//!
//! The real control plane (scripts/control-plane.sh, tests/python/
//! test_real_cluster.py and test_doctor_verdicts.py) judges what a real
//! API server decides. This stand-in stays for what a real one cannot do on
//! demand, and these tests use it for that:
//! - hostile or broken answers: a signer that ignores expirationSeconds
//!   and a watch that never ends (test_pem_differential.py), SubjectAccess-
//!   Reviews answered with any HTTP status (test_doctor.py), plain HTTP, a
//!   path prefix behind a proxy, servers whose certificates have the wrong
//!   names, are expired or come from an expired CA (test_judging.py,
//!   test_doctor.py, test_doctor_verdicts.py);
//! - counting what runnerkey sends: one TLS handshake per doctor run, the
//!   watch before polling, nothing shown to a host config.toml names
//!   (`--handshake-log`, `--request-log`; test_doctor.py, test_csr_api.py,
//!   test_token_auth.py);
//! - tokens for any subject on demand, forged ones vouched for by a liar
//!   (test_token_auth.py, test_status.py), and RBAC files swapped per test
//!   without a cluster-wide state (test_setup.py, test_kubernetes.py,
//!   test_csr_api.py, test_stub_returns.py).
//!
//! Usage: runnerkey-test-apiserver --cert F --key F --client-ca F [--rbac F]… [--token TOKEN=USER[;GROUP,…]]… [--listen 127.0.0.1:0] [--plain] [--prefix /P] [--sar-status N] [--signing-ca-cert F --signing-ca-key F [--cluster-signing-duration SECS] [--no-watch]] [--service-account NS/NAME]… [--service-account-max-token-expiration SECS]
//! Prints `listening on ADDR` and serves until killed.

mod csr;
mod rbac;
mod token;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use serde_json::{Value, json};

use crate::rbac::{Attributes, Rbac, UserInfo};

/// Requests a client certificate and checks only that the client holds its
/// key; whether it is trusted is decided per request, as kube-apiserver does.
#[derive(Debug)]
struct RequestClientCert(Arc<rustls::crypto::CryptoProvider>);

impl ClientCertVerifier for RequestClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs).or_else(|e| {
            // webpki cannot parse an X.509 v1 certificate; Go can, so take
            // its public key as it is.
            let Ok(parsed) = runnerkey::Certificate::from_der(cert) else {
                return Err(e);
            };
            let spki = parsed.public_key().to_der().to_vec();
            rustls::crypto::verify_tls13_signature_with_raw_key(
                message,
                &rustls_pki_types::SubjectPublicKeyInfoDer::from(spki),
                dss,
                algs,
            )
        })
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One HTTP request.
struct Request {
    method: String,
    path: String,
    bearer: Option<String>,
    body: Vec<u8>,
    /// The client asked to close the connection after this request.
    close: bool,
}

struct Server {
    client_ca: Vec<CertificateDer<'static>>,
    /// `--token TOKEN=USER[;GROUP,…]`: static bearer tokens, as kube-apiserver's --token-auth-file.
    tokens: Vec<(String, UserInfo)>,
    rbac: Rbac,
    /// Path prefix every API path must carry.
    prefix: String,
    /// Forced status for SubjectAccessReviews.
    sar_status: Option<u16>,
    /// `--handshake-log FILE`: one line per TLS connection served.
    handshake_log: Option<String>,
    /// `--request-log FILE`: `METHOD PATH` per request served.
    request_log: Option<String>,
    /// CertificateSigningRequests (signed with `--signing-ca-cert/-key`).
    csrs: csr::Store,
    /// ServiceAccounts (`--service-account NS/NAME`) and their TokenRequests.
    accounts: token::Tokens,
}

fn pem_blocks(path: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    runnerkey::Certificate::all_from_pem(&text)
        .map(|cs| cs.iter().map(|c| c.to_der().to_vec()).collect())
        .unwrap_or_default()
}

fn key_der(path: &str) -> PrivateKeyDer<'static> {
    let key = runnerkey::PrivateKey::load(std::path::Path::new(path), None)
        .unwrap_or_else(|e| panic!("{e}"));
    PrivateKeyDer::Pkcs8(key.to_der().to_vec().into())
}

impl Server {
    fn count_handshake(&self) {
        if let Some(path) = &self.handshake_log
            && let Ok(mut f) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
        {
            let _ = writeln!(f, "handshake");
        }
    }

    /// The user a verified client certificate stands for.
    fn authenticate(&self, peer: Option<&[CertificateDer<'_>]>) -> Option<UserInfo> {
        let peer = peer?;
        let leaf = peer.first()?;
        let anchors: Vec<_> = self
            .client_ca
            .iter()
            .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
            .collect();
        let cert = runnerkey::Certificate::from_der(leaf).ok()?;
        if cert.version() == 1 {
            // Go accepts a v1 leaf signed by a client CA; webpki refuses v1.
            let now = time::OffsetDateTime::now_utc();
            let signed = self.client_ca.iter().any(|ca| {
                runnerkey::Certificate::from_der(ca).is_ok_and(|ca| {
                    ca.subject() == cert.issuer() && cert.verify_signature(&ca.public_key()).is_ok()
                })
            });
            if !signed || now < cert.not_before() || now > cert.not_after() {
                return None;
            }
        } else {
            let ee = webpki::EndEntityCert::try_from(leaf).ok()?;
            ee.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &anchors,
                &peer[1..],
                UnixTime::now(),
                webpki::KeyUsage::client_auth(),
                None,
                None,
            )
            .ok()?;
        }
        let id = cert.subject_reading();
        let mut groups = id.groups;
        groups.push("system:authenticated".into());
        Some(UserInfo {
            username: id.user,
            groups,
        })
    }

    fn handle(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        user: Option<UserInfo>,
    ) -> (u16, Value) {
        let path = path.split('?').next().unwrap_or(path);
        let Some(path) = path.strip_prefix(self.prefix.as_str()) else {
            return status(404, "NotFound", "404 page not found");
        };
        let Some(user) = user else {
            return status(401, "Unauthorized", "Unauthorized");
        };
        let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if let Some(answer) = self.csrs.handle(&self.rbac, &user, method, path, &req) {
            return answer;
        }
        if let Some(answer) = self.accounts.handle(&self.rbac, &user, method, path, &req) {
            return answer;
        }
        match (method, path) {
            ("GET", "/version") => (
                200,
                json!({"major": "1", "minor": "30", "gitVersion": "v1.30.0", "gitCommit": "7c48c2bd72b9bf5c44d21d7338cc7bea77d0ad2a",
                       "gitTreeState": "clean", "buildDate": "2024-04-17T17:27:03Z", "goVersion": "go1.22.2",
                       "compiler": "gc", "platform": "linux/amd64"}),
            ),
            ("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews")
            | ("POST", "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews") => {
                let version = path.split('/').nth(3).unwrap_or("v1");
                (
                    201,
                    json!({"kind": "SelfSubjectReview", "apiVersion": format!("authentication.k8s.io/{version}"),
                           "metadata": {"creationTimestamp": null},
                           "status": {"userInfo": {"username": user.username, "groups": user.groups}}}),
                )
            }
            ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") => {
                let attrs = Attributes::from_spec(&req["spec"]);
                let allowed = self.rbac.allows(&user, &attrs);
                (201, review("SelfSubjectAccessReview", &req, allowed))
            }
            ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings")
            | ("GET", "/apis/rbac.authorization.k8s.io/v1/rolebindings") => {
                let resource = path.rsplit('/').next().unwrap_or_default();
                let may = Attributes {
                    namespace: String::new(),
                    verb: "list".into(),
                    group: "rbac.authorization.k8s.io".into(),
                    resource: resource.into(),
                    subresource: String::new(),
                };
                if !self.rbac.allows(&user, &may) {
                    return status(
                        403,
                        "Forbidden",
                        &format!(
                            "{resource}.rbac.authorization.k8s.io is forbidden: User \"{}\" cannot list resource \"{resource}\" in API group \"rbac.authorization.k8s.io\" at the cluster scope",
                            user.username
                        ),
                    );
                }
                let kind = if resource == "clusterrolebindings" {
                    "ClusterRoleBinding"
                } else {
                    "RoleBinding"
                };
                (
                    200,
                    json!({"kind": format!("{kind}List"), "apiVersion": "rbac.authorization.k8s.io/v1",
                           "metadata": {"resourceVersion": "1"}, "items": self.rbac.of_kind(kind)}),
                )
            }
            ("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews") => {
                if let Some(code) = self.sar_status {
                    return status(code, "Forced", "the test server was told to answer this");
                }
                let may = Attributes {
                    namespace: String::new(),
                    verb: "create".into(),
                    group: "authorization.k8s.io".into(),
                    resource: "subjectaccessreviews".into(),
                    subresource: String::new(),
                };
                if !self.rbac.allows(&user, &may) {
                    return status(
                        403,
                        "Forbidden",
                        &format!(
                            "subjectaccessreviews.authorization.k8s.io is forbidden: User \"{}\" cannot create resource \"subjectaccessreviews\" in API group \"authorization.k8s.io\" at the cluster scope",
                            user.username
                        ),
                    );
                }
                let spec = &req["spec"];
                let subject = UserInfo {
                    username: spec["user"].as_str().unwrap_or("").to_string(),
                    groups: spec["groups"]
                        .as_array()
                        .map(|g| {
                            g.iter()
                                .filter_map(|v| v.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                let allowed = self.rbac.allows(&subject, &Attributes::from_spec(spec));
                (201, review("SubjectAccessReview", &req, allowed))
            }
            _ => status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        }
    }
}

fn review(kind: &str, req: &Value, allowed: bool) -> Value {
    let mut status = json!({"allowed": allowed});
    if allowed {
        status["reason"] = json!("RBAC: allowed by a runnerkey-generated binding");
    }
    json!({"kind": kind, "apiVersion": "authorization.k8s.io/v1", "metadata": {"creationTimestamp": null},
           "spec": req["spec"], "status": status})
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

/// Reads one HTTP/1.1 request: method, path, body (`None` at the end of
/// the connection).
fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut length = 0usize;
    let mut bearer = None;
    let mut close = false;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("authorization") {
                bearer = v.trim().strip_prefix("Bearer ").map(str::to_string);
            } else if k.eq_ignore_ascii_case("connection") {
                close = v.trim().eq_ignore_ascii_case("close");
            }
        }
    }
    let mut body = vec![0u8; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        bearer,
        body,
        close,
    })
}

fn write_response(stream: &mut impl Write, code: u16, body: &Value, close: bool) {
    let text = body.to_string();
    let reason = match code {
        200 => "OK",
        201 => "Created",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        _ => "Internal Server Error",
    };
    let response = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n{text}",
        text.len(),
        if close { "close" } else { "keep-alive" }
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// Serves every request of one TLS connection (HTTP/1.1 keep-alive, as
/// kube-apiserver does), counting the handshake.
fn serve_tls(server: &Server, config: Arc<rustls::ServerConfig>, tcp: TcpStream) {
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut reader = BufReader::new(rustls::StreamOwned::new(conn, tcp));
    let mut counted = false;
    while let Some(req) = read_request(&mut reader) {
        if let Some(path) = &server.request_log
            && let Ok(mut f) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
        {
            let _ = writeln!(f, "{} {}", req.method, req.path);
        }
        let tls = reader.get_mut();
        if !counted {
            counted = true;
            server.count_handshake();
        }
        let peer: Option<Vec<CertificateDer<'static>>> = tls
            .conn
            .peer_certificates()
            .map(|c| c.iter().map(|d| d.clone().into_owned()).collect());
        let user = match &req.bearer {
            Some(t) => server
                .tokens
                .iter()
                .find(|(k, _)| k == t)
                .map(|(_, u)| u.clone())
                .or_else(|| server.accounts.authenticate(t)),
            None => server.authenticate(peer.as_deref()),
        };
        if let Some(path) = req.path.strip_prefix(server.prefix.as_str())
            && let Some(user) = &user
            && req.method == "GET"
            && server.csrs.watch(&server.rbac, user, path, tls)
        {
            break;
        }
        let (code, body) = server.handle(&req.method, &req.path, &req.body, user);
        write_response(tls, code, &body, req.close);
        if req.close {
            break;
        }
    }
    let tls = reader.get_mut();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| -> Vec<String> {
        args.windows(2)
            .filter(|w| w[0] == name)
            .map(|w| w[1].clone())
            .collect()
    };
    let one = |name: &str| get(name).into_iter().next();
    let listen = one("--listen").unwrap_or_else(|| "127.0.0.1:0".into());
    let plain = args.iter().any(|a| a == "--plain");
    let client_ca = one("--client-ca")
        .map(|p| pem_blocks(&p))
        .unwrap_or_default();
    let mut rbac = Rbac::default();
    for f in get("--rbac") {
        rbac.load(&f);
    }
    let tokens = get("--token")
        .iter()
        .filter_map(|spec| {
            let (token, who) = spec.split_once('=')?;
            let (user, groups) = who.split_once(';').unwrap_or((who, ""));
            let mut groups: Vec<String> = groups
                .split(',')
                .filter(|g| !g.is_empty())
                .map(String::from)
                .collect();
            groups.push("system:authenticated".into());
            Some((
                token.to_string(),
                UserInfo {
                    username: user.to_string(),
                    groups,
                },
            ))
        })
        .collect();
    let server = Arc::new(Server {
        client_ca: client_ca.into_iter().map(CertificateDer::from).collect(),
        tokens,
        rbac,
        prefix: one("--prefix")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string(),
        sar_status: one("--sar-status").map(|s| s.parse().expect("--sar-status N")),
        handshake_log: one("--handshake-log"),
        request_log: one("--request-log"),
        accounts: token::Tokens::new(
            &get("--service-account"),
            one("--service-account-max-token-expiration")
                .map(|s| {
                    s.parse()
                        .expect("--service-account-max-token-expiration SECS")
                })
                .unwrap_or(3600),
        ),
        csrs: csr::Store::new(one("--signing-ca-cert").map(|c| {
            let k = one("--signing-ca-key").expect("--signing-ca-key");
            runnerkey::CertificateAuthority::load(
                std::path::Path::new(&c),
                std::path::Path::new(&k),
                None,
            )
            .unwrap_or_else(|e| panic!("{}", e.chain()))
        }))
        .with_max_duration(
            one("--cluster-signing-duration")
                .map(|s| s.parse().expect("--cluster-signing-duration SECS")),
        )
        .with_watch(!args.iter().any(|a| a == "--no-watch"))
        .with_forced_duration(
            one("--signer-duration").map(|s| s.parse().expect("--signer-duration SECS")),
        )
        .with_endless_watch(args.iter().any(|a| a == "--endless-watch")),
    });
    let tls = if plain {
        None
    } else {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let chain: Vec<CertificateDer<'static>> = pem_blocks(&one("--cert").expect("--cert"))
            .into_iter()
            .map(CertificateDer::from)
            .collect();
        let config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_client_cert_verifier(Arc::new(RequestClientCert(provider)))
            .with_single_cert(chain, key_der(&one("--key").expect("--key")))
            .expect("serving certificate and key");
        Some(Arc::new(config))
    };
    let listener = TcpListener::bind(&listen).expect("bind");
    println!("listening on {}", listener.local_addr().expect("address"));
    std::io::stdout().flush().expect("stdout");
    for stream in listener.incoming().flatten() {
        // Go's net package sets TCP_NODELAY on every connection.
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        let tls = tls.clone();
        std::thread::spawn(move || match tls {
            Some(config) => serve_tls(&server, config, stream),
            None => {
                // Like any plain HTTP server handed a TLS ClientHello: it reads
                // what came and answers 400 in plain text.
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n400 Bad Request",
                );
            }
        });
    }
}
