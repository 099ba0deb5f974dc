//! URLs as runnerkey shows them: the userinfo (`user:password@`) of any
//! URL is a secret.

/// What a hidden secret is shown as.
pub const REDACTED: &str = "<redacted>";

/// `text` with the userinfo of a URL hidden, or `text` as it is.
pub fn without_userinfo(text: &str) -> String {
    redact_url(text).unwrap_or_else(|| text.to_string())
}

/// `url` with the userinfo of its authority replaced, when it has one.
pub fn redact_url(url: &str) -> Option<String> {
    let scheme_end = url.find("://")? + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    Some(format!(
        "{}{REDACTED}@{}",
        &url[..scheme_end],
        &rest[at + 1..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_hidden_and_nothing_else_changes() {
        assert_eq!(
            redact_url("https://u:p@gitlab.example.com/x?y").as_deref(),
            Some("https://<redacted>@gitlab.example.com/x?y")
        );
        assert_eq!(redact_url("https://gitlab.example.com/"), None);
        assert_eq!(redact_url("not a url"), None);
        // An @ in the path is not userinfo.
        assert_eq!(redact_url("https://h/a@b"), None);
        assert_eq!(without_userinfo("https://t@h"), "https://<redacted>@h");
    }
}
