//! A Kubernetes API client (HTTP by ureq 3) that connects exactly as gitlab-runner
//! does — trusting only `ca_file` (or the system store when it is empty),
//! presenting `cert_file`/`key_file` or a bearer token — and that keeps
//! what it needs to say *why* a connection failed: the server's chain and
//! rustls-webpki's verdict on it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

mod dial;
mod http;
mod stream;
mod tls;
mod trust_store;

pub use crate::endpoint::Endpoint;
pub use http::Response;
pub use tls::ServerCertProblem;

use dial::{Connect, Dialer, NoResolve};
use http::{MAX_RESPONSE_BODY, MAX_RESPONSE_HEAD};
use tls::{CapturingVerifier, ClientIdentity};

use crate::cert::Certificate;
use crate::error::transport::{TransportFailure, TransportFailureKind};
use crate::error::{Error, Result};
use crate::key::PrivateKey;
use crate::proxy::{Proxy, ProxyConfig};
use crate::secret::Secret;

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
    /// The connection works (TLS included) but the answer is not HTTP.
    BadHttp(String),
}

/// How a watch ended.
#[derive(Debug)]
pub enum Watched<T> {
    /// The event handler was satisfied.
    Done(T),
    /// The server closed the stream (its `timeoutSeconds`, or a restart).
    Ended,
    /// The server refused the watch with this answer.
    Refused(Response),
}

/// How the client authenticates.
pub enum Credentials {
    /// A client certificate (then any intermediates, sent with it as
    /// client-go sends `cert_file`'s whole chain) and its key.
    ClientCertificate(Vec<Certificate>, Box<PrivateKey>),
    /// `Authorization: Bearer …` (secret; never printed).
    BearerToken(Secret),
    /// Nothing.
    Anonymous,
}

/// A client for one API server, on ureq: requests share one pooled
/// connection (HTTP/1.1 keep-alive), so a whole doctor run costs one TLS
/// handshake; connections are made by [`dial`], runnerkey's own TLS and
/// proxy rules.
pub struct ApiClient {
    dialer: Arc<Dialer>,
    agent: ureq::Agent,
    base: String,
    bearer: Option<Secret>,
    /// What the requests are for, in the User-Agent:
    /// `runnerkey/VERSION (PURPOSE)`.
    purpose: &'static str,
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
        Self::with_deadline(endpoint, roots, credentials, timeout, timeout)
    }

    /// [`ApiClient::new`] with each read bounded by `timeout` and the
    /// client's whole life by `overall` (a wait that polls for minutes).
    pub fn with_deadline(
        endpoint: Endpoint,
        roots: &[Certificate],
        credentials: Credentials,
        timeout: Duration,
        overall: Duration,
    ) -> Result<Self> {
        Self::with_options(endpoint, roots, credentials, timeout, overall, false)
    }

    /// [`ApiClient::with_deadline`]; with `insecure`, the server's
    /// certificate is looked at but not checked (a kubeconfig's
    /// `insecure-skip-tls-verify`, accepted on request).
    pub fn with_options(
        endpoint: Endpoint,
        roots: &[Certificate],
        credentials: Credentials,
        timeout: Duration,
        overall: Duration,
        insecure: bool,
    ) -> Result<Self> {
        // Timeouts from public fields (DoctorOptions, SubmitParams…) are
        // capped before any instant is computed from them.
        let (timeout, overall) = (
            crate::lifetime::capped(timeout),
            crate::lifetime::capped(overall),
        );
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let roots: Vec<CertificateDer<'static>> = if roots.is_empty() {
            trust_store::system_roots(timeout)
        } else {
            roots
                .iter()
                .map(|c| CertificateDer::from(c.to_der().to_vec()))
                .collect()
        };
        let verifier = Arc::new(CapturingVerifier {
            insecure,
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
                // Borrowed from the zeroized DER: no copy of the key outlives
                // this block unzeroized.
                let der = key.to_der();
                let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(&der[..]));
                let signing = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
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
        let host = if endpoint.host.contains(':') {
            format!("[{}]", endpoint.host)
        } else {
            endpoint.host.clone()
        };
        let base = format!(
            "{}://{host}:{}{}",
            if endpoint.https { "https" } else { "http" },
            endpoint.port,
            endpoint.path_prefix
        );
        let dialer = Arc::new(Dialer {
            endpoint,
            verifier,
            config: Arc::new(config),
            timeout,
            deadline: Instant::now() + overall.max(timeout),
            proxy,
            opened: std::sync::atomic::AtomicUsize::new(0),
        });
        let agent_config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_response_header_size(MAX_RESPONSE_HEAD)
            .max_idle_connections_per_host(1)
            .user_agent(format!("runnerkey/{}", env!("CARGO_PKG_VERSION")))
            .accept("application/json")
            .proxy(None)
            .build();
        let agent = ureq::Agent::with_parts(agent_config, Connect(dialer.clone()), NoResolve);
        Ok(Self {
            dialer,
            agent,
            base,
            bearer,
            purpose: "runnerkey",
        })
    }

    /// Names what the requests are for in their User-Agent
    /// (`runnerkey/VERSION (doctor)`), as kubectl names its command, so an
    /// API server's audit log tells runnerkey's requests apart.
    pub(crate) fn purpose(mut self, purpose: &'static str) -> Self {
        self.purpose = purpose;
        self
    }

    /// The proxy requests go through, chosen by Go's rules.
    pub fn proxy(&self) -> Option<&Proxy> {
        self.dialer.proxy.as_ref()
    }

    /// Sends one request (its path after the endpoint's path prefix, as
    /// client-go does) and reads the response, within the client's deadline
    /// and size limits, on the client's pooled connection (opened when there
    /// is none). A request that failed on a reused connection (the server
    /// had closed it) is sent once more on a new one only when it is
    /// idempotent, as Go's net/http decides: GET, HEAD, OPTIONS and TRACE.
    /// A POST, PUT or PATCH is never sent twice: the server may have acted
    /// on the first (a second CertificateSigningRequest, a second token).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> std::result::Result<Response, TransportError> {
        let body = body.map(|b| b.to_string());
        let opened = || self.dialer.opened.load(std::sync::atomic::Ordering::SeqCst);
        let before = opened();
        match self.send(method, path, body.as_deref()) {
            // A pooled connection the server had closed (no new one was
            // opened for this request): once more, on a new connection.
            Err(TransportError::Io(_)) if opened() == before && idempotent(method) => {
                self.send(method, path, body.as_deref())
            }
            other => other,
        }
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> std::result::Result<Response, TransportError> {
        let request = self.builder(method, path)?;
        let result = match body {
            Some(b) => {
                let request = request
                    .header("Content-Type", "application/json")
                    .body(b.to_string())
                    .map_err(|e| TransportError::Io(format!("{method} {path}: {e}")))?;
                self.agent.run(request)
            }
            None => {
                let request = request
                    .body(())
                    .map_err(|e| TransportError::Io(format!("{method} {path}: {e}")))?;
                self.agent.run(request)
            }
        };
        let mut response = result.map_err(|e| self.transport_error(e))?;
        self.read(&mut response, method, path)
    }

    /// A request to `path` (after the endpoint's prefix), with the bearer
    /// token when there is one, within the client's deadline.
    fn builder(
        &self,
        method: &str,
        path: &str,
    ) -> std::result::Result<ureq::http::request::Builder, TransportError> {
        self.dialer.remaining()?;
        let uri = format!("{}{path}", self.base);
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(&uri)
            .header(
                "User-Agent",
                format!("runnerkey/{} ({})", env!("CARGO_PKG_VERSION"), self.purpose),
            );
        if let Some(t) = &self.bearer {
            request = request.header("Authorization", format!("Bearer {}", t.expose_secret()));
        }
        Ok(request)
    }

    /// A response's status and whole body, at most [`MAX_RESPONSE_BODY`].
    fn read(
        &self,
        response: &mut ureq::http::Response<ureq::Body>,
        method: &str,
        path: &str,
    ) -> std::result::Result<Response, TransportError> {
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BODY as u64)
            .read_to_vec()
            .map_err(|e| self.transport_error(e))?;
        Ok(Response {
            status,
            body,
            request: format!("{method} {path}"),
        })
    }

    /// Opens a watch (`path` with `watch=true`) and hands each event —
    /// its `type` and `object` — to `on_event` until it returns a value,
    /// the server ends the stream, or the client's deadline passes. Each
    /// event line is at most [`MAX_RESPONSE_BODY`] bytes. A watch the
    /// server refuses is returned as its response.
    pub fn watch<T>(
        &self,
        path: &str,
        mut on_event: impl FnMut(&str, &serde_json::Value) -> Option<T>,
    ) -> std::result::Result<Watched<T>, TransportError> {
        use std::io::{BufRead, Read};
        let request = self
            .builder("GET", path)?
            .body(())
            .map_err(|e| TransportError::Io(format!("GET {path}: {e}")))?;
        let mut response = self
            .agent
            .run(request)
            .map_err(|e| self.transport_error(e))?;
        if response.status().as_u16() != 200 {
            return Ok(Watched::Refused(self.read(&mut response, "GET", path)?));
        }
        let mut reader = std::io::BufReader::new(Deadlined {
            inner: response
                .into_body()
                .into_with_config()
                .limit(u64::MAX)
                .reader(),
            dialer: &self.dialer,
        });
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut reader)
                .take(MAX_RESPONSE_BODY as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(|e| self.body_error(e))?;
            if read == 0 {
                return Ok(Watched::Ended);
            }
            if line.len() > MAX_RESPONSE_BODY {
                return Err(TransportError::TooLarge(format!(
                    "a watch event exceeds {MAX_RESPONSE_BODY} bytes"
                )));
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let event: serde_json::Value = serde_json::from_slice(&line)
                .map_err(|e| TransportError::BadHttp(format!("a watch event is not JSON: {e}")))?;
            let kind = event["type"].as_str().unwrap_or("");
            if let Some(done) = on_event(kind, &event["object"]) {
                return Ok(Watched::Done(done));
            }
        }
    }

    /// What an error reading a streamed body means: ureq's or ours inside
    /// it, or the connection's.
    fn body_error(&self, e: std::io::Error) -> TransportError {
        if e.get_ref().is_some_and(|i| i.is::<ureq::Error>()) {
            if let Some(Ok(u)) = e.into_inner().map(|b| b.downcast::<ureq::Error>()) {
                return self.transport_error(*u);
            }
            return TransportError::Io("the watch broke".into());
        }
        if e.get_ref().is_some_and(|i| i.is::<TransportError>()) {
            if let Some(Ok(t)) = e.into_inner().map(|b| b.downcast::<TransportError>()) {
                return *t;
            }
            return TransportError::Io("the watch broke".into());
        }
        self.dialer.io_error(e)
    }

    /// What a ureq error means: ours carried through it, or classified.
    fn transport_error(&self, e: ureq::Error) -> TransportError {
        match e {
            ureq::Error::Io(io) => {
                if io
                    .get_ref()
                    .is_some_and(|inner| inner.is::<TransportError>())
                {
                    match io.into_inner().map(|b| b.downcast::<TransportError>()) {
                        Some(Ok(t)) => *t,
                        _ => TransportError::Io("connection failed".into()),
                    }
                } else {
                    self.dialer.io_error(io)
                }
            }
            ureq::Error::Timeout(_) => self.dialer.deadline_passed(),
            ureq::Error::BodyExceedsLimit(_) => TransportError::TooLarge(format!(
                "the answer's body exceeds {MAX_RESPONSE_BODY} bytes"
            )),
            ureq::Error::LargeResponseHeader(..) => TransportError::TooLarge(format!(
                "the answer's headers exceed {MAX_RESPONSE_HEAD} bytes"
            )),
            ureq::Error::Protocol(p) if self.dialer.endpoint.https => {
                TransportError::BadHttp(format!("the answer is not HTTP: {p}"))
            }
            ureq::Error::Protocol(p) => {
                TransportError::NotTls(format!("the answer is not HTTP: {p}"))
            }
            other => TransportError::Io(other.to_string()),
        }
    }
}

/// Whether Go's net/http would send `method` again after a failure on a
/// reused connection (`Request.isReplayable`: GET, HEAD, OPTIONS, TRACE;
/// runnerkey sends no `Idempotency-Key`).
fn idempotent(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

mod transport_error;

#[cfg(test)]
mod tests;

/// A streamed body that ends with an error once the client's deadline has
/// passed: a server that keeps a watch open with events, blank lines or a
/// byte at a time cannot stretch a wait past it (each read is bounded by
/// the client's per-read timeout).
struct Deadlined<'a, R> {
    inner: R,
    dialer: &'a Dialer,
}

impl<R: std::io::Read> std::io::Read for Deadlined<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Err(e) = self.dialer.remaining() {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, e));
        }
        self.inner.read(buf)
    }
}
