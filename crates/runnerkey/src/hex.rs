//! Bytes as hex text, a byte at a time from a table (no formatting
//! machinery): certificate serials, fingerprints and key ids are written
//! for every certificate `inspect` describes.

const LOWER: &[u8; 16] = b"0123456789abcdef";
const UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// `bytes` as lower-case hex, two digits a byte.
pub(crate) fn lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(LOWER[usize::from(b >> 4)] as char);
        out.push(LOWER[usize::from(b & 0xf)] as char);
    }
    out
}

/// `bytes` as upper-case hex separated by colons, as openssl prints them
/// (`AB:01:FF`).
pub(crate) fn colon_upper(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(UPPER[usize::from(b >> 4)] as char);
        out.push(UPPER[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_format_writes_them() {
        let all: Vec<u8> = (0..=255).collect();
        let formatted: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(lower(&all), formatted);
        let colons = all
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(colon_upper(&all), colons);
        assert_eq!(
            (lower(&[]), colon_upper(&[])),
            (String::new(), String::new())
        );
    }
}
