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
