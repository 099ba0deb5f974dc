//! The byte stream under HTTP: every read and write bounded by the run's
//! deadline, TLS or plain.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A TCP stream whose every read and write must finish before a deadline,
/// so a server trickling bytes cannot hold the client past it.
pub(super) struct DeadlineStream {
    pub(super) tcp: TcpStream,
    pub(super) deadline: Instant,
    pub(super) per_io: Duration,
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
pub(super) enum Stream {
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

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Tls(s) => &s.sock.tcp,
            Stream::Plain(s) => &s.tcp,
        }
    }

    /// Whether an idle connection is still open: nothing waiting to be
    /// read (a waiting byte on an idle connection is a close or an alert),
    /// no end of file.
    pub(super) fn idle_and_open(&self) -> bool {
        let tcp = self.tcp();
        if tcp.set_nonblocking(true).is_err() {
            return false;
        }
        let probe = tcp.peek(&mut [0u8; 1]);
        let restored = tcp.set_nonblocking(false).is_ok();
        restored && matches!(probe, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}
