//! [`Secret`]: a string that cannot leak by accident; [`Passphrase`]: the
//! bytes that decrypt a key, likewise.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// What [`Secret`]'s `Debug` and `Serialize` write in place of the value.
pub const REDACTED: &str = "<redacted>";

/// A secret string: a bearer token, a runner token.
///
/// Zeroized on drop; `Debug` prints `Secret(<redacted>)`; there is no
/// `Display`; `Serialize` writes `"<redacted>"`. The value is read only by
/// an explicit [`Secret::expose_secret`] (or, for the few files that must
/// hold it, `#[serde(serialize_with = "runnerkey::secret::expose")]`).
///
/// ```
/// use runnerkey::secret::Secret;
/// let token = Secret::new("glrt-abc");
/// assert_eq!(format!("{token:?}"), "Secret(<redacted>)");
/// assert_eq!(serde_json::to_string(&token).unwrap(), "\"<redacted>\"");
/// assert_eq!(token.expose_secret(), "glrt-abc");
/// ```
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret itself: call only where it must be written or sent.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The secret's bytes (a passphrase handed to a key decryption).
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

/// Compared in constant time (the length aside).
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), other.0.as_bytes())
            .is_ok()
    }
}

impl Eq for Secret {}

/// Writes `"<redacted>"`: a report, a JSON dump or a log never holds the
/// value. See [`expose`] for the files that must.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// `serialize_with` for a field that must hold the secret itself (a
/// kubeconfig's `token`): the one explicit way to serialise the value.
pub fn expose<S: Serializer>(secret: &Secret, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// [`expose`] for an `Option<Secret>`.
pub fn expose_option<S: Serializer>(
    secret: &Option<Secret>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(s) => serializer.serialize_some(s.expose_secret()),
        None => serializer.serialize_none(),
    }
}

/// The passphrase of an encrypted private key: bytes (OpenSSL takes any),
/// zeroized on drop, `Debug` redacted, never serialised.
///
/// ```
/// use runnerkey::secret::Passphrase;
/// let pass = Passphrase::from("correct horse");
/// assert_eq!(format!("{pass:?}"), "Passphrase(<redacted>)");
/// assert_eq!(pass.expose_bytes(), b"correct horse");
/// ```
#[derive(Clone)]
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    /// Wraps `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Zeroizing::new(bytes.into()))
    }

    /// Reads a passphrase file as `openssl -passin file:` does: its first
    /// line, without the line end (`\n` or `\r\n`); errors name the file.
    /// A pipe is read too (`<(pass show ca)`, `/dev/stdin` fed by a pipe),
    /// at most 4 KiB of it, so that a passphrase need never be on disk.
    pub fn read_file(path: &std::path::Path) -> crate::Result<Self> {
        use std::io::Read;
        use std::os::unix::fs::FileTypeExt;
        const MAX_PIPED: u64 = 4096;
        let io = |source| crate::Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let piped = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
        let data = if piped {
            let mut data = Zeroizing::new(Vec::new());
            std::fs::File::open(path)
                .and_then(|f| f.take(MAX_PIPED + 1).read_to_end(&mut data))
                .map_err(io)?;
            if data.len() as u64 > MAX_PIPED {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("more than the {MAX_PIPED} bytes a passphrase is read from a pipe"),
                )));
            }
            data
        } else {
            Zeroizing::new(crate::file::read(path)?)
        };
        let line = data.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Ok(Self::new(line))
    }

    /// The bytes: call only to decrypt.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for Passphrase {
    fn from(value: &str) -> Self {
        Self::new(value.as_bytes())
    }
}

impl From<&[u8]> for Passphrase {
    fn from(value: &[u8]) -> Self {
        Self::new(value)
    }
}

impl From<Vec<u8>> for Passphrase {
    fn from(value: Vec<u8>) -> Self {
        Self(Zeroizing::new(value))
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Passphrase({REDACTED})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passphrase_file_gives_its_first_line() {
        let tmp = tempfile::tempdir().unwrap();
        for (text, want) in [
            (&b"pass\n"[..], &b"pass"[..]),
            (b"pass\r\nsecond\n", b"pass"),
            (b"no line end", b"no line end"),
            (b"\xff\xfe latin\n", b"\xff\xfe latin"),
            (b"", b""),
        ] {
            let path = tmp.path().join("pass");
            std::fs::write(&path, text).unwrap();
            assert_eq!(Passphrase::read_file(&path).unwrap().expose_bytes(), want);
        }
        // A pipe, as `<(…)` or a shell pipe gives it.
        let fifo = tmp.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, b"piped\nrest\n").unwrap())
        };
        assert_eq!(
            Passphrase::read_file(&fifo).unwrap().expose_bytes(),
            b"piped"
        );
        writer.join().unwrap();
        let missing = tmp.path().join("missing");
        let err = Passphrase::read_file(&missing).unwrap_err();
        assert!(matches!(err, crate::Error::Io { ref path, .. } if *path == missing));
    }

    #[test]
    fn secret_never_shows_its_value() {
        let s = Secret::new("eyJhbGciOi.payload.sig");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(
            format!("{:#?}", Some(&s)),
            "Some(\n    Secret(<redacted>),\n)"
        );
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<redacted>\"");
        assert_eq!(s.expose_secret(), "eyJhbGciOi.payload.sig");
    }

    #[test]
    fn secret_serialised_only_when_asked() {
        #[derive(Serialize)]
        struct File {
            #[serde(serialize_with = "expose")]
            token: Secret,
            #[serde(serialize_with = "expose_option")]
            other: Option<Secret>,
        }
        let f = File {
            token: Secret::new("t1"),
            other: Some(Secret::new("t2")),
        };
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"token":"t1","other":"t2"}"#
        );
        let back: Secret = serde_json::from_str("\"t3\"").unwrap();
        assert_eq!(back, Secret::new("t3"));
        assert_ne!(back, Secret::new("t4"));
    }
}
