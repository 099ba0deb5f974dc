//! URLs: read with one parser (the `http` crate's `Uri`, which ureq uses
//! for every request; with the `kubeconfig` or `runner-config` feature), and shown without their userinfo
//! (`user:password@`), which is a secret.

/// What a hidden secret is shown as.
pub const REDACTED: &str = "<redacted>";

/// A URL's parts as runnerkey uses them.
#[cfg(any(feature = "kubeconfig", feature = "runner-config"))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    /// The scheme, lower-cased (as Go's net/url has it).
    pub(crate) scheme: String,
    /// `user:password` as written (percent-encoded), when given (secret).
    pub(crate) userinfo: Option<String>,
    /// The host, without the brackets of an IPv6 literal; never empty.
    pub(crate) host: String,
    /// The port, when given.
    pub(crate) port: Option<u16>,
    /// The path as written (`/` for none), without query and fragment.
    pub(crate) path: String,
}

/// `text` as a URL with an authority; without `://`, `default_scheme://`
/// is put in front (as client-go does for a bare `host[:port]`, and Go's
/// proxy rules for a proxy without a scheme). `None` for what is not such
/// a URL: a control character or another character no URI holds, an empty
/// host, unbalanced brackets, a port that is not a number up to 65535
/// (also an empty one), more than one port.
#[cfg(any(feature = "kubeconfig", feature = "runner-config"))]
pub(crate) fn parse(text: &str, default_scheme: &str) -> Option<Url> {
    let full;
    let text = if text.contains("://") {
        text
    } else {
        full = format!("{default_scheme}://{text}");
        &full
    };
    let uri: http::Uri = text.parse().ok()?;
    let authority = uri.authority()?;
    let (userinfo, host_port) = match authority.as_str().rsplit_once('@') {
        Some((u, hp)) => (Some(u.to_string()), hp),
        None => (None, authority.as_str()),
    };
    let bracketed = authority.host();
    let host = bracketed
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(bracketed);
    // The `http` crate reads a port that is no number as none: refuse it.
    let port = match host_port[bracketed.len()..].strip_prefix(':') {
        Some(p) => Some(p.parse::<u16>().ok().filter(|_| !p.starts_with('+'))?),
        None => None,
    };
    if host.is_empty() {
        return None;
    }
    Some(Url {
        scheme: uri.scheme_str()?.to_ascii_lowercase(),
        userinfo,
        host: host.to_string(),
        port,
        path: uri.path().to_string(),
    })
}

/// `text` with the userinfo of a URL hidden, or `text` as it is.
pub fn without_userinfo(text: &str) -> String {
    redact_url(text).unwrap_or_else(|| text.to_string())
}

/// `url` with the userinfo of its authority replaced, when it has one.
///
/// Deliberately not the URL parser: a secret must be hidden even in a URL no
/// parser accepts (a password with a space, `{` or `|` in it), so this
/// looks only for `://` (the authority starts the text without it), the
/// authority's end (`/`, `?` or `#`) and the last `@` before it.
pub fn redact_url(url: &str) -> Option<String> {
    // Without a scheme (`admin:pw@10.0.0.1:6443`, which client-go reads
    // as https), the authority starts the text.
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
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
        assert_eq!(
            redact_url("admin:hostpw@10.0.0.1:6443").as_deref(),
            Some("<redacted>@10.0.0.1:6443")
        );
        assert_eq!(redact_url("10.0.0.1:6443/a@b"), None);
        // An @ in the path is not userinfo.
        assert_eq!(redact_url("https://h/a@b"), None);
        assert_eq!(without_userinfo("https://t@h"), "https://<redacted>@h");
        // A password no URI parser accepts is hidden all the same.
        let odd = "https://u:p a{s|s@h/";
        #[cfg(any(feature = "kubeconfig", feature = "runner-config"))]
        assert!(parse(odd, "https").is_none());
        assert_eq!(redact_url(odd).as_deref(), Some("https://<redacted>@h/"));
    }

    #[test]
    #[cfg(any(feature = "kubeconfig", feature = "runner-config"))]
    fn urls_are_read_into_their_parts() {
        let u = parse("HTTP://u:p%40w@[fd00::1]:8080/a/b?q#f", "https").unwrap();
        assert_eq!(u.scheme, "http");
        assert_eq!(u.userinfo.as_deref(), Some("u:p%40w"));
        assert_eq!((u.host.as_str(), u.port), ("fd00::1", Some(8080)));
        assert_eq!(u.path, "/a/b");
        let bare = parse("proxy.corp:3128", "http").unwrap();
        assert_eq!(
            (bare.scheme.as_str(), bare.host.as_str(), bare.port),
            ("http", "proxy.corp", Some(3128))
        );
        assert_eq!(parse("https://h", "https").unwrap().path, "/");
        for bad in [
            "https://h:x",
            "https://h:+1",
            "https://h:65536",
            "https://h:",
            "https://:1",
            "https://h\t",
            "https://[::1",
            "https://a:1:2",
            "https://u@",
        ] {
            assert_eq!(parse(bad, "https"), None, "{bad:?}");
        }
    }
}
