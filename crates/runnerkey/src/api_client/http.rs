//! HTTP/1.1 as runnerkey needs it besides ureq's: a response's status and
//! body, the size limits, and a proxy's answer to CONNECT.

use std::io::Read;

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

/// Why a proxy's answer to CONNECT could not be read.
#[derive(Debug)]
pub(super) enum ReadError {
    Io(std::io::Error),
    TooLarge(String),
}

impl ReadError {
    pub(super) fn detail(&self) -> String {
        match self {
            ReadError::Io(e) => e.to_string(),
            ReadError::TooLarge(m) => m.clone(),
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
