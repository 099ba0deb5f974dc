//! Where the API server is: a `host` URL read as client-go reads it.

use crate::error::{Error, Result};

/// Where the API server is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP literal.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Whether the URL is `https://`.
    pub https: bool,
    /// The URL's path without a trailing `/` (empty for none): client-go
    /// puts it in front of every request path.
    pub path_prefix: String,
    /// Whether the URL had no scheme (client-go then picks https because
    /// TLS settings are present, on port 443).
    pub scheme_missing: bool,
}

impl Endpoint {
    /// Parses `https://HOST[:PORT][/…]` (also `http://`, and a bare host as
    /// client-go does, meaning https).
    pub fn parse(url: &str) -> Result<Self> {
        // Go's net/url refuses any ASCII control character (CTL) in a URL.
        if url.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(bad_url(url));
        }
        let (https, rest, scheme_missing) = if let Some(r) = url.strip_prefix("https://") {
            (true, r, false)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r, false)
        } else if url.contains("://") {
            return Err(bad_url(url));
        } else {
            (true, url, true)
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let path_prefix = path
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_string();
        if authority.contains('@') {
            return Err(bad_url(url));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad_url(url))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad_url(url))?,
            None if https => 443,
            None => 80,
        };
        if host.is_empty() {
            return Err(bad_url(url));
        }
        Ok(Self {
            host,
            port,
            https,
            path_prefix,
            scheme_missing,
        })
    }
}

fn bad_url(url: &str) -> Error {
    let shown = crate::url::without_userinfo(url);
    Error::InvalidArgument(format!(
        "host {shown:?} is not a URL like https://HOST:PORT (without user:password@)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("https://10.0.0.1:6443").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.https), ("10.0.0.1", 6443, true));
        let e = Endpoint::parse("https://[::1]:8443/x").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 8443));
        assert_eq!(
            Endpoint::parse("https://api.example.com").unwrap().port,
            443
        );
        assert!(!Endpoint::parse("http://x:80").unwrap().https);
        assert!(Endpoint::parse("https://:6443").is_err());
        let e = Endpoint::parse("https://h:6443/k8s/api/").unwrap();
        assert_eq!(e.path_prefix, "/k8s/api");
        let e = Endpoint::parse("1.2.3.4").unwrap();
        assert!(e.scheme_missing && e.https && e.port == 443);
        assert!(Endpoint::parse("ftp://h").is_err());
    }
}
