//! HTTP/1.1 as runnerkey needs it besides ureq's: a response's status and
//! body (and what they mean as JSON), the size limits, and a proxy's answer
//! to CONNECT (parsed by httparse).

use std::io::Read;

use serde_json::Value;

/// An HTTP response.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Body.
    pub body: Vec<u8>,
    /// The request it answers: method and path (`POST /api/v1/…`), to name
    /// it in errors.
    pub request: String,
}

/// A body that is not the JSON object a caller expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotJson {
    /// The request answered (`GET /version`).
    pub request: String,
    /// What the caller expected (`a SelfSubjectReview`).
    pub expected: String,
    /// What the body is instead.
    pub reason: String,
}

impl std::fmt::Display for NotJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the answer to {} is not a JSON object ({}); expected {}",
            self.request, self.reason, self.expected
        )
    }
}

impl std::error::Error for NotJson {}

impl NotJson {
    /// As the error of a CSR API or TokenRequest exchange (`what` was being
    /// done; the server answered `status`).
    pub(crate) fn answered(self, what: &'static str, status: u16) -> crate::Error {
        crate::error::csr_api::CsrApiProblem::Answered {
            what,
            status,
            reason: String::new(),
            message: self.to_string(),
        }
        .into()
    }
}

impl Response {
    /// The body as a JSON object, or an error naming the request and
    /// `expected` (what the caller wanted: `a CertificateSigningRequest`)
    /// when it is not JSON or not an object (an HTML error page from a
    /// proxy, a truncated answer).
    pub fn json(&self, expected: &str) -> Result<Value, NotJson> {
        let not = |reason: String| NotJson {
            request: self.request.clone(),
            expected: expected.to_string(),
            reason,
        };
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(other) => Err(not(format!("it is a JSON {}", kind(&other)))),
            Err(e) => Err(not(format!("{} bytes; {e}", self.body.len()))),
        }
    }

    /// The `reason` of the Kubernetes `Status` in the body (`Forbidden`,
    /// `AlreadyExists`, ...; at most 80 characters), empty when it has none.
    pub fn reason(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["reason"].as_str().map(|r| r.chars().take(80).collect()))
            .unwrap_or_default()
    }

    /// What a refusal says: the `message` of the Kubernetes `Status` in the
    /// body (empty when it has none), or, when the body is not JSON, that it
    /// is not and how it begins (at most 80 characters, quoted).
    pub fn message(&self) -> String {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(v) => v["message"].as_str().unwrap_or("").to_string(),
            Err(_) => {
                let text = String::from_utf8_lossy(&self.body);
                let start: String = text.chars().take(80).collect();
                format!(
                    "the answer is not JSON ({} bytes, starting {start:?})",
                    self.body.len()
                )
            }
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Largest response head (status line and headers) read.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Largest response body read.
pub const MAX_RESPONSE_BODY: usize = 8 * 1024 * 1024;
/// Most header fields a proxy's answer to CONNECT may have.
const MAX_CONNECT_HEADERS: usize = 64;

/// Why a proxy did not open the tunnel.
#[derive(Debug)]
pub(super) enum ConnectError {
    /// Reading failed, or the connection closed before the answer ended.
    Io(std::io::Error),
    /// The answer's head exceeds [`MAX_RESPONSE_HEAD`] or has too many fields.
    TooLarge(String),
    /// The answer is not HTTP, or the proxy sent more than its answer.
    Malformed(String),
    /// The proxy answered, but not 200.
    Refused {
        /// Its status code.
        status: u16,
        /// Its reason phrase (as sent, at most 100 characters).
        reason: String,
    },
}

impl ConnectError {
    pub(super) fn detail(&self) -> String {
        match self {
            ConnectError::Io(e) => e.to_string(),
            ConnectError::TooLarge(m) | ConnectError::Malformed(m) => m.clone(),
            ConnectError::Refused { status, reason } => format!("HTTP {status} {reason:?}"),
        }
    }
}

/// Reads a proxy's answer to CONNECT and accepts only `200` (as Go's
/// transport does): the head at most [`MAX_RESPONSE_HEAD`] bytes and
/// [`MAX_CONNECT_HEADERS`] fields, parsed by httparse once its blank line
/// has arrived. The body of a refusal is not read. Nothing may follow a
/// `200` before the client speaks (neither a TLS nor an HTTP server speaks
/// first): bytes that do are the proxy's, and refused.
pub(super) fn read_connect_answer(stream: &mut impl Read) -> Result<(), ConnectError> {
    let mut buf = vec![0u8; MAX_RESPONSE_HEAD];
    let mut len = 0;
    loop {
        if len == buf.len() {
            return Err(ConnectError::TooLarge(format!(
                "the answer's headers exceed {MAX_RESPONSE_HEAD} bytes"
            )));
        }
        let n = match stream.read(&mut buf[len..]) {
            Ok(0) => {
                return Err(ConnectError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the connection closed before the answer's headers ended",
                )));
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ConnectError::Io(e)),
        };
        // Parse only once the head can have ended (a blank line among the
        // new bytes), so an answer trickled a byte at a time costs linear
        // time, not a parse per byte.
        let from = len.saturating_sub(3);
        len += n;
        let new = &buf[from..len];
        if !new.windows(2).any(|w| w == b"\n\n") && !new.windows(3).any(|w| w == b"\n\r\n") {
            continue;
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_CONNECT_HEADERS];
        let mut answer = httparse::Response::new(&mut headers);
        let end = match answer.parse(&buf[..len]) {
            Ok(httparse::Status::Partial) => continue,
            Ok(httparse::Status::Complete(end)) => end,
            Err(httparse::Error::TooManyHeaders) => {
                return Err(ConnectError::TooLarge(format!(
                    "the answer has more than {MAX_CONNECT_HEADERS} header fields"
                )));
            }
            Err(e) => {
                return Err(ConnectError::Malformed(format!(
                    "the answer to CONNECT is not HTTP ({e})"
                )));
            }
        };
        let status = answer.code.unwrap_or(0);
        if status != 200 {
            return Err(ConnectError::Refused {
                status,
                reason: answer.reason.unwrap_or("").chars().take(100).collect(),
            });
        }
        if end < len {
            return Err(ConnectError::Malformed(format!(
                "the proxy sent {} bytes after its answer, before the tunnel was used",
                len - end
            )));
        }
        return Ok(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(bytes: &[u8]) -> Result<(), ConnectError> {
        read_connect_answer(&mut &bytes[..])
    }

    /// A reader handing out one byte per read.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = *first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn a_200_opens_the_tunnel_whole_or_trickled() {
        let ok = b"HTTP/1.1 200 Connection established\r\nProxy-Agent: squid\r\n\r\n";
        assert!(answer(ok).is_ok());
        assert!(read_connect_answer(&mut Trickle(ok)).is_ok());
        assert!(answer(b"HTTP/1.0 200 OK\n\n").is_ok());
    }

    #[test]
    fn hostile_answers_are_refused() {
        // No status line.
        let r = answer(b"Content-Length: 0\r\n\r\n");
        assert!(matches!(r, Err(ConnectError::Malformed(_))), "{r:?}");
        let r = answer(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
        assert!(matches!(r, Err(ConnectError::Malformed(_))), "{r:?}");
        // Headers without end.
        let mut huge = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
        huge.extend(std::iter::repeat_n(b'b', 2 * MAX_RESPONSE_HEAD));
        let r = answer(&huge);
        assert!(matches!(r, Err(ConnectError::TooLarge(_))), "{r:?}");
        // Too many header fields, each small.
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_CONNECT_HEADERS {
            many.extend(format!("X-{i}: v\r\n").bytes());
        }
        many.extend(b"\r\n");
        let r = answer(&many);
        assert!(matches!(r, Err(ConnectError::TooLarge(_))), "{r:?}");
        // A 200 with garbage: a broken header line, or bytes after the head.
        let r = answer(b"HTTP/1.1 200 OK\r\nthis is no header\r\n\r\n");
        assert!(matches!(r, Err(ConnectError::Malformed(_))), "{r:?}");
        let r = answer(b"HTTP/1.1 200 OK\r\n\r\n\x16\x03\x01garbage");
        assert!(matches!(r, Err(ConnectError::Malformed(_))), "{r:?}");
        // A status that is not three digits.
        let r = answer(b"HTTP/1.1 2000 OK\r\n\r\n");
        assert!(matches!(r, Err(ConnectError::Malformed(_))), "{r:?}");
        // Closed before the head ended.
        let r = answer(b"HTTP/1.1 200 OK\r\n");
        assert!(matches!(r, Err(ConnectError::Io(_))), "{r:?}");
    }

    #[test]
    fn a_refusal_names_its_status_and_its_body_is_not_read() {
        let r = answer(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 9\r\n\r\nlogin\r\nno",
        );
        match r {
            Err(e @ ConnectError::Refused { status: 407, .. }) => {
                assert_eq!(e.detail(), "HTTP 407 \"Proxy Authentication Required\"");
            }
            other => panic!("{other:?}"),
        }
        // Another 2xx is not 200, as Go's transport has it.
        let r = answer(b"HTTP/1.1 204 No Content\r\n\r\n");
        assert!(matches!(r, Err(ConnectError::Refused { status: 204, .. })));
    }

    #[test]
    fn json_bodies_and_what_is_not() {
        let r = |body: &[u8]| Response {
            status: 200,
            body: body.to_vec(),
            request: "GET /version".into(),
        };
        assert_eq!(
            r(br#"{"a":1}"#).json("a version").unwrap()["a"],
            serde_json::json!(1)
        );
        let e = r(b"<html>bad gateway</html>")
            .json("a version")
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("GET /version"), "{text}");
        assert!(text.contains("expected a version"), "{text}");
        let e = r(b"[1]").json("a version").unwrap_err();
        assert!(e.reason.contains("array"), "{e}");
        assert!(r(b"").json("x").is_err());
        assert_eq!(r(br#"{"message":"no"}"#).message(), "no");
        assert_eq!(r(b"{}").message(), "");
        let m = r(b"<html>bad gateway</html>").message();
        assert!(m.contains("not JSON") && m.contains("<html>bad"), "{m}");
    }
}
