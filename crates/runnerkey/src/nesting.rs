//! A guard against deeply nested YAML or JSON, checked on the text before
//! a parser recurses into it: nothing Kubernetes writes nests deeper than
//! a few levels.

use crate::error::{Error, Result};

/// The deepest nesting accepted in a kubeconfig or API object.
pub const MAX_DEPTH: usize = 64;

/// Refuses `text` when its flow collections (`[`, `{`) or its block
/// indentation nest deeper than [`MAX_DEPTH`]; `what` names the input.
pub(crate) fn check(text: &str, what: &'static str) -> Result<()> {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut line_start = true;
    let mut indent = 0usize;
    for c in text.chars() {
        if line_start {
            if c == ' ' || c == '-' {
                indent += 1;
                continue;
            }
            deepest = deepest.max(depth + indent / 2);
            line_start = false;
        }
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => {
                    depth += 1;
                    deepest = deepest.max(depth + indent / 2);
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        if c == '\n' {
            line_start = true;
            indent = 0;
            if quote == Some('\'') {
                quote = None;
            }
        }
        if deepest > MAX_DEPTH {
            return Err(Error::TooDeep {
                what,
                max: MAX_DEPTH,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_refused_shallow_is_not() {
        assert!(matches!(
            check(&"[".repeat(1000), "x"),
            Err(crate::Error::TooDeep { .. })
        ));
        assert!(matches!(
            check(&format!("{}1{}", "{\"a\":".repeat(65), "}".repeat(65)), "x"),
            Err(crate::Error::TooDeep { .. })
        ));
        let block: String = (0..100)
            .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
            .collect();
        assert!(matches!(
            check(&block, "x"),
            Err(crate::Error::TooDeep { .. })
        ));
        assert!(check("{\"a\": [1, {\"b\": \"[[[[[[\"}]}", "x").is_ok());
        assert!(check("apiVersion: v1\nitems:\n- metadata:\n    name: x\n", "x").is_ok());
    }
}
