//! A config split at its `[[runners]]` headers, so that it is parsed one
//! part at a time: memory then follows the largest runner, not the file
//! (toml_edit's tree takes about thirty times the text). Whenever the split
//! could differ from what a whole-file parse sees — a part that does not
//! parse, `runners` defined any other way, a top-level table defined in two
//! parts — the file is read as one document instead, so the verdict is
//! always the whole-file parser's.

use std::collections::HashSet;
use std::ops::Range;

use toml_edit::{Document, Item};

use super::{RunnerInfo, parse, runner_info};
use crate::error::Result;

/// How the text is read.
#[derive(Clone, Debug)]
pub(crate) enum Layout {
    /// One document.
    Whole,
    /// The part before the first `[[runners]]`, then one part per runner.
    Parts(Vec<Range<usize>>),
}

/// A parsed piece of the text: where it starts, its document, and the
/// index of its first runner.
pub(crate) struct Piece {
    /// Byte offset of the document's text in the whole text.
    pub offset: usize,
    /// The document.
    pub doc: Document<String>,
    /// Index of the document's first `[[runners]]` entry in the file.
    pub first_runner: usize,
}

/// Byte offsets of the lines that are a `[[runners]]` header at the top
/// level (not inside a string or a multi-line value), or `None` when the
/// text has something the scanner does not follow.
fn runner_headers(text: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    let mut multiline: Option<&str> = None;
    let mut depth = 0usize;
    let mut at = 0usize;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let mut rest = line;
        if let Some(delim) = multiline {
            match rest.find(delim) {
                Some(i) => {
                    rest = &rest[i + 3..];
                    multiline = None;
                }
                None => continue,
            }
        } else if depth == 0 {
            let trimmed = rest.trim_start();
            if let Some(header) = trimmed.strip_prefix("[[") {
                let name = header.split("]]").next().unwrap_or("").trim();
                if name == "runners" {
                    out.push(start);
                } else if name.trim_matches(['"', '\'']) == "runners" {
                    return None;
                }
                continue;
            }
            if trimmed.starts_with('[') {
                continue;
            }
        }
        // Follow strings, comments and brackets to the end of the line.
        let bytes = rest.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'#' => break,
                q @ (b'"' | b'\'') => {
                    let triple = if q == b'"' { "\"\"\"" } else { "'''" };
                    if rest[i..].starts_with(triple) {
                        match rest[i + 3..].find(triple) {
                            Some(j) => i += 3 + j + 3,
                            None => {
                                multiline = Some(triple);
                                break;
                            }
                        }
                        continue;
                    }
                    i += 1;
                    while i < bytes.len() && bytes[i] != q {
                        if q == b'"' && bytes[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                b'[' | b'{' => {
                    depth += 1;
                    i += 1;
                }
                b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    i += 1;
                }
                _ => i += 1,
            }
        }
    }
    (multiline.is_none() && depth == 0).then_some(out)
}

/// Splits `text` and reads every part once: the layout and what it holds
/// of each runner, or the whole-file parser's error.
pub(crate) fn analyze(text: &str) -> Result<(Layout, Vec<RunnerInfo>)> {
    if let Some((layout, runners)) = split(text) {
        return Ok((layout, runners));
    }
    let doc = parse(text.to_string())?;
    let runners = doc
        .get("runners")
        .and_then(Item::as_array_of_tables)
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, t)| runner_info(i, t))
                .collect()
        })
        .unwrap_or_default();
    Ok((Layout::Whole, runners))
}

fn split(text: &str) -> Option<(Layout, Vec<RunnerInfo>)> {
    let headers = runner_headers(text)?;
    if headers.is_empty() {
        return None;
    }
    let mut bounds = vec![0];
    bounds.extend(&headers);
    bounds.push(text.len());
    let parts: Vec<Range<usize>> = bounds.windows(2).map(|w| w[0]..w[1]).collect();
    let mut top_level = HashSet::new();
    let mut runners = Vec::with_capacity(headers.len());
    for (n, range) in parts.iter().enumerate() {
        let doc = parse(text[range.clone()].to_string()).ok()?;
        for (key, item) in doc.iter() {
            if key == "runners" {
                let tables = item.as_array_of_tables()?;
                if n == 0 || tables.len() != 1 {
                    return None;
                }
                runners.push(runner_info(n - 1, tables.get(0)?));
            } else if !top_level.insert(key.to_string()) {
                return None;
            }
        }
        if n > 0 && runners.len() != n {
            return None;
        }
    }
    Some((Layout::Parts(parts), runners))
}

impl Layout {
    /// Calls `f` with each parsed piece in order (one piece for a whole
    /// document); each is dropped before the next is parsed.
    pub(crate) fn for_each(
        &self,
        text: &str,
        only_runner: Option<usize>,
        mut f: impl FnMut(Piece),
    ) -> Result<()> {
        match self {
            Layout::Whole => f(Piece {
                offset: 0,
                doc: parse(text.to_string())?,
                first_runner: 0,
            }),
            Layout::Parts(parts) => {
                for (n, range) in parts.iter().enumerate() {
                    if n > 0 && only_runner.is_some_and(|r| r + 1 != n) {
                        continue;
                    }
                    f(Piece {
                        offset: range.start,
                        doc: parse(text[range.clone()].to_string())?,
                        first_runner: n.saturating_sub(1),
                    });
                }
            }
        }
        Ok(())
    }

    /// Moves the parts after runner `index`'s by `delta` bytes (its own part
    /// ends `delta` bytes later), after an edit of that part.
    pub(crate) fn shift_after(&mut self, index: usize, delta: isize) {
        if let Layout::Parts(parts) = self {
            let shift = |x: usize| (x as isize + delta) as usize;
            if let Some(own) = parts.get_mut(index + 1) {
                own.end = shift(own.end);
            }
            for p in parts.iter_mut().skip(index + 2) {
                *p = shift(p.start)..shift(p.end);
            }
        }
    }

    /// The byte range of runner `index`'s part, when the text is split.
    pub(crate) fn runner_part(&self, index: usize) -> Option<Range<usize>> {
        match self {
            Layout::Whole => None,
            Layout::Parts(parts) => parts.get(index + 1).cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_headers_only() {
        let text = "a = 1\n[[runners]]\n  name = \"x\"\n  s = \"\"\"\n[[runners]]\n\"\"\"\n  [runners.k]\n    v = [\n[[1]],\n]\n  [[ runners ]]\n  name = \"y\"\n[session_server]\n  t = 1\n";
        let (layout, runners) = analyze(text).unwrap();
        let Layout::Parts(parts) = layout else {
            panic!("not split")
        };
        assert_eq!(parts.len(), 3);
        assert_eq!(runners[0].name.as_deref(), Some("x"));
        assert_eq!(runners[1].name.as_deref(), Some("y"));
    }

    #[test]
    fn anything_doubtful_is_read_whole() {
        for text in [
            "[runners]\nname = \"x\"\n",
            "[a]\n[[runners]]\n[a]\n",
            "x = \"\"\"\nnever closed\n[[runners]]\n",
            "[[\"runners\"]]\nname = \"q\"\n",
        ] {
            if let Ok((layout, _)) = analyze(text) {
                assert!(matches!(layout, Layout::Whole), "{text}");
            }
        }
        assert!(matches!(
            analyze("[a]\n[[runners]]\n[a]\n"),
            Err(crate::Error::ConfigParse { .. })
        ));
    }

    #[test]
    fn an_edit_of_one_part_moves_the_parts_after_it() {
        use crate::runner_config::{Change, KubeKey, RunnerConfig, RunnerSelector};
        let text = "a = 1\n[[runners]]\n  name = \"x\"\n[[runners]]\n  name = \"y\"\n[[runners]]\n  name = \"z\"\n";
        let mut cfg = RunnerConfig::parse(text).unwrap();
        cfg.set_kubernetes(
            &RunnerSelector::Name("y".into()),
            &[Change::set(KubeKey::Namespace, "ci")],
        )
        .unwrap();
        cfg.set_kubernetes(
            &RunnerSelector::Name("z".into()),
            &[Change::set(KubeKey::Namespace, "cd")],
        )
        .unwrap();
        let whole = RunnerConfig::parse(cfg.text().to_string()).unwrap();
        let runners = whole.runners().unwrap();
        assert_eq!(runners, cfg.runners().unwrap());
        let ns: Vec<_> = runners
            .iter()
            .map(|r| r.kubernetes.as_ref().and_then(|k| k.namespace.clone()))
            .collect();
        assert_eq!(ns, [None, Some("ci".into()), Some("cd".into())]);
    }

    #[test]
    fn a_parse_error_names_the_line_in_the_whole_file() {
        let text = "a = 1\n[[runners]]\n  name = \"x\"\n[[runners]]\n  name = = \"y\"\n";
        let e = crate::runner_config::RunnerConfig::parse(text).unwrap_err();
        assert!(
            matches!(e, crate::error::Error::ConfigParse { line: 5, .. }),
            "{e}"
        );
    }
}
