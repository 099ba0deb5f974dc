//! Making connections for ureq: TCP with Go's dialer habits (TCP_NODELAY),
//! through an HTTP proxy's CONNECT tunnel when Go's rules choose one, then
//! TLS with runnerkey's verifier and client identity; every read and write
//! bounded by the run's deadline. ureq frames HTTP on top and pools the
//! connection, so a whole run costs one handshake.

use std::fmt;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rustls::pki_types::ServerName;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport,
};

use super::TransportError;
use super::http::{ConnectError, read_connect_answer};
use super::stream::{DeadlineStream, Stream};
use super::tls::CapturingVerifier;
use crate::cert::Certificate;
use crate::endpoint::Endpoint;
use crate::proxy::Proxy;

/// Everything needed to open a connection to the API server.
pub(super) struct Dialer {
    pub(super) endpoint: Endpoint,
    pub(super) verifier: Arc<CapturingVerifier>,
    pub(super) config: Arc<rustls::ClientConfig>,
    pub(super) timeout: Duration,
    pub(super) deadline: Instant,
    pub(super) proxy: Option<Proxy>,
    /// Connections opened so far.
    pub(super) opened: std::sync::atomic::AtomicUsize,
}

impl Dialer {
    pub(super) fn remaining(&self) -> std::result::Result<Duration, TransportError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.deadline_passed());
        }
        Ok(left.min(self.timeout))
    }

    pub(super) fn deadline_passed(&self) -> TransportError {
        TransportError::Timeout(format!(
            "no complete answer in the time allowed ({:?} a read, and a deadline for the whole exchange)",
            self.timeout
        ))
    }

    pub(super) fn tcp(
        &self,
        host: &str,
        port: u16,
    ) -> std::result::Result<TcpStream, TransportError> {
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
    pub(super) fn connect(&self) -> std::result::Result<DeadlineStream, TransportError> {
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
        read_connect_answer(&mut stream).map_err(|e| match e {
            ConnectError::Refused { .. } => TransportError::Proxy(format!(
                "{} refused the tunnel to {target}: {}",
                proxy.url,
                e.detail()
            )),
            _ => TransportError::Proxy(format!("{}: {}", proxy.url, e.detail())),
        })?;
        Ok(stream)
    }

    pub(super) fn bounded(&self, tcp: TcpStream) -> DeadlineStream {
        DeadlineStream {
            tcp,
            deadline: self.deadline,
            per_io: self.timeout,
        }
    }

    pub(super) fn classify(&self, e: std::io::Error) -> TransportError {
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
            // A read timeout surfaces as EAGAIN ("Resource temporarily
            // unavailable"): say what it means.
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= self.deadline {
                    self.deadline_passed()
                } else {
                    TransportError::Timeout(format!(
                        "the server sent nothing for {:?} ({text})",
                        self.timeout
                    ))
                }
            }
            _ => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                // What answered does not speak TLS: its bytes are no TLS
                // record (rustls: invalid content type, a record too
                // large, a message that does not decode).
                Some(rustls::Error::InvalidMessage(_)) => TransportError::NotTls(text),
                Some(_) => TransportError::Tls(text),
                None => TransportError::Io(text),
            },
        }
    }

    /// A new connection: TCP (through the proxy when Go's rules choose
    /// one), then TLS for an `https://` host (the handshake happens with the
    /// first request).
    pub(super) fn open(&self) -> std::result::Result<Stream, TransportError> {
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

    pub(super) fn io_error(&self, e: std::io::Error) -> TransportError {
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
}

/// The connector ureq calls when its pool has no open connection.
pub(super) struct Connect(pub(super) Arc<Dialer>);

impl fmt::Debug for Connect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Connect")
    }
}

impl Connector<()> for Connect {
    type Out = StreamTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        self.0
            .opened
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let stream = self.0.open().map_err(into_ureq)?;
        Ok(Some(StreamTransport {
            stream,
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            closed: false,
        }))
    }
}

/// Carries a [`TransportError`] through ureq, to be taken out again.
pub(super) fn into_ureq(e: TransportError) -> ureq::Error {
    ureq::Error::Io(std::io::Error::other(e))
}

/// The connector resolves names itself (through the proxy, the proxy's).
#[derive(Debug)]
pub(super) struct NoResolve;

impl Resolver for NoResolve {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        Ok(self.empty())
    }
}

/// One connection, as ureq's transport.
pub(super) struct StreamTransport {
    stream: Stream,
    buffers: LazyBuffers,
    closed: bool,
}

impl fmt::Debug for StreamTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamTransport")
    }
}

impl Transport for StreamTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, _timeout: NextTimeout) -> Result<(), ureq::Error> {
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        self.stream.flush()?;
        Ok(())
    }

    fn await_input(&mut self, _timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let input = self.buffers.input_append_buf();
        let n = self.stream.read(input)?;
        self.buffers.input_appended(n);
        if n == 0 {
            self.closed = true;
        }
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        // An idle connection the server closed (or sent a TLS alert on)
        // has bytes or an end of file waiting: not reused.
        !self.closed && self.stream.idle_and_open()
    }

    fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }
}
