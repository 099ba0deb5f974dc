//! Where the API server is: a `host` URL read as client-go reads it (by
//! the API client, and by the checks of a kubeconfig's `server` and a
//! runner's `host`, which need no HTTP client: hence not in `api_client`).

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
    /// client-go does, meaning https), with [`crate::url::parse`].
    pub fn parse(url: &str) -> Result<Self> {
        let scheme_missing = !url.contains("://");
        let parsed = crate::url::parse(url, "https").ok_or_else(|| bad_url(url))?;
        let https = match parsed.scheme.as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(bad_url(url)),
        };
        if parsed.userinfo.is_some() {
            return Err(bad_url(url));
        }
        let port = match parsed.port {
            Some(p) => p,
            None if https => 443,
            None => 80,
        };
        Ok(Self {
            host: parsed.host,
            port,
            https,
            path_prefix: parsed.path.trim_end_matches('/').to_string(),
            scheme_missing,
        })
    }
}

fn bad_url(url: &str) -> Error {
    let shown = crate::url::without_userinfo(url);
    Error::BadUrl {
        field: "host",
        value: shown,
        reason: "is not a URL like https://HOST:PORT (without user:password@)",
    }
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
        assert!(matches!(
            Endpoint::parse("https://:6443"),
            Err(crate::Error::BadUrl { .. })
        ));
        let e = Endpoint::parse("https://h:6443/k8s/api/").unwrap();
        assert_eq!(e.path_prefix, "/k8s/api");
        let e = Endpoint::parse("1.2.3.4").unwrap();
        assert!(e.scheme_missing && e.https && e.port == 443);
        assert!(matches!(
            Endpoint::parse("ftp://h"),
            Err(crate::Error::BadUrl { .. })
        ));
        assert_eq!(
            Endpoint::parse("HTTPS://H:1/p?q#f").unwrap().path_prefix,
            "/p"
        );
        for bad in [
            "https://h:abc",
            "https://h:70000",
            "https://h:",
            "https://u:p@h",
            "https://h\n",
            "https://[::1",
            "https://a:1:2",
            "",
        ] {
            assert!(
                matches!(Endpoint::parse(bad), Err(crate::Error::BadUrl { .. })),
                "{bad:?}"
            );
        }
    }
}
