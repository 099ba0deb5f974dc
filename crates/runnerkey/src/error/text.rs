//! Text helpers for error messages.

/// The first names, quoted, and how many more there are: a config with a
/// million runners must not make a message of megabytes.
pub(super) fn quoted(names: &[String]) -> String {
    const SHOWN: usize = 10;
    if names.is_empty() {
        return "none".into();
    }
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|n| {
            let mut q = format!("{n:?}");
            if q.len() > 80 {
                let mut cut = 77;
                while !q.is_char_boundary(cut) {
                    cut -= 1;
                }
                q.truncate(cut);
                q.push_str("...");
            }
            q
        })
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// A parser's message about input (serde_json's, serde_norway's) without
/// the input's values: they quote the offending scalar whole — a private
/// key given as a kubeconfig, a token, megabytes — where the line and
/// column are what a person needs. Quoted strings become `"…"`, numbers and
/// long names in backticks `…`; at most 300 characters.
pub(crate) fn without_values(message: &str) -> String {
    let mut out = String::new();
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                // To the closing quote (a backslash escapes the next one).
                let mut escaped = false;
                for c in chars.by_ref() {
                    match (escaped, c) {
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => escaped = false,
                    }
                }
                out.push_str("\"…\"");
            }
            '`' => {
                let inner: String = chars.by_ref().take_while(|&c| c != '`').collect();
                let plain_name = inner.len() <= 40
                    && !inner.is_empty()
                    && !inner
                        .chars()
                        .all(|c| c.is_ascii_digit() || "+-.eE".contains(c))
                    && inner
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
                out.push('`');
                out.push_str(if plain_name { &inner } else { "…" });
                out.push('`');
            }
            c => out.push(c),
        }
        if out.chars().count() > 300 {
            out = out.chars().take(297).collect();
            out.push_str("...");
            break;
        }
    }
    out
}
