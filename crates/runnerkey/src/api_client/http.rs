//! HTTP/1.1 responses, framed as their headers say (parsed with httparse),
//! within size limits.

use std::io::{BufRead, Read};

use super::TransportError;

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

/// Largest response head (status line and headers) read.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Largest response body read.
pub const MAX_RESPONSE_BODY: usize = 8 * 1024 * 1024;

#[derive(Debug)]
pub(super) enum ReadError {
    Io(std::io::Error),
    TooLarge(String),
    /// The connection ended before any byte of an answer.
    Closed,
    /// What came back is not HTTP.
    NotHttp(String),
}

impl ReadError {
    pub(super) fn into_transport(self) -> TransportError {
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

    pub(super) fn detail(&self) -> String {
        match self {
            ReadError::Io(e) => e.to_string(),
            ReadError::TooLarge(m) | ReadError::NotHttp(m) => m.clone(),
            ReadError::Closed => "the connection closed".into(),
        }
    }
}

/// Reads a response head (through the blank line) from a proxy, at most
/// [`MAX_RESPONSE_HEAD`] bytes, one byte at a time so nothing of the
/// tunnel's payload is consumed.
pub(super) fn read_head(stream: &mut impl Read) -> std::result::Result<Vec<u8>, ReadError> {
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

pub(super) fn status_of(head: &[u8]) -> Option<u16> {
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
pub(super) fn read_response(
    reader: &mut impl BufRead,
) -> std::result::Result<(Response, bool), ReadError> {
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
