//! Planning and applying edits as text splices at toml_edit's spans, so
//! that every byte outside the changed values is kept.

use std::ops::Range;

use toml_edit::{Document, Item, Table, Value};

use super::{Change, EditProblem, KubeKey, kubernetes_of, parse};
use crate::error::{Error, Result};

/// Replace `at` with `with`.
struct Splice {
    at: Range<usize>,
    with: String,
}

/// What the planner has to go on.
struct Ctx<'a> {
    text: &'a str,
    eol: &'static str,
    splices: Vec<Splice>,
    changed: Vec<KubeKey>,
}

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0)
}

/// The end of the line holding `pos`, after its line terminator.
fn line_end(text: &str, pos: usize) -> usize {
    text[pos..]
        .find('\n')
        .map(|i| pos + i + 1)
        .unwrap_or(text.len())
}

/// The white space from the start of the line to `pos`, if only white space.
fn indent_before(text: &str, pos: usize) -> Option<&str> {
    let s = &text[line_start(text, pos)..pos];
    s.chars().all(|c| c == ' ' || c == '\t').then_some(s)
}

/// The last byte of a table's own key-values (dotted keys included), or,
/// with `subtables`, of everything nested under it.
fn max_end(table: &Table, subtables: bool) -> Option<usize> {
    let mut end = None;
    let mut see = |r: Option<Range<usize>>| {
        if let Some(r) = r {
            end = Some(end.map_or(r.end, |e: usize| e.max(r.end)));
        }
    };
    for (key, item) in table.iter() {
        match item {
            Item::Value(v) => {
                see(table.key(key).and_then(|k| k.span()));
                see(v.span());
            }
            Item::Table(t) if t.is_dotted() || subtables => {
                see(t.span());
                see(max_end(t, subtables).map(|e| e..e));
            }
            Item::ArrayOfTables(a) if subtables => {
                for t in a.iter() {
                    see(t.span());
                    see(max_end(t, true).map(|e| e..e));
                }
            }
            _ => {}
        }
    }
    end
}

/// Indentation of the first plain key of a table.
fn key_indent<'t>(text: &'t str, table: &Table) -> Option<&'t str> {
    table.iter().find_map(|(key, item)| {
        item.as_value()?;
        indent_before(text, table.key(key)?.span()?.start)
    })
}

/// Whether a table's string values are written as literal strings ('…').
fn prefers_literal(text: &str, table: &Table) -> bool {
    table.iter().any(|(_, item)| match item {
        Item::Value(v @ Value::String(_)) => v.span().is_some_and(|s| text[s].starts_with('\'')),
        _ => false,
    })
}

/// A TOML string in the style asked for, when that style can hold it.
fn render(s: &str, literal: bool) -> String {
    if literal && !s.contains('\'') && !s.chars().any(char::is_control) {
        format!("'{s}'")
    } else {
        let mut v = Value::from(s);
        v.decor_mut().clear();
        v.to_string()
    }
}

fn not_string(key: KubeKey) -> Error {
    EditProblem::NotAString { key: key.name() }.into()
}

impl Ctx<'_> {
    fn push(&mut self, at: Range<usize>, with: String) {
        self.splices.push(Splice { at, with });
    }

    /// Removes a key-value: its whole line when it stands alone on it.
    fn remove(&mut self, key: Range<usize>, value: Range<usize>) {
        let text = self.text;
        let start = line_start(text, key.start);
        let end = line_end(text, value.end);
        let rest = text[value.end..end].trim_start_matches([' ', '\t']);
        let alone = indent_before(text, key.start).is_some()
            && (rest.trim_end_matches(['\r', '\n']).is_empty() || rest.starts_with('#'));
        if alone {
            self.push(start..end, String::new());
        } else {
            self.push(key.start..value.end, String::new());
        }
    }

    /// Inserts whole lines after the line holding `after`.
    fn insert_lines(&mut self, after: usize, lines: String) {
        let pos = line_end(self.text, after);
        let lead = if pos == self.text.len() && !self.text.ends_with('\n') {
            self.eol
        } else {
            ""
        };
        self.push(pos..pos, format!("{lead}{lines}"));
    }

    fn table(&mut self, kt: &Table, runner: &Table, changes: &[Change]) -> Result<()> {
        let text = self.text;
        let literal = prefers_literal(text, kt);
        let runner_h = runner
            .span()
            .and_then(|s| indent_before(text, s.start))
            .unwrap_or("");
        let runner_k = key_indent(text, runner).unwrap_or(runner_h);
        let step = runner_k.strip_prefix(runner_h).unwrap_or("  ");
        let indent = match key_indent(text, kt) {
            Some(i) => i.to_string(),
            None => {
                let header = kt
                    .span()
                    .and_then(|s| indent_before(text, s.start))
                    .unwrap_or(runner_k);
                format!("{header}{step}")
            }
        };
        let mut appended = String::new();
        for c in changes {
            let name = c.key.name();
            match (kt.get(name), &c.value) {
                (Some(Item::Value(v)), Some(new)) => {
                    if v.as_str() == Some(new.as_str()) {
                        continue;
                    }
                    let span = v.span().ok_or_else(|| not_string(c.key))?;
                    v.as_str().ok_or_else(|| not_string(c.key))?;
                    let literal = text[span.clone()].starts_with('\'');
                    self.push(span, render(new, literal));
                }
                (Some(Item::Value(v)), None) => {
                    let key = kt.key(name).and_then(|k| k.span());
                    match (key, v.span()) {
                        (Some(k), Some(v)) => self.remove(k, v),
                        _ => return Err(not_string(c.key)),
                    }
                }
                (Some(Item::None) | None, Some(new)) => {
                    appended.push_str(&format!(
                        "{indent}{name} = {}{}",
                        render(new, literal),
                        self.eol
                    ));
                }
                (Some(Item::None) | None, None) => continue,
                (Some(_), _) => return Err(not_string(c.key)),
            }
            self.changed.push(c.key);
        }
        if appended.is_empty() {
            return Ok(());
        }
        match kt.span() {
            Some(header) => {
                let anchor = max_end(kt, false).unwrap_or(header.end).max(header.end);
                self.insert_lines(anchor, appended);
            }
            None => {
                // Only sub-tables ([runners.kubernetes.volumes] …) exist: give
                // the table its header just before the first of them.
                let first = kt
                    .iter()
                    .filter_map(|(_, i)| match i {
                        Item::Table(t) => t.span().map(|s| s.start),
                        Item::ArrayOfTables(a) => {
                            a.iter().filter_map(|t| t.span()).map(|s| s.start).min()
                        }
                        _ => None,
                    })
                    .min()
                    .ok_or_else(|| {
                        Error::from(EditProblem::Internal {
                            what: "no place for [runners.kubernetes]".into(),
                        })
                    })?;
                let at = line_start(text, first);
                let header_indent = indent_before(text, first).unwrap_or("");
                self.push(
                    at..at,
                    format!("{header_indent}[runners.kubernetes]{}{appended}", self.eol),
                );
            }
        }
        Ok(())
    }

    fn new_table(&mut self, runner: &Table, changes: &[Change]) -> Result<()> {
        let text = self.text;
        let header = runner.span().ok_or_else(|| {
            Error::from(EditProblem::Internal {
                what: "the runner has no [[runners]] header".into(),
            })
        })?;
        let h = indent_before(text, header.start).unwrap_or("");
        let k = key_indent(text, runner)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{h}  "));
        let step = k.strip_prefix(h).unwrap_or("  ").to_string();
        let literal = prefers_literal(text, runner);
        let mut block = format!("{k}[runners.kubernetes]{}", self.eol);
        for c in changes {
            if let Some(v) = &c.value {
                block.push_str(&format!(
                    "{k}{step}{} = {}{}",
                    c.key.name(),
                    render(v, literal),
                    self.eol
                ));
                self.changed.push(c.key);
            }
        }
        if self.changed.is_empty() {
            return Ok(());
        }
        let anchor = max_end(runner, true).unwrap_or(header.end).max(header.end);
        self.insert_lines(anchor, block);
        Ok(())
    }

    fn inline(&mut self, it: &toml_edit::InlineTable, changes: &[Change]) -> Result<()> {
        let span = it.span().ok_or_else(|| {
            Error::from(EditProblem::Internal {
                what: "an inline kubernetes table without a position".into(),
            })
        })?;
        let mut value: Value = self.text[span.clone()].parse().map_err(|e| {
            Error::from(EditProblem::Internal {
                what: format!("cannot re-read the inline kubernetes table: {e}"),
            })
        })?;
        let table = value
            .as_inline_table_mut()
            .expect("parsed from an inline table");
        let mut appended = false;
        for c in changes {
            let name = c.key.name();
            match (table.get(name), &c.value) {
                (Some(old), Some(new)) => {
                    if old.as_str() == Some(new.as_str()) {
                        continue;
                    }
                    old.as_str().ok_or_else(|| not_string(c.key))?;
                    let mut v = Value::from(new.as_str());
                    *v.decor_mut() = old.decor().clone();
                    table.insert(name, v);
                }
                (Some(_), None) => {
                    table.remove(name);
                }
                (None, Some(new)) => {
                    table.insert(name, Value::from(new.as_str()));
                    appended = true;
                }
                (None, None) => continue,
            }
            self.changed.push(c.key);
        }
        if appended {
            table.fmt();
        }
        if !self.changed.is_empty() {
            self.push(span, value.to_string());
        }
        Ok(())
    }
}

/// Applies `changes` to runner `index`; returns the new document (none
/// when nothing changed) and the keys that changed. The result is parsed again and checked before it is
/// returned.
pub(super) fn apply(
    doc: &Document<String>,
    index: usize,
    changes: &[Change],
) -> Result<(Option<String>, Vec<KubeKey>)> {
    let text = doc.raw();
    for (i, c) in changes.iter().enumerate() {
        if changes[..i].iter().any(|d| d.key == c.key) {
            return Err(EditProblem::GivenTwice { key: c.key.name() }.into());
        }
    }
    let runner = doc
        .get("runners")
        .and_then(Item::as_array_of_tables)
        .and_then(|a| a.get(index))
        .ok_or_else(|| {
            Error::from(EditProblem::Internal {
                what: format!("no runner at index {index}"),
            })
        })?;
    let mut ctx = Ctx {
        text,
        eol: if text.contains("\r\n") { "\r\n" } else { "\n" },
        splices: Vec::new(),
        changed: Vec::new(),
    };
    match runner.get("kubernetes") {
        Some(Item::Table(kt)) if !kt.is_dotted() => ctx.table(kt, runner, changes)?,
        Some(Item::Value(Value::InlineTable(it))) => ctx.inline(it, changes)?,
        None | Some(Item::None) => ctx.new_table(runner, changes)?,
        Some(_) => {
            return Err(EditProblem::NotATable.into());
        }
    }
    let Ctx {
        mut splices,
        changed,
        ..
    } = ctx;
    splices.sort_by_key(|s| s.at.start);
    let mut out = text.to_string();
    for s in splices.iter().rev() {
        out.replace_range(s.at.clone(), &s.with);
    }
    if changed.is_empty() {
        return Ok((None, changed));
    }
    let region = region(text, runner);
    let delta: isize = splices
        .iter()
        .map(|s| s.with.len() as isize - (s.at.end - s.at.start) as isize)
        .sum();
    let inside = splices
        .iter()
        .all(|s| region.start <= s.at.start && s.at.end <= region.end);
    if inside {
        let end = (region.end as isize + delta) as usize;
        check(&out[region.start..end], 0, changes)?;
    } else {
        check(&out, index, changes)?;
    }
    Ok((Some(out), changed))
}

/// The text of a runner: from its `[[runners]]` line to the end of the
/// line holding the last thing nested under it. It is a TOML document of
/// its own, and every edit of the runner falls inside it.
fn region(text: &str, runner: &Table) -> Range<usize> {
    let header = runner.span().unwrap_or(0..0);
    let last = max_end(runner, true).unwrap_or(header.end).max(header.end);
    line_start(text, header.start)..line_end(text, last)
}

/// The edited text (the runner's region, which the rest of the unchanged
/// file cannot conflict with, or the whole file) parses and holds exactly
/// the values asked for at runner `index`.
fn check(out: &str, index: usize, changes: &[Change]) -> Result<()> {
    let broken = |why: String| {
        Error::from(EditProblem::Internal {
            what: format!("the edit {why}"),
        })
    };
    let doc = parse(out.to_string()).map_err(|e| broken(format!("does not parse ({e})")))?;
    let runner = doc
        .get("runners")
        .and_then(Item::as_array_of_tables)
        .and_then(|a| a.get(index))
        .ok_or_else(|| broken("lost the runner".into()))?;
    let settings = kubernetes_of(runner).unwrap_or_default();
    for c in changes {
        // `get` gives no secret: the token is compared as the secret it is.
        let now = match settings.secret(c.key) {
            Some(secret) => Some(secret.expose_secret()),
            None => settings.get(c.key),
        };
        if now != c.value.as_deref() {
            return Err(broken(format!("did not set {}", c.key)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::runner_config::{Change, KubeKey, RunnerConfig, RunnerSelector};

    fn set(text: &str, runner: &str, changes: &[Change]) -> (String, Vec<KubeKey>) {
        let mut cfg = RunnerConfig::parse(text).unwrap();
        let changed = cfg
            .set_kubernetes(&RunnerSelector::Name(runner.into()), changes)
            .unwrap();
        (cfg.text().to_string(), changed)
    }

    #[test]
    fn a_missing_table_is_added_inside_its_runner() {
        let text = "# c\n[[runners]]\n  name = \"a\"\n  executor = \"kubernetes\"\n[[runners]]\n  name = \"b\"\n";
        let (out, changed) = set(text, "a", &[Change::set(KubeKey::Namespace, "ci")]);
        assert_eq!(changed, [KubeKey::Namespace]);
        assert!(out.starts_with("# c\n[[runners]]\n  name = \"a\"\n"));
        let a = out.find("name = \"a\"").unwrap();
        let table = out.find("[runners.kubernetes]").unwrap();
        let b = out.find("name = \"b\"").unwrap();
        assert!(a < table && table < b, "{out}");
    }

    #[test]
    fn inline_tables_crlf_and_comments_are_kept() {
        let text = "[[runners]]\r\n  name = 'a'  # literal\r\n  kubernetes = { namespace = \"x\" }  # inline\r\n";
        let (out, _) = set(
            text,
            "a",
            &[
                Change::set(KubeKey::Namespace, "ci"),
                Change::set(KubeKey::Host, "https://h:6443"),
            ],
        );
        assert!(out.contains("name = 'a'  # literal\r\n"));
        assert!(out.contains("# inline\r\n"));
        assert!(out.contains("namespace = \"ci\""));
        assert!(!out.contains('\n') || out.matches('\n').count() == out.matches("\r\n").count());
    }

    #[test]
    fn setting_what_is_there_changes_nothing_and_unset_removes() {
        let text = "[[runners]]\n  name = \"a\"\n  [runners.kubernetes]\n    namespace = \"ci\"  # keep\n    ca_file = \"/x\"\n";
        let (out, changed) = set(text, "a", &[Change::set(KubeKey::Namespace, "ci")]);
        assert!(changed.is_empty() && out == text);
        let (out, changed) = set(text, "a", &[Change::unset(KubeKey::CaFile)]);
        assert_eq!(changed, [KubeKey::CaFile]);
        assert!(!out.contains("ca_file") && out.contains("# keep"));
    }

    #[test]
    fn multi_line_values_and_repeated_keys_are_refused() {
        let mut cfg = RunnerConfig::parse("[[runners]]\n  name = \"a\"\n").unwrap();
        let a = RunnerSelector::Name("a".into());
        assert!(
            cfg.set_kubernetes(&a, &[Change::set(KubeKey::Host, "https://h\n[x]")])
                .is_err()
        );
        assert!(
            cfg.set_kubernetes(
                &a,
                &[
                    Change::set(KubeKey::Host, "a"),
                    Change::set(KubeKey::Host, "b")
                ]
            )
            .is_err()
        );
        assert!(!cfg.is_changed());
    }
}
