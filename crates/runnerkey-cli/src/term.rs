//! Everything the CLI prints goes through here: text from certificates,
//! CSRs, configs and API objects is escaped so that it cannot move the
//! cursor, repaint lines or reorder text on a terminal, and a failed write
//! (a full disk, a closed pipe) ends the command with a message instead of
//! a panic.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::Mutex;

use runnerkey::is_invisible_format;

/// The first write error, if any; reported once by [`finish`].
static FAILED: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// `text` with control characters (except newline and tab) and invisible
/// formatting characters (bidirectional overrides, zero-width characters)
/// written as visible escapes: `\x1b`, `\u{202e}`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' || c == '\t' || (c == '\r' && chars.peek() == Some(&'\n')) {
            out.push(c);
        } else if (c as u32) < 0x80 && c.is_control() {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else if c.is_control() || is_invisible_format(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// A value shown inside a line (a name, a group): its line breaks written
/// as `\n` and `\r`, so that it cannot start a line of its own; the rest
/// is escaped with the line by [`escape`].
pub fn one_line(value: &str) -> String {
    value.replace('\r', "\\r").replace('\n', "\\n")
}

/// A time as the CLI prints it, in text as in JSON and YAML: RFC 3339
/// (`2026-11-27T12:00:00Z`), the text the library's reports carry on the
/// wire.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// JSON text with control characters (DEL and C1 too, which serde_json
/// leaves raw) and invisible formatting characters written as `\uXXXX`
/// escapes; newlines are the pretty printer's own (serde_json escapes those
/// inside strings). Printable ASCII, most of any JSON, is copied in runs
/// without being decoded.
pub fn escape_json(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if (0x20..0x7f).contains(&b) || b == b'\n' {
            i += 1;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        let width = c.len_utf8();
        if c.is_control() || is_invisible_format(c) {
            out.push_str(&text[copied..i]);
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{:04x}", u);
            }
            copied = i + width;
        }
        i += width;
    }
    out.push_str(&text[copied..]);
    out
}

fn record(e: std::io::Error) {
    let mut failed = FAILED.lock().unwrap_or_else(|p| p.into_inner());
    if failed.is_none() {
        *failed = Some(e);
    }
}

fn failed() -> bool {
    FAILED.lock().unwrap_or_else(|p| p.into_inner()).is_some()
}

/// Writes `text` to stdout as it is (already escaped).
pub fn write_raw(text: &str) {
    if failed() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        record(e);
    }
}

/// Whether the locale's character set is UTF-8 (the first of `LC_ALL`,
/// `LC_CTYPE`, `LANG` that is set decides; none set is the C locale).
fn utf8_locale() -> bool {
    static UTF8: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *UTF8.get_or_init(|| {
        ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            .is_some_and(|v| {
                let v = v.to_ascii_lowercase();
                v.contains("utf-8") || v.contains("utf8")
            })
    })
}

/// The symbols the CLI uses, as ASCII, for a terminal that is not UTF-8.
fn ascii_symbols(text: &str) -> String {
    text.replace('✓', "+")
        .replace('✗', "x")
        .replace('→', "->")
        .replace('—', "--")
}

/// `-q`: no text for people on stdout and no warnings; data asked for
/// (`-o json|yaml`, manifests, PEM to `-`) and errors still appear.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets `-q`.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `-q` was given.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Writes data (manifests, YAML) to stdout, escaped; also with `-q`.
pub fn write_data(text: &str) {
    write_raw(&escape(text));
}

/// Writes text for people to stdout, escaped; the CLI's symbols (✓ ✗ → —)
/// in ASCII when the locale is not UTF-8; nothing with `-q`.
pub fn write_out(text: &str) {
    if quiet() {
        return;
    }
    let text = escape(text);
    if utf8_locale() {
        write_raw(&text);
    } else {
        write_raw(&ascii_symbols(&text));
    }
}

/// Writes a message to stderr, escaped — a newline inside it too (a file
/// name could hold one and forge a line); errors there are ignored (there
/// is nowhere left to report them).
pub fn write_err(text: &str) {
    let (body, end) = match text.strip_suffix('\n') {
        Some(b) => (b, "\n"),
        None => (text, ""),
    };
    let line = escape(body).replace('\n', "\\n");
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("{line}{end}").as_bytes());
}

/// Prints a value as pretty JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> runnerkey::Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| runnerkey::Error::InvalidArgument(format!("cannot encode JSON: {e}")))?;
    write_raw(&escape_json(&text));
    write_raw("\n");
    Ok(())
}

/// Prints a value as YAML: block style, every string that is not plainly
/// safe double-quoted with YAML's escapes (`\x1b`, `\u202E`), so that the
/// text is valid YAML that reads back as the same value and holds no raw
/// control or invisible formatting character.
pub fn print_yaml<T: serde::Serialize>(value: &T) -> runnerkey::Result<()> {
    let value = serde_json::to_value(value)
        .map_err(|e| runnerkey::Error::InvalidArgument(format!("cannot encode YAML: {e}")))?;
    let mut text = String::new();
    yaml(&value, 0, &mut text);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    write_raw(&text);
    Ok(())
}

/// YAML for `value` at `indent` (a collection; a scalar on one line).
fn yaml(value: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value;
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let _ = write!(out, "{pad}{}:", yaml_string(k));
                yaml_member(v, indent, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for v in items {
                let _ = write!(out, "{pad}-");
                yaml_member(v, indent, out);
            }
        }
        scalar => {
            let _ = writeln!(out, "{pad}{}", yaml_scalar(scalar));
        }
    }
}

/// A mapping value or sequence item after its `key:` or `-`.
fn yaml_member(v: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            yaml(v, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            yaml(v, indent + 2, out);
        }
        scalar => {
            let _ = writeln!(out, " {}", yaml_scalar(scalar));
        }
    }
}

fn yaml_scalar(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as a YAML scalar: plain when it cannot be read as anything
/// else, otherwise double-quoted with escapes.
fn yaml_string(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '@' | '+' | '-'))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null"
        );
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || is_invisible_format(c) => {
                if (c as u32) > 0xffff {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                } else {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The write error that happened on stdout, if any.
pub fn finish() -> Option<std::io::Error> {
    FAILED.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// `println!` through [`write_out`].
macro_rules! out {
    () => { $crate::term::write_out("\n") };
    ($($arg:tt)*) => { $crate::term::write_out(&format!("{}\n", format_args!($($arg)*))) };
}

/// `print!` of data through [`write_data`].
macro_rules! out_raw {
    ($($arg:tt)*) => { $crate::term::write_data(&format!($($arg)*)) };
}

/// `eprintln!` through [`write_err`].
macro_rules! err {
    ($($arg:tt)*) => { $crate::term::write_err(&format!("{}\n", format_args!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_have_ascii_fallbacks() {
        assert_eq!(ascii_symbols("✓ ok — a → b ✗ no"), "+ ok -- a -> b x no");
    }

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(escape("a\x1b[2Jb\n"), "a\\x1b[2Jb\n");
        assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(escape("\u{85}"), "\\u{85}");
        assert_eq!(escape_json("\"\u{202e}\""), "\"\\u202e\"");
        assert_eq!(escape_json("a\nb\té\u{7f}"), "a\nb\\u0009é\\u007f");
        assert_eq!(escape_json("plain"), "plain");
        assert_eq!(
            escape_json("\"\u{9b}\u{7f}\u{e0041}\""),
            "\"\\u009b\\u007f\\udb40\\udc41\""
        );
        assert_eq!(escape("a\u{ad}b"), "a\\u{ad}b");
        assert_eq!(escape("crlf\r\nlone\rcr"), "crlf\r\nlone\\x0dcr");
    }
}
