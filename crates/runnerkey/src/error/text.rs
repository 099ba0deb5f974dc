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
