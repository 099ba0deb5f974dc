//! A minimal Kubernetes API client that connects exactly as gitlab-runner
//! does — trusting only `ca_file` (or the system store when it is empty),
//! presenting `cert_file`/`key_file` or a bearer token — and that keeps
//! what it needs to say *why* a connection failed: the server's chain and
//! rustls-webpki's verdict on it.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

mod endpoint;
mod http;
mod stream;
mod tls;

pub use endpoint::Endpoint;
pub use http::Response;
pub use tls::ServerCertProblem;

use http::{ReadError, read_head, read_response, status_of};
use stream::{DeadlineStream, Stream};
use tls::{CapturingVerifier, ClientIdentity};

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::key::PrivateKey;
use crate::proxy::{Proxy, ProxyConfig};

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
    /// The proxy Go's rules choose could not be used or refused the tunnel.
    Proxy(String),
    /// The answer is larger than runnerkey reads.
    TooLarge(String),
}

/// How the client authenticates.
pub enum Credentials {
    /// A client certificate (then any intermediates, sent with it as
    /// client-go sends `cert_file`'s whole chain) and its key.
    ClientCertificate(Vec<Certificate>, Box<PrivateKey>),
    /// `Authorization: Bearer …` (secret; never printed).
    BearerToken(String),
    /// Nothing.
    Anonymous,
}

/// A client for one API server. Requests share one connection (HTTP/1.1
/// keep-alive), so a whole doctor run costs one TLS handshake.
pub struct ApiClient {
    endpoint: Endpoint,
    verifier: Arc<CapturingVerifier>,
    config: Arc<rustls::ClientConfig>,
    bearer: Option<String>,
    timeout: Duration,
    deadline: Instant,
    proxy: Option<Proxy>,
    conn: Mutex<Option<std::io::BufReader<Stream>>>,
}

impl ApiClient {
    /// A client trusting `roots` (the system store when empty), as the
    /// runner; every request must be answered within `timeout` of now (the
    /// deadline covers the client's whole life, not each request), and
    /// each read within `timeout` too. The proxy is chosen from the
    /// environment by Go's rules.
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
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
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
                let signing = provider
                    .key_provider
                    .load_private_key(key)
                    .map_err(|e| Error::Crypto(format!("client key: {e}")))?;
                let identity =
                    ClientIdentity(Arc::new(rustls::sign::CertifiedKey::new(chain, signing)));
                (builder.with_client_cert_resolver(Arc::new(identity)), None)
            }
            Credentials::BearerToken(t) => (builder.with_no_client_auth(), Some(t)),
            Credentials::Anonymous => (builder.with_no_client_auth(), None),
        };
        let proxy =
            ProxyConfig::from_env().proxy_for(endpoint.https, &endpoint.host, endpoint.port);
        Ok(Self {
            endpoint,
            verifier,
            config: Arc::new(config),
            bearer,
            timeout,
            deadline: Instant::now() + timeout,
            proxy,
            conn: Mutex::new(None),
        })
    }

    /// The proxy requests go through, chosen by Go's rules.
    pub fn proxy(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }

    fn remaining(&self) -> std::result::Result<Duration, TransportError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.deadline_passed());
        }
        Ok(left.min(self.timeout))
    }

    fn deadline_passed(&self) -> TransportError {
        TransportError::Timeout(format!(
            "no complete answer within the deadline of {:?}",
            self.timeout
        ))
    }

    fn tcp(&self, host: &str, port: u16) -> std::result::Result<TcpStream, TransportError> {
        let addrs: Vec<_> = (host, port)
            .to_socket_addrs()
            .map_err(|e| TransportError::Dns(format!("{host}: {e}")))?
            .collect();
        let mut last = TransportError::Dns(format!("{host} resolves to no address"));
        for a in addrs {
            match TcpStream::connect_timeout(&a, self.remaining()?) {
                Ok(s) => {
                    // As Go's net package does: small requests go out at
                    // once instead of waiting for the peer's delayed ACK.
                    let _ = s.set_nodelay(true);
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

    /// A TCP stream to the API server, directly or through an HTTP proxy's
    /// CONNECT tunnel, as Go's transport makes it.
    fn connect(&self) -> std::result::Result<DeadlineStream, TransportError> {
        let Some(proxy) = &self.proxy else {
            let tcp = self.tcp(&self.endpoint.host, self.endpoint.port)?;
            return Ok(self.bounded(tcp));
        };
        if proxy.scheme != "http" {
            return Err(TransportError::Proxy(format!(
                "the {} proxy {} is not supported by this check",
                proxy.scheme, proxy.url
            )));
        }
        let tcp = self
            .tcp(&proxy.host, proxy.port)
            .map_err(|e| TransportError::Proxy(format!("{}: {}", proxy.url, e.detail())))?;
        let mut stream = self.bounded(tcp);
        let target = if self.endpoint.host.contains(':') {
            format!("[{}]:{}", self.endpoint.host, self.endpoint.port)
        } else {
            format!("{}:{}", self.endpoint.host, self.endpoint.port)
        };
        let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some(c) = &proxy.credentials {
            head.push_str(&format!(
                "Proxy-Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(c)
            ));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .map_err(|e| TransportError::Proxy(format!("{}: {e}", proxy.url)))?;
        let answer = read_head(&mut stream)
            .map_err(|e| TransportError::Proxy(format!("{}: {}", proxy.url, e.detail())))?;
        let status = status_of(&answer);
        if status != Some(200) {
            let line = String::from_utf8_lossy(&answer);
            return Err(TransportError::Proxy(format!(
                "{} refused the tunnel to {target}: {}",
                proxy.url,
                line.lines().next().unwrap_or("")
            )));
        }
        Ok(stream)
    }

    fn bounded(&self, tcp: TcpStream) -> DeadlineStream {
        DeadlineStream {
            tcp,
            deadline: self.deadline,
            per_io: self.timeout,
        }
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

    /// A new connection: TCP (through the proxy when Go's rules choose
    /// one), then TLS for an `https://` host (the handshake happens with the
    /// first request).
    fn open(&self) -> std::result::Result<Stream, TransportError> {
        let stream = self.connect()?;
        if !self.endpoint.https {
            return Ok(Stream::Plain(stream));
        }
        let name = ServerName::try_from(self.endpoint.host.clone())
            .map_err(|e| TransportError::Tls(format!("server name {}: {e}", self.endpoint.host)))?;
        let conn = rustls::ClientConnection::new(self.config.clone(), name)
            .map_err(|e| TransportError::Tls(e.to_string()))?;
        Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(
            conn, stream,
        ))))
    }

    fn io_error(&self, e: std::io::Error) -> TransportError {
        if self.endpoint.https {
            self.classify(e)
        } else if matches!(
            e.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ) {
            TransportError::Timeout(e.to_string())
        } else {
            TransportError::Io(e.to_string())
        }
    }

    /// Sends one request (its path after the endpoint's path prefix, as
    /// client-go does) and reads the response, within the client's deadline
    /// and size limits, on the client's one connection (opened when there
    /// is none; opened again once when the server had closed it while idle).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> std::result::Result<Response, TransportError> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut head = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: runnerkey-doctor\r\nAccept: application/json\r\n",
            self.endpoint.path_prefix, self.endpoint.host, self.endpoint.port
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
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        for attempt in 0..2 {
            let reused = guard.is_some();
            if guard.is_none() {
                *guard = Some(std::io::BufReader::new(self.open()?));
            }
            let Some(conn) = guard.as_mut() else {
                continue;
            };
            let sent = conn
                .get_mut()
                .write_all(head.as_bytes())
                .and_then(|()| conn.get_mut().flush());
            let result = match sent {
                Err(e) => Err(ReadError::Io(e)),
                Ok(()) => read_response(conn),
            };
            match result {
                Ok((response, keep)) => {
                    if !keep {
                        *guard = None;
                    }
                    return Ok(response);
                }
                // A kept connection the server closed while idle: once more
                // on a new one.
                Err(ReadError::Closed) if reused && attempt == 0 => *guard = None,
                Err(e) => {
                    *guard = None;
                    return Err(match e {
                        ReadError::Io(e) => self.io_error(e),
                        ReadError::Closed => TransportError::Io(
                            "the server closed the connection without an answer".into(),
                        ),
                        other => other.into_transport(),
                    });
                }
            }
        }
        Err(TransportError::Io(
            "the server closed the connection without an answer".into(),
        ))
    }
}

impl TransportError {
    /// What went wrong, in a few words.
    pub fn detail(&self) -> String {
        match self {
            TransportError::Dns(m)
            | TransportError::Refused(m)
            | TransportError::Timeout(m)
            | TransportError::NotTls(m)
            | TransportError::Tls(m)
            | TransportError::Io(m)
            | TransportError::Proxy(m)
            | TransportError::TooLarge(m) => m.clone(),
            TransportError::ServerCert { problem, .. } => format!("{problem:?}"),
        }
    }
}
