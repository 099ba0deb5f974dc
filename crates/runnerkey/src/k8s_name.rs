//! Kubernetes object names: checked as RFC 1123 labels (namespaces) and
//! subdomains (most objects), and derived safely from free-form user names.

use crate::error::{Error, Result};

fn bad(field: &'static str, value: &str, reason: &str) -> Error {
    Error::InvalidName {
        field,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn check_label_chars(field: &'static str, full: &str, label: &str) -> Result<()> {
    if label.is_empty() {
        return Err(bad(field, full, "must not be empty or have empty parts"));
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(bad(
            field,
            full,
            "must consist of lower case letters, digits and '-' (RFC 1123)",
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(bad(
            field,
            full,
            "must start and end with a letter or digit (RFC 1123)",
        ));
    }
    Ok(())
}

/// An RFC 1123 label (namespaces): at most 63 of `a-z0-9-`, alphanumeric at both ends.
pub(crate) fn check_label(field: &'static str, value: &str) -> Result<()> {
    if value.len() > 63 {
        return Err(bad(
            field,
            value,
            "must be at most 63 characters (RFC 1123 label)",
        ));
    }
    check_label_chars(field, value, value)
}

/// An RFC 1123 subdomain (most object names): dot-separated labels, at most 253.
pub(crate) fn check_subdomain(field: &'static str, value: &str) -> Result<()> {
    if value.len() > 253 {
        return Err(bad(
            field,
            value,
            "must be at most 253 characters (RFC 1123 subdomain)",
        ));
    }
    value
        .split('.')
        .try_for_each(|part| check_label_chars(field, value, part))
}

/// A name part derived from any user or group name: lower-cased, every
/// other character turned into '-', trimmed, at most 40 characters. When
/// that loses anything (`u/x` and `u-x`, `A.B`, a long name cut short), 8
/// hex digits of the name's SHA-256 are appended, so that two different
/// names never yield one object name (and one `kubectl apply` never
/// replaces another subject's binding).
pub(crate) fn sanitize(value: &str) -> String {
    let plain = sanitize_lossy(value);
    if plain == value {
        return plain;
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    let hex: String = digest.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{plain}-{hex}")
}

fn sanitize_lossy(value: &str) -> String {
    let mapped: String = value
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut out = String::new();
    for c in mapped.chars() {
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let out: String = out.trim_matches('-').chars().take(40).collect();
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "subject".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_label("namespace", "gitlab-runner").is_ok());
        for bad in ["", "Gitlab", "-x", "x-", "a_b", "a.b", &"a".repeat(64)] {
            assert!(
                matches!(
                    check_label("namespace", bad),
                    Err(crate::Error::InvalidName { .. })
                ),
                "{bad}"
            );
        }
        assert!(check_subdomain("name", "gitlab.deployer-1").is_ok());
        assert!(matches!(
            check_subdomain("name", "a..b"),
            Err(crate::Error::InvalidName { .. })
        ));
        assert!(
            sanitize("system:serviceaccount:ci:Build Bot")
                .starts_with("system-serviceaccount-ci-build-bot-")
        );
        assert!(sanitize("@@@").starts_with("subject-"));
        assert_eq!(sanitize("gitlab-admin"), "gitlab-admin");
        let names = [
            "u/x",
            "u-x",
            "U-X",
            "a.b",
            "a-b",
            &"g".repeat(50),
            &format!("{}1", "g".repeat(50)),
        ];
        let slugs: std::collections::BTreeSet<String> = names.iter().map(|n| sanitize(n)).collect();
        assert_eq!(slugs.len(), names.len(), "{slugs:?}");
        assert!(
            slugs.iter().all(|s| check_label("slug", s).is_ok()),
            "{slugs:?}"
        );
    }

    #[test]
    fn labels_and_subdomains_follow_rfc_1123() {
        for good in ["ci", "gitlab-runner", "a1", &"a".repeat(63)] {
            assert!(check_label("namespace", good).is_ok(), "{good}");
        }
        for bad in ["", "CI", "-a", "a-", "a_b", "a.b", &"a".repeat(64)] {
            assert!(
                matches!(
                    check_label("namespace", bad),
                    Err(crate::Error::InvalidName { .. })
                ),
                "{bad}"
            );
        }
        assert!(check_subdomain("name", "gitlab-admin.runner-1").is_ok());
        for bad in ["a..b", ".a", "a.", "A.b", &"a".repeat(254)] {
            assert!(
                matches!(
                    check_subdomain("name", bad),
                    Err(crate::Error::InvalidName { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn errors_name_the_field_they_are_about() {
        let e = check_label("namespace", "Bad").unwrap_err().to_string();
        assert!(e.contains("namespace"), "{e}");
        let e = check_subdomain("service account", "a..b")
            .unwrap_err()
            .to_string();
        assert!(e.contains("service account"), "{e}");
    }
}
