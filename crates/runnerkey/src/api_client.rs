//! A minimal Kubernetes API client that connects exactly as gitlab-runner
//! does — trusting only `ca_file` (or the system store when it is empty),
//! presenting `cert_file`/`key_file` or a bearer token — and that keeps
//! what it needs to say *why* a connection failed: the server's chain and
//! rustls-webpki's verdict on it.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::key::PrivateKey;

/// Where the API server is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP literal.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Whether the URL is `https://`.
    pub https: bool,
}

impl Endpoint {
    /// Parses `https://HOST[:PORT][/…]` (also `http://`, and a bare host as
    /// client-go does, meaning https).
    pub fn parse(url: &str) -> Result<Self> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            (true, url)
        };
        let authority = rest.split('/').next().unwrap_or("");
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad_url(url))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad_url(url))?,
            None if https => 443,
            None => 80,
        };
        if host.is_empty() {
            return Err(bad_url(url));
        }
        Ok(Self { host, port, https })
    }
}

fn bad_url(url: &str) -> Error {
    Error::InvalidArgument(format!("host {url:?} is not a URL like https://HOST:PORT"))
}

/// Why the server's certificate was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCertProblem {
    /// Not signed by any trusted CA.
    UnknownIssuer,
    /// The host name or IP is not among the certificate's SANs.
    NotValidForName,
    /// Past notAfter.
    Expired,
    /// Before notBefore.
    NotYetValid,
    /// Anything else rustls-webpki said.
    Other(String),
}

/// A failure below HTTP.
#[derive(Clone, Debug)]
pub enum TransportError {
    /// The name does not resolve.
    Dns(String),
    /// Nothing listens there.
    Refused(String),
    /// No answer in time.
    Timeout(String),
    /// Something that is not TLS answered.
    NotTls(String),
    /// The server's certificate was refused.
    ServerCert {
        /// Why.
        problem: ServerCertProblem,
        /// The chain the server sent (leaf first).
        chain: Vec<Certificate>,
    },
    /// Another TLS failure (e.g. the server refused our certificate).
    Tls(String),
    /// Reading or writing failed.
    Io(String),
}

/// An HTTP response.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON (null when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Debug, Default)]
struct Capture {
    chain: Vec<CertificateDer<'static>>,
    problem: Option<ServerCertProblem>,
}

#[derive(Debug)]
struct CapturingVerifier {
    roots: Vec<CertificateDer<'static>>,
    capture: Mutex<Capture>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for CapturingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        let anchors: Vec<_> = self
            .roots
            .iter()
            .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
            .collect();
        let verdict = webpki::EndEntityCert::try_from(end_entity).and_then(|ee| {
            ee.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &anchors,
                intermediates,
                now,
                webpki::KeyUsage::server_auth(),
                None,
                None,
            )?;
            ee.verify_is_valid_for_subject_name(server_name)
        });
        let problem = verdict.err().map(|e| match e {
            // A CA of the same name but another key is still the wrong CA:
            // Go reports it as "signed by unknown authority" too.
            webpki::Error::UnknownIssuer
            | webpki::Error::InvalidSignatureForPublicKey
            | webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
                ServerCertProblem::UnknownIssuer
            }
            webpki::Error::CertNotValidForName(_) => ServerCertProblem::NotValidForName,
            webpki::Error::CertExpired { .. } => ServerCertProblem::Expired,
            webpki::Error::CertNotValidYet { .. } => ServerCertProblem::NotYetValid,
            other => ServerCertProblem::Other(format!("{other:?}")),
        });
        let mut capture = self.capture.lock().expect("capture lock");
        capture.chain = chain;
        capture.problem = problem.clone();
        match problem {
            None => Ok(ServerCertVerified::assertion()),
            Some(p) => Err(rustls::Error::General(format!(
                "server certificate refused: {p:?}"
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// How the client authenticates.
pub enum Credentials {
    /// A client certificate and its key.
    ClientCertificate(Vec<Certificate>, Box<PrivateKey>),
    /// `Authorization: Bearer …` (secret; never printed).
    BearerToken(String),
    /// Nothing.
    Anonymous,
}

/// A client for one API server.
pub struct ApiClient {
    endpoint: Endpoint,
    verifier: Arc<CapturingVerifier>,
    config: Arc<rustls::ClientConfig>,
    bearer: Option<String>,
    timeout: Duration,
}

impl ApiClient {
    /// A client trusting `roots` (the system store when empty), as the runner.
    pub fn new(
        endpoint: Endpoint,
        roots: &[Certificate],
        credentials: Credentials,
        timeout: Duration,
    ) -> Result<Self> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let roots: Vec<CertificateDer<'static>> = if roots.is_empty() {
            rustls_native_certs::load_native_certs().certs
        } else {
            roots
                .iter()
                .map(|c| CertificateDer::from(c.to_der().to_vec()))
                .collect()
        };
        let verifier = Arc::new(CapturingVerifier {
            roots,
            capture: Mutex::default(),
            provider: provider.clone(),
        });
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Crypto(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone());
        let (config, bearer) = match credentials {
            Credentials::ClientCertificate(chain, key) => {
                let chain = chain
                    .iter()
                    .map(|c| CertificateDer::from(c.to_der().to_vec()))
                    .collect();
                let key = PrivateKeyDer::Pkcs8(key.to_der().to_vec().into());
                let config = builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| Error::Crypto(format!("client certificate: {e}")))?;
                (config, None)
            }
            Credentials::BearerToken(t) => (builder.with_no_client_auth(), Some(t)),
            Credentials::Anonymous => (builder.with_no_client_auth(), None),
        };
        Ok(Self {
            endpoint,
            verifier,
            config: Arc::new(config),
            bearer,
            timeout,
        })
    }

    fn connect(&self) -> std::result::Result<TcpStream, TransportError> {
        let addr = format!("{}:{}", self.endpoint.host, self.endpoint.port);
        let addrs: Vec<_> = addr
            .to_socket_addrs()
            .map_err(|e| TransportError::Dns(format!("{}: {e}", self.endpoint.host)))?
            .collect();
        let mut last =
            TransportError::Dns(format!("{} resolves to no address", self.endpoint.host));
        for a in addrs {
            match TcpStream::connect_timeout(&a, self.timeout) {
                Ok(s) => {
                    let _ = s.set_read_timeout(Some(self.timeout));
                    let _ = s.set_write_timeout(Some(self.timeout));
                    return Ok(s);
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    last = TransportError::Refused(format!("{a}: {e}"));
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::TimedOut
                        || e.kind() == std::io::ErrorKind::WouldBlock =>
                {
                    last = TransportError::Timeout(format!(
                        "{a}: no answer within {:?}",
                        self.timeout
                    ));
                }
                Err(e) => last = TransportError::Io(format!("{a}: {e}")),
            }
        }
        Err(last)
    }

    fn classify(&self, e: std::io::Error) -> TransportError {
        let capture = self.verifier.capture.lock().expect("capture lock");
        if let Some(problem) = capture.problem.clone() {
            let chain = capture
                .chain
                .iter()
                .filter_map(|c| Certificate::from_der(c).ok())
                .collect();
            return TransportError::ServerCert { problem, chain };
        }
        let text = e.to_string();
        match e.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                TransportError::Timeout(text)
            }
            _ if text.contains("InvalidContentType")
                || text.contains("corrupt message")
                || text.contains("InvalidMessage") =>
            {
                TransportError::NotTls(text)
            }
            _ if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
                TransportError::Tls(text)
            }
            _ => TransportError::Io(text),
        }
    }

    /// Sends one request on a fresh connection and reads the whole response.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> std::result::Result<Response, TransportError> {
        let tcp = self.connect()?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: runnerkey-doctor\r\nAccept: application/json\r\nConnection: close\r\n",
            self.endpoint.host, self.endpoint.port
        );
        if let Some(t) = &self.bearer {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if !body.is_empty() {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        head.push_str(&body);
        let mut raw = Vec::new();
        if self.endpoint.https {
            let name = ServerName::try_from(self.endpoint.host.clone()).map_err(|e| {
                TransportError::Tls(format!("server name {}: {e}", self.endpoint.host))
            })?;
            let conn = rustls::ClientConnection::new(self.config.clone(), name)
                .map_err(|e| TransportError::Tls(e.to_string()))?;
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            tls.write_all(head.as_bytes())
                .map_err(|e| self.classify(e))?;
            if let Err(e) = tls.read_to_end(&mut raw)
                && (e.kind() != std::io::ErrorKind::UnexpectedEof || raw.is_empty())
            {
                return Err(self.classify(e));
            }
        } else {
            let mut tcp = tcp;
            tcp.write_all(head.as_bytes())
                .map_err(|e| TransportError::Io(e.to_string()))?;
            tcp.read_to_end(&mut raw)
                .map_err(|e| TransportError::Io(e.to_string()))?;
        }
        parse_response(&raw).ok_or_else(|| TransportError::NotTls("the answer is not HTTP".into()))
    }
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let mut body = raw[split + 4..].to_vec();
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..eol]).ok()?.trim(), 16).ok()?;
            if size == 0 {
                break;
            }
            let start = eol + 2;
            out.extend_from_slice(rest.get(start..start + size)?);
            rest = rest.get(start + size + 2..)?;
        }
        body = out;
    }
    Some(Response { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("https://10.0.0.1:6443").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.https), ("10.0.0.1", 6443, true));
        let e = Endpoint::parse("https://[::1]:8443/x").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 8443));
        assert_eq!(
            Endpoint::parse("https://api.example.com").unwrap().port,
            443
        );
        assert!(!Endpoint::parse("http://x:80").unwrap().https);
        assert!(Endpoint::parse("https://:6443").is_err());
    }

    #[test]
    fn chunked_and_plain_bodies() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"abcde"[..]));
        let r =
            parse_response(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!(r.status, 401);
    }
}
