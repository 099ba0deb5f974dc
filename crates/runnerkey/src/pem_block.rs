//! PEM blocks, found in text that may carry comments or other blocks.

use crate::error::{Error, Result};

pub(crate) use pem::Pem as Block;

/// Every PEM block in `data`. Text around the blocks (comments, `# source`
/// lines) is ignored; a block that is cut off or damaged is an error.
pub(crate) fn parse(data: &[u8]) -> Result<Vec<Block>> {
    let blocks = pem::parse_many(data).map_err(|e| Error::Pem(e.to_string()))?;
    let begins = count(data, b"-----BEGIN ");
    let ends = count(data, b"-----END ");
    if begins != blocks.len() || ends != blocks.len() {
        return Err(Error::Pem(format!(
            "{} BEGIN and {} END lines but {} complete block(s): the file is truncated or damaged",
            begins,
            ends,
            blocks.len()
        )));
    }
    Ok(blocks)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
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
pub(crate) fn wrong_block(expected: &'static str, blocks: &[Block]) -> Error {
    let found = if blocks.is_empty() {
        "no PEM block".to_string()
    } else {
        blocks
            .iter()
            .map(|b| b.tag().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Error::WrongPemBlock { expected, found }
}
