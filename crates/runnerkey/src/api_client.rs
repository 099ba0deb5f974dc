//! A minimal Kubernetes API client that connects exactly as gitlab-runner
//! does — trusting only `ca_file` (or the system store when it is empty),
//! presenting `cert_file`/`key_file` or a bearer token — and that keeps
//! what it needs to say *why* a connection failed: the server's chain and
//! rustls-webpki's verdict on it.

use std::io::{BufRead, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::key::PrivateKey;
use crate::proxy::{Proxy, ProxyConfig};

/// Where the API server is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP literal.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Whether the URL is `https://`.
    pub https: bool,
    /// The URL's path without a trailing `/` (empty for none): client-go
    /// puts it in front of every request path.
    pub path_prefix: String,
    /// Whether the URL had no scheme (client-go then picks https because
    /// TLS settings are present, on port 443).
    pub scheme_missing: bool,
}

impl Endpoint {
    /// Parses `https://HOST[:PORT][/…]` (also `http://`, and a bare host as
    /// client-go does, meaning https).
    pub fn parse(url: &str) -> Result<Self> {
        let (https, rest, scheme_missing) = if let Some(r) = url.strip_prefix("https://") {
            (true, r, false)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r, false)
        } else if url.contains("://") {
            return Err(bad_url(url));
        } else {
            (true, url, true)
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let path_prefix = path
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_string();
        if authority.contains('@') {
            return Err(bad_url(url));
        }
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
        Ok(Self {
            host,
            port,
            https,
            path_prefix,
            scheme_missing,
        })
    }
}

fn bad_url(url: &str) -> Error {
    let shown = crate::url::without_userinfo(url);
    Error::InvalidArgument(format!(
        "host {shown:?} is not a URL like https://HOST:PORT (without user:password@)"
    ))
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
    /// The proxy Go's rules choose could not be used or refused the tunnel.
    Proxy(String),
    /// The answer is larger than runnerkey reads.
    TooLarge(String),
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
    /// A client certificate (then any intermediates, sent with it as
    /// client-go sends `cert_file`'s whole chain) and its key.
    ClientCertificate(Vec<Certificate>, Box<PrivateKey>),
    /// `Authorization: Bearer …` (secret; never printed).
    BearerToken(String),
    /// Nothing.
    Anonymous,
}

/// Hands rustls the chain and key as they are. rustls' usual path
/// (`with_client_auth_cert`) parses the leaf with webpki, which refuses the
/// X.509 v1 certificates Go and kube-apiserver accept.
#[derive(Debug)]
struct ClientIdentity(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for ClientIdentity {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Largest response head (status line and headers) read.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Largest response body read.
pub const MAX_RESPONSE_BODY: usize = 8 * 1024 * 1024;

/// A TCP stream whose every read and write must finish before a deadline,
/// so a server trickling bytes cannot hold the client past it.
struct DeadlineStream {
    tcp: TcpStream,
    deadline: Instant,
    per_io: Duration,
}

impl DeadlineStream {
    fn arm(&self) -> std::io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the overall deadline passed",
            ));
        }
        let t = left.min(self.per_io);
        self.tcp.set_read_timeout(Some(t))?;
        self.tcp.set_write_timeout(Some(t))
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.tcp.read(buf)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

/// The connection to the API server: TLS over TCP (possibly through a
/// proxy's tunnel), or plain TCP for an `http://` host.
enum Stream {
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, DeadlineStream>>),
    Plain(DeadlineStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tls(s) => s.read(buf),
            Stream::Plain(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tls(s) => s.write(buf),
            Stream::Plain(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Tls(s) => s.flush(),
            Stream::Plain(s) => s.flush(),
        }
    }
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

#[derive(Debug)]
enum ReadError {
    Io(std::io::Error),
    TooLarge(String),
    /// The connection ended before any byte of an answer.
    Closed,
    /// What came back is not HTTP.
    NotHttp(String),
}

impl ReadError {
    fn into_transport(self) -> TransportError {
        match self {
            ReadError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                TransportError::Timeout(e.to_string())
            }
            ReadError::Io(e) => TransportError::Io(e.to_string()),
            ReadError::TooLarge(m) => TransportError::TooLarge(m),
            ReadError::Closed => TransportError::Io("the connection closed".into()),
            ReadError::NotHttp(m) => TransportError::NotTls(m),
        }
    }

    fn detail(&self) -> String {
        match self {
            ReadError::Io(e) => e.to_string(),
            ReadError::TooLarge(m) | ReadError::NotHttp(m) => m.clone(),
            ReadError::Closed => "the connection closed".into(),
        }
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

/// Reads a response head (through the blank line) from a proxy, at most
/// [`MAX_RESPONSE_HEAD`] bytes, one byte at a time so nothing of the
/// tunnel's payload is consumed.
fn read_head(stream: &mut impl Read) -> std::result::Result<Vec<u8>, ReadError> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_RESPONSE_HEAD {
            return Err(ReadError::TooLarge(format!(
                "the answer's headers exceed {MAX_RESPONSE_HEAD} bytes"
            )));
        }
        match stream.read(&mut byte) {
            Ok(0) => {
                return Err(ReadError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the connection closed before the answer's headers ended",
                )));
            }
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(head)
}

fn status_of(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    std::str::from_utf8(line)
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Reads one response: the head (at most [`MAX_RESPONSE_HEAD`] bytes),
/// parsed with httparse, then the body as its framing says (Content-Length,
/// chunked, or until the connection closes), at most [`MAX_RESPONSE_BODY`]
/// bytes. Also says whether the connection may carry another request.
fn read_response(reader: &mut impl BufRead) -> std::result::Result<(Response, bool), ReadError> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let n = reader.read_until(b'\n', &mut head).map_err(ReadError::Io)?;
        if n == 0 {
            return Err(if before == 0 {
                ReadError::Closed
            } else {
                ReadError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the connection closed in the middle of the answer's headers",
                ))
            });
        }
        if head.len() > MAX_RESPONSE_HEAD {
            return Err(ReadError::TooLarge(format!(
                "the answer's headers exceed {MAX_RESPONSE_HEAD} bytes"
            )));
        }
        if head.ends_with(b"\r\n\r\n") || head == b"\r\n" {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) | Err(_) => {
            return Err(ReadError::NotHttp("the answer is not HTTP".into()));
        }
    }
    let status = parsed.code.unwrap_or(0);
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    let chunked = header("transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let length = header("content-length");
    let mut keep = parsed.version == Some(1) && header("connection").as_deref() != Some("close");
    let too_large = || {
        ReadError::TooLarge(format!(
            "the answer's body exceeds {MAX_RESPONSE_BODY} bytes"
        ))
    };
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut line = Vec::new();
            reader
                .by_ref()
                .take(1024)
                .read_until(b'\n', &mut line)
                .map_err(ReadError::Io)?;
            let size_text = String::from_utf8_lossy(&line);
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| ReadError::NotHttp("a malformed chunk size".into()))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    let mut trailer = Vec::new();
                    let n = reader
                        .by_ref()
                        .take(MAX_RESPONSE_HEAD as u64)
                        .read_until(b'\n', &mut trailer)
                        .map_err(ReadError::Io)?;
                    if n == 0 || trailer == b"\r\n" || trailer == b"\n" {
                        break;
                    }
                }
                break;
            }
            if body.len().saturating_add(size) > MAX_RESPONSE_BODY {
                return Err(too_large());
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader
                .read_exact(&mut body[start..])
                .map_err(ReadError::Io)?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf).map_err(ReadError::Io)?;
        }
    } else if let Some(length) = length {
        let length: usize = length
            .parse()
            .map_err(|_| ReadError::NotHttp("a malformed Content-Length".into()))?;
        if length > MAX_RESPONSE_BODY {
            return Err(too_large());
        }
        body.resize(length, 0);
        reader.read_exact(&mut body).map_err(ReadError::Io)?;
    } else {
        keep = false;
        let n = reader
            .by_ref()
            .take(MAX_RESPONSE_BODY as u64 + 1)
            .read_to_end(&mut body);
        match n {
            Err(e) if e.kind() != std::io::ErrorKind::UnexpectedEof || body.is_empty() => {
                return Err(ReadError::Io(e));
            }
            _ => {}
        }
        if body.len() > MAX_RESPONSE_BODY {
            return Err(too_large());
        }
    }
    Ok((Response { status, body }, keep))
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
        let e = Endpoint::parse("https://h:6443/k8s/api/").unwrap();
        assert_eq!(e.path_prefix, "/k8s/api");
        let e = Endpoint::parse("1.2.3.4").unwrap();
        assert!(e.scheme_missing && e.https && e.port == 443);
        assert!(Endpoint::parse("ftp://h").is_err());
    }

    #[test]
    fn chunked_and_plain_bodies() {
        let mut r = std::io::Cursor::new(
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\nHTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"[..],
        );
        let (first, keep) = read_response(&mut r).unwrap();
        assert_eq!(
            (first.status, first.body.as_slice(), keep),
            (200, &b"abcde"[..], true)
        );
        let (second, keep) = read_response(&mut r).unwrap();
        assert_eq!(
            (second.status, second.body.as_slice(), keep),
            (401, &b"{}"[..], false)
        );
        assert!(matches!(read_response(&mut r), Err(ReadError::Closed)));
    }

    #[test]
    fn oversized_and_broken_answers_are_refused() {
        let big = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_RESPONSE_BODY + 1
        );
        let mut r = std::io::Cursor::new(big.into_bytes());
        assert!(matches!(read_response(&mut r), Err(ReadError::TooLarge(_))));
        let mut endless = "HTTP/1.1 200 OK\r\n".to_string();
        endless.push_str(&"X-A: b\r\n".repeat(20_000));
        let mut r = std::io::Cursor::new(endless.into_bytes());
        assert!(matches!(read_response(&mut r), Err(ReadError::TooLarge(_))));
        let mut r = std::io::Cursor::new(&b"SSH-2.0-OpenSSH_9.6\r\n\r\n"[..]);
        assert!(matches!(read_response(&mut r), Err(ReadError::NotHttp(_))));
    }
}
