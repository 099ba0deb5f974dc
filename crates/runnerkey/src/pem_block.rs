//! PEM blocks, read exactly as Go's `encoding/pem` reads them — the reader
//! kube-apiserver, kube-controller-manager's signer, client-go and
//! gitlab-runner use. A `-----BEGIN` counts only at the start of the data or
//! of a line; text around blocks is skipped; a block that Go cannot read
//! (damaged base64, a mismatched END line) is skipped as Go skips it.
//!
//! The port follows Go 1.26's `pem.Decode` step by step (including its
//! base64 decoder, which ignores CR and LF and accepts non-canonical
//! trailing bits); the test suite checks it against Go's own code on a
//! corpus of PEM shapes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::error::{Error, Result};

const PEM_START: &[u8] = b"\n-----BEGIN ";
const PEM_END: &[u8] = b"\n-----END ";
const PEM_END_OF_LINE: &[u8] = b"-----";

/// One PEM block as Go's `encoding/pem` decodes it: its type (the label
/// between `BEGIN ` and `-----`), its headers and its decoded bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct PemBlock {
    label: Vec<u8>,
    headers: BTreeMap<Vec<u8>, Vec<u8>>,
    contents: Vec<u8>,
}

impl std::fmt::Debug for PemBlock {
    // The contents may be a private key: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemBlock")
            .field("label", &self.label())
            .field("headers", &self.headers.len())
            .field("contents", &format_args!("<{} bytes>", self.contents.len()))
            .finish()
    }
}

impl Drop for PemBlock {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.contents);
    }
}

impl PemBlock {
    /// Finds the next block in `data` exactly as Go's `pem.Decode` does:
    /// the block (or `None`) and the rest of the input after it (all of
    /// `data` when no block is found).
    pub fn decode(data: &[u8]) -> (Option<PemBlock>, &[u8]) {
        match decode(data) {
            Some((block, _, rest)) => (Some(block), rest),
            None => (None, data),
        }
    }

    /// The block's type, e.g. `CERTIFICATE` (bytes that are not UTF-8
    /// replaced).
    pub fn label(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.label)
    }

    /// The type as the bytes of the input.
    pub fn label_bytes(&self) -> &[u8] {
        &self.label
    }

    /// The headers (`Proc-Type: 4,ENCRYPTED` …) as Go reads them: keys and
    /// values trimmed, a later key replacing an earlier one.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// The value of header `key`, if present and UTF-8.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .get(key.as_bytes())
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The decoded contents (DER for certificates, CSRs and keys).
    pub fn contents(&self) -> &[u8] {
        &self.contents
    }

    pub(crate) fn is(&self, label: &str) -> bool {
        self.label == label.as_bytes()
    }
}

/// Every block Go's loop `for { b, rest = pem.Decode(rest); if b == nil
/// { break } }` finds, in order.
pub(crate) fn parse(data: &[u8]) -> Result<Vec<PemBlock>> {
    let mut blocks = Vec::new();
    let mut rest = data;
    while let Some((block, _, next)) = decode(rest) {
        blocks.push(block);
        rest = next;
    }
    Ok(blocks)
}

/// The one block `data` holds, as the API server's CSR validation and the
/// signer read `spec.request` (the first block Go finds), refusing anything
/// else around it: text before or after, a second block, headers. Leading
/// and trailing whitespace is allowed.
pub(crate) fn parse_exactly_one(data: &[u8], expected: &'static str) -> Result<PemBlock> {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    let Some((block, begin, rest)) = decode(data) else {
        return Err(wrong_block(expected, &[], data));
    };
    if !block.is(expected) {
        return Err(Error::WrongPemBlock {
            expected,
            found: format!("a {} block first", block.label()),
        });
    }
    let mut problems = Vec::new();
    // The block Go finds must be the first thing in the data: whatever
    // stands before it (text, or a block Go cannot read but another reader
    // might) is refused.
    if begin != start {
        problems.push("text before the BEGIN line (or a block Go's encoding/pem cannot read)");
    }
    if !block.headers.is_empty() {
        problems.push("PEM headers");
    }
    if !rest.iter().all(u8::is_ascii_whitespace) {
        problems.push(if parse(rest)?.is_empty() {
            "text after the END line"
        } else {
            "a second PEM block"
        });
    }
    if problems.is_empty() {
        Ok(block)
    } else {
        Err(Error::Pem(format!(
            "the {expected} block is not alone: {} (Kubernetes reads only the first block Go's encoding/pem finds, so anything else could be read differently)",
            problems.join(", ")
        )))
    }
}

/// Go's `getLine`: the line (without CR LF, trailing spaces and tabs
/// trimmed), the rest after it, and how many bytes were consumed.
fn get_line(data: &[u8]) -> (&[u8], &[u8], usize) {
    let (mut i, j) = match data.iter().position(|&b| b == b'\n') {
        None => (data.len(), data.len()),
        Some(i) => (i, i + 1),
    };
    if j > i && i > 0 && data[i - 1] == b'\r' {
        i -= 1;
    }
    let mut line = &data[..i];
    while let [head @ .., b' ' | b'\t'] = line {
        line = head;
    }
    (line, &data[j..], j)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Go's `unicode.IsSpace`, which `bytes.TrimSpace` applies to runes.
fn go_trim_space(mut s: &[u8]) -> &[u8] {
    while let Some(c) = first_char(s).filter(|c| c.is_whitespace()) {
        s = &s[c.len_utf8()..];
    }
    while let Some(c) = last_char(s).filter(|c| c.is_whitespace()) {
        s = &s[..s.len() - c.len_utf8()];
    }
    s
}

fn first_char(s: &[u8]) -> Option<char> {
    let n = s.len().min(4);
    (1..=n).find_map(|k| {
        std::str::from_utf8(&s[..k])
            .ok()
            .and_then(|t| t.chars().next())
    })
}

fn last_char(s: &[u8]) -> Option<char> {
    let n = s.len().min(4);
    (1..=n).find_map(|k| {
        std::str::from_utf8(&s[s.len() - k..])
            .ok()
            .and_then(|t| t.chars().next())
    })
}

/// A port of Go 1.26's `encoding/pem.Decode`: the block, where its BEGIN
/// line starts in `data`, and the rest after it.
fn decode(data: &[u8]) -> Option<(PemBlock, usize, &[u8])> {
    let mut rest = data;
    let mut end_trailer_index: isize = 0;
    loop {
        if end_trailer_index < 0 || end_trailer_index as usize > rest.len() {
            return None;
        }
        rest = &rest[end_trailer_index as usize..];
        let mut end_index = find(rest, PEM_END)? as isize;
        end_trailer_index = end_index + PEM_END.len() as isize;
        let begin_index = match rfind(&rest[..end_index as usize], &PEM_START[1..]) {
            Some(b) if b == 0 || rest[b - 1] == b'\n' => b,
            _ => continue,
        };
        let begin = data.len() - rest[begin_index..].len();
        let skip = (begin_index + PEM_START.len() - 1) as isize;
        rest = &rest[skip as usize..];
        end_index -= skip;
        end_trailer_index -= skip;

        let (type_line, after, consumed) = get_line(rest);
        rest = after;
        end_index -= consumed as isize;
        end_trailer_index -= consumed as isize;
        let Some(label) = type_line.strip_suffix(PEM_END_OF_LINE) else {
            continue;
        };

        let mut headers = BTreeMap::new();
        loop {
            if rest.is_empty() {
                return None;
            }
            let (line, next, consumed) = get_line(rest);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                break;
            };
            let key = go_trim_space(&line[..colon]);
            let value = go_trim_space(&line[colon + 1..]);
            headers.insert(key.to_vec(), value.to_vec());
            rest = next;
            end_index -= consumed as isize;
            end_trailer_index -= consumed as isize;
        }
        if !headers.is_empty() && end_index < 0 {
            continue;
        }
        if end_trailer_index < 0 || end_trailer_index as usize > rest.len() {
            continue;
        }
        let end_trailer = &rest[end_trailer_index as usize..];
        let end_trailer_len = label.len() + PEM_END_OF_LINE.len();
        if end_trailer.len() < end_trailer_len {
            continue;
        }
        let (end_trailer, rest_of_end_line) = end_trailer.split_at(end_trailer_len);
        if !end_trailer.starts_with(label) || !end_trailer.ends_with(PEM_END_OF_LINE) {
            continue;
        }
        if !get_line(rest_of_end_line).0.is_empty() {
            continue;
        }
        let mut contents = Vec::new();
        if end_index > 0 {
            let text: Vec<u8> = rest[..end_index as usize]
                .iter()
                .copied()
                .filter(|&b| b != b' ' && b != b'\t')
                .collect();
            match go_base64_std(&text) {
                Some(bytes) => contents = bytes,
                None => continue,
            }
        }
        let after_end = (end_index + PEM_END.len() as isize - 1) as usize;
        let (_, rest, _) = get_line(&rest[after_end..]);
        return Some((
            PemBlock {
                label: label.to_vec(),
                headers,
                contents,
            },
            begin,
            rest,
        ));
    }
}

/// Go's `base64.StdEncoding.Decode`: CR and LF are ignored anywhere,
/// padding is required, nothing may follow it, and the unused bits of the
/// last quantum need not be zero.
fn go_base64_std(text: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let chars: Vec<u8> = text
        .iter()
        .copied()
        .filter(|&c| c != b'\r' && c != b'\n')
        .collect();
    if !chars.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(chars.len() / 4 * 3);
    let quanta = chars.len() / 4;
    for (n, q) in chars.chunks_exact(4).enumerate() {
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && n + 1 != quanta) {
            return None;
        }
        let mut acc: u32 = 0;
        for &c in &q[..4 - pad] {
            acc = (acc << 6) | u32::from(value(c)?);
        }
        acc <<= 6 * pad as u32;
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

/// PEM text for `der` under `tag`, with LF line endings as OpenSSL and
/// kubeadm write them (the pem crate's default is CRLF).
pub(crate) fn encode(tag: &str, der: Vec<u8>) -> String {
    pem::encode_config(
        &pem::Pem::new(tag, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// The error for input that holds no block of the kind wanted.
pub(crate) fn wrong_block(expected: &'static str, blocks: &[PemBlock], data: &[u8]) -> Error {
    let found = if blocks.is_empty() {
        if find(data, b"-----BEGIN").is_some() {
            "no PEM block that Go's encoding/pem can read (a BEGIN line not at the start of a line, a missing or mismatched END line, or damaged base64)".to_string()
        } else {
            "no PEM block".to_string()
        }
    } else {
        // Bounded whatever the input: the first few labels, each cut short.
        const SHOWN: usize = 5;
        let mut found = blocks
            .iter()
            .take(SHOWN)
            .map(|b| b.label().chars().take(64).collect::<String>())
            .collect::<Vec<_>>()
            .join(", ");
        if blocks.len() > SHOWN {
            found.push_str(&format!(" and {} more", blocks.len() - SHOWN));
        }
        found
    };
    Error::WrongPemBlock { expected, found }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(label: &str, der: &[u8]) -> String {
        encode(label, der.to_vec())
    }

    #[test]
    fn the_wrong_blocks_are_named_in_a_bounded_message() {
        let long = "X".repeat(1000);
        let data = format!("{}{}", pem(&long, b"a"), pem("B", b"b").repeat(10_000));
        let blocks = parse(data.as_bytes()).unwrap();
        let err = wrong_block("certificate", &blocks, data.as_bytes()).to_string();
        assert!(err.len() < 400, "{} bytes", err.len());
        assert!(
            err.contains("B, B") && err.ends_with(" and 9996 more)"),
            "{err}"
        );
    }

    #[test]
    fn begin_counts_only_at_a_line_start() {
        let a = pem("CERTIFICATE REQUEST", b"first");
        let b = pem("CERTIFICATE REQUEST", b"second");
        let data = format!("x{a}{b}");
        let blocks = parse(data.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].contents(), b"second");
        assert!(matches!(
            parse_exactly_one(data.as_bytes(), "CERTIFICATE REQUEST"),
            Err(crate::Error::Pem { .. })
        ));
        assert_eq!(
            parse_exactly_one(format!("\n{a}\n").as_bytes(), "CERTIFICATE REQUEST")
                .unwrap()
                .contents(),
            b"first"
        );
    }

    #[test]
    fn exactly_one_refuses_company() {
        let a = pem("CERTIFICATE REQUEST", b"first");
        let b = pem("CERTIFICATE REQUEST", b"second");
        for data in [
            format!("{a}{b}"),
            format!("junk\n{a}"),
            format!("{a}junk"),
            a.replace(
                "BEGIN CERTIFICATE REQUEST-----\n",
                "BEGIN CERTIFICATE REQUEST-----\nK: v\n",
            ),
        ] {
            assert!(
                matches!(
                    parse_exactly_one(data.as_bytes(), "CERTIFICATE REQUEST"),
                    Err(Error::Pem(_))
                ),
                "{data}"
            );
        }
        assert!(matches!(
            parse_exactly_one(pem("CERTIFICATE", b"x").as_bytes(), "CERTIFICATE REQUEST"),
            Err(Error::WrongPemBlock { .. })
        ));
    }

    #[test]
    fn crlf_headers_and_damage_as_go() {
        let a = pem("X", b"hello world").replace('\n', "\r\n");
        let (b, rest) = PemBlock::decode(a.as_bytes());
        assert_eq!(b.unwrap().contents(), b"hello world");
        assert!(rest.is_empty());
        let h = "-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n\naGk=\n-----END X-----\n";
        let b = PemBlock::decode(h.as_bytes()).0.unwrap();
        assert_eq!(b.header("Proc-Type"), Some("4,ENCRYPTED"));
        assert_eq!(b.contents(), b"hi");
        let bad = "-----BEGIN X-----\naGk\n-----END X-----\n";
        assert!(PemBlock::decode(bad.as_bytes()).0.is_none());
        let mismatched = "-----BEGIN X-----\naGk=\n-----END Y-----\n";
        assert!(PemBlock::decode(mismatched.as_bytes()).0.is_none());
        let loose_bits = "-----BEGIN X-----\naGl=\n-----END X-----\n";
        assert_eq!(
            PemBlock::decode(loose_bits.as_bytes())
                .0
                .unwrap()
                .contents(),
            b"hi"
        );
    }
}
