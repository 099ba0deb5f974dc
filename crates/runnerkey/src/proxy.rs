//! Which proxy, if any, a Go program (client-go, so gitlab-runner) uses to
//! reach a URL: `golang.org/x/net/http/httpproxy`'s rules, read from
//! `HTTPS_PROXY`/`https_proxy`, `HTTP_PROXY`/`http_proxy` and
//! `NO_PROXY`/`no_proxy`. Loopback addresses and `localhost` are never
//! proxied.

use std::net::IpAddr;

/// A proxy to go through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    /// The proxy's URL as configured (credentials removed).
    pub url: String,
    /// Its host.
    pub host: String,
    /// Its port (80 for http://, 443 for https://, 1080 for socks5://
    /// when not given).
    pub port: u16,
    /// `http`, `https` (TLS to the proxy itself) or `socks5`.
    pub scheme: String,
    /// `user:password` from the URL, when given (secret).
    pub credentials: Option<String>,
}

/// The proxy settings of an environment.
#[derive(Clone, Debug, Default)]
pub struct ProxyConfig {
    /// `HTTPS_PROXY` (or `https_proxy`).
    pub https_proxy: Option<String>,
    /// `HTTP_PROXY` (or `http_proxy`).
    pub http_proxy: Option<String>,
    /// `NO_PROXY` (or `no_proxy`).
    pub no_proxy: String,
}

fn env_any(names: [&str; 2]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

impl ProxyConfig {
    /// The settings of this process's environment, as Go reads them (the
    /// upper-case name first, an empty value counts as unset).
    pub fn from_env() -> Self {
        Self {
            https_proxy: env_any(["HTTPS_PROXY", "https_proxy"]),
            http_proxy: env_any(["HTTP_PROXY", "http_proxy"]),
            no_proxy: env_any(["NO_PROXY", "no_proxy"]).unwrap_or_default(),
        }
    }

    /// The proxy for a request to `host:port` over `https` (or http), or
    /// `None` when Go would connect directly.
    pub fn proxy_for(&self, https: bool, host: &str, port: u16) -> Option<Proxy> {
        let raw = if https {
            self.https_proxy.as_deref()
        } else {
            self.http_proxy.as_deref()
        }?;
        let proxy = parse_proxy(raw)?;
        use_proxy(&self.no_proxy, host, port).then_some(proxy)
    }
}

/// Parses a proxy URL as Go does: no scheme means `http://`; the userinfo
/// is percent-decoded (`p%40ss` is `p@ss`; a `%` starting no valid escape
/// is kept, bytes that are not UTF-8 are replaced).
fn parse_proxy(raw: &str) -> Option<Proxy> {
    let url = crate::url::parse(raw, "http")?;
    let port = match (url.port, url.scheme.as_str()) {
        (Some(p), _) => p,
        (None, "https") => 443,
        (None, "socks5" | "socks5h") => 1080,
        (None, _) => 80,
    };
    let shown_host = if url.host.contains(':') {
        format!("[{}]", url.host)
    } else {
        url.host.clone()
    };
    let shown_port = url.port.map(|p| format!(":{p}")).unwrap_or_default();
    Some(Proxy {
        url: format!("{}://{shown_host}{shown_port}", url.scheme),
        host: url.host,
        port,
        scheme: url.scheme,
        credentials: url.userinfo.map(|c| {
            percent_encoding::percent_decode_str(&c)
                .decode_utf8_lossy()
                .into_owned()
        }),
    })
}

/// Go's `net.SplitHostPort`: `host:port` or `[host]:port` (brackets
/// removed), `None` where Go returns an error (no port, too many colons).
fn go_split_host_port(s: &str) -> Option<(&str, &str)> {
    let i = s.rfind(':')?;
    let (host, j, k) = if s.starts_with('[') {
        let end = s.find(']')?;
        if end + 1 != i {
            return None;
        }
        (&s[1..end], 1, end + 1)
    } else {
        let host = &s[..i];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if s[j..].contains('[') || s[k..].contains(']') {
        return None;
    }
    Some((host, &s[i + 1..]))
}

/// An address as Go's `net.IP` compares it: an IPv4-mapped IPv6 address
/// is its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Go's `httpproxy.config.useProxy` (x/net v0.49.0, the version the pinned
/// Kubernetes release uses), step for step: `localhost` is compared before
/// the host is lower-cased (so `LOCALHOST` may be proxied), an IP literal is
/// parsed from the host as given and compared as `net.IP` does (a mapped
/// IPv4 address is that IPv4 address), `*` counts only as a `*.` prefix,
/// and a domain entry never matches an IP literal.
fn use_proxy(no_proxy: &str, host: &str, port: u16) -> bool {
    if host == "localhost" {
        return false;
    }
    let ip: Option<IpAddr> = host.parse().ok().map(canonical);
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return false;
    }
    let host = host.trim().to_ascii_lowercase();
    let port = port.to_string();
    for entry in no_proxy.split(',') {
        let entry = entry.trim().to_ascii_lowercase();
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            return false;
        }
        if let Some((net, bits)) = entry.split_once('/')
            && let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u8>())
        {
            let max = if net.is_ipv4() { 32 } else { 128 };
            if bits <= max {
                // A mapped network is an IPv4 one, its mask the last 32 bits.
                let (net, bits) = match (net, canonical(net)) {
                    (IpAddr::V6(_), v4 @ IpAddr::V4(_)) if bits >= 96 => (v4, bits - 96),
                    (n, _) => (n, bits),
                };
                if ip.is_some_and(|ip| in_cidr(ip, net, bits)) {
                    return false;
                }
                continue;
            }
        }
        let (phost, pport) = match go_split_host_port(&entry) {
            Some(("", _)) => continue,
            Some((h, p)) => (h, p),
            None => (entry.as_str(), ""),
        };
        if let Ok(pip) = phost.parse::<IpAddr>() {
            if ip == Some(canonical(pip)) && (pport.is_empty() || pport == port) {
                return false;
            }
            continue;
        }
        // Domain entries match host names only, never IP literals.
        if ip.is_some() {
            continue;
        }
        let phost = if phost.starts_with("*.") {
            &phost[1..]
        } else {
            phost
        };
        let (suffix, match_host) = match phost.strip_prefix('.') {
            Some(_) => (phost.to_string(), false),
            None => (format!(".{phost}"), true),
        };
        if (host.ends_with(&suffix) || (match_host && host == suffix[1..]))
            && (pport.is_empty() || pport == port)
        {
            return false;
        }
    }
    true
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(no_proxy: &str) -> ProxyConfig {
        ProxyConfig {
            https_proxy: Some("proxy.corp:3128".into()),
            http_proxy: None,
            no_proxy: no_proxy.into(),
        }
    }

    #[test]
    fn loopback_and_localhost_are_never_proxied() {
        let c = cfg("");
        for host in ["127.0.0.1", "127.1.2.3", "::1", "localhost"] {
            assert_eq!(c.proxy_for(true, host, 6443), None, "{host}");
        }
        // Go compares "localhost" before lower-casing the host.
        assert!(c.proxy_for(true, "LOCALHOST", 6443).is_some());
        assert!(
            cfg("localhost")
                .proxy_for(true, "LOCALHOST", 6443)
                .is_none()
        );
        let p = c.proxy_for(true, "10.0.0.1", 6443).unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.scheme.as_str()),
            ("proxy.corp", 3128, "http")
        );
    }

    #[test]
    fn no_proxy_follows_go() {
        // Cases from golang.org/x/net/http/httpproxy's proxy_test.go.
        let c =
            cfg("foobar.com, .barbaz.net, 10.0.0.0/8, 192.168.1.1, 172.16.0.1:6443, *.wild.org");
        let direct = |h: &str, port: u16| c.proxy_for(true, h, port).is_none();
        assert!(direct("foobar.com", 443));
        assert!(direct("www.foobar.com", 443));
        assert!(!direct("xfoobar.com", 443));
        assert!(!direct("barbaz.net", 443));
        assert!(direct("www.barbaz.net", 443));
        assert!(direct("10.1.2.3", 443));
        assert!(!direct("11.1.2.3", 443));
        assert!(direct("192.168.1.1", 6443));
        assert!(direct("172.16.0.1", 6443));
        assert!(!direct("172.16.0.1", 443));
        assert!(direct("a.wild.org", 443));
        assert!(!direct("wild.org", 443));
        assert!(cfg("*").proxy_for(true, "example.com", 443).is_none());
        // A domain entry never matches an IP literal: ".0.1" is a suffix
        // of "10.0.0.1", yet Go proxies it.
        assert!(cfg("0.1").proxy_for(true, "10.0.0.1", 443).is_some());
        assert!(cfg("0.1").proxy_for(true, "a.0.1", 443).is_none());
        // Only "*." is a wildcard.
        assert!(cfg("*foo.com").proxy_for(true, "foo.com", 443).is_some());
        assert!(cfg("*foo.com").proxy_for(true, "a.foo.com", 443).is_some());
        assert!(cfg("*.foo.com").proxy_for(true, "a.foo.com", 443).is_none());
    }

    #[test]
    fn host_and_port_split_as_go_splits_them() {
        assert_eq!(go_split_host_port("a:1"), Some(("a", "1")));
        assert_eq!(go_split_host_port("[::1]:80"), Some(("::1", "80")));
        assert_eq!(go_split_host_port("a:"), Some(("a", "")));
        for bad in [
            "a",
            "[::1]",
            "::1",
            "[::1]x:80",
            "a]:80",
            "[a]]:80",
            "a[:80",
        ] {
            assert_eq!(go_split_host_port(bad), None, "{bad}");
        }
    }

    #[test]
    fn proxy_urls() {
        let p = parse_proxy("http://user:pw@proxy:8080/").unwrap();
        assert_eq!(p.credentials.as_deref(), Some("user:pw"));
        let encoded = parse_proxy("http://u%3Ax:p%40ss%2@proxy:8080").unwrap();
        assert_eq!(encoded.credentials.as_deref(), Some("u:x:p@ss%2"));
        assert_eq!(p.url, "http://proxy:8080");
        assert_eq!(parse_proxy("https://p").unwrap().port, 443);
        assert_eq!(parse_proxy("socks5://p").unwrap().port, 1080);
    }
}

/// runnerkey against the table Go's own `httpproxy` answered
/// (tests/go/oracle/testdata/proxy.json, which the Python suite checks is
/// still what Go says).
#[cfg(test)]
mod go_table {
    use super::*;

    #[test]
    fn every_case_is_decided_as_go_decides() {
        let table: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../../../tests/go/oracle/testdata/proxy.json"))
                .unwrap();
        assert!(table.len() >= 200, "{}", table.len());
        let mut wrong = Vec::new();
        for case in &table {
            let text = |k: &str| case[k].as_str().unwrap_or("").to_string();
            let some = |v: String| (!v.is_empty()).then_some(v);
            let cfg = ProxyConfig {
                https_proxy: some(text("https_proxy")),
                http_proxy: some(text("http_proxy")),
                no_proxy: text("no_proxy"),
            };
            let url = text("url");
            let Ok(endpoint) = crate::api_client::Endpoint::parse(&url) else {
                wrong.push(format!("{url}: runnerkey cannot read the URL"));
                continue;
            };
            let ours = cfg.proxy_for(endpoint.https, &endpoint.host, endpoint.port);
            let go = case["go"]["proxy"].as_str().unwrap_or("");
            let same = match &ours {
                None => go.is_empty(),
                Some(p) => {
                    let scheme = case["go"]["scheme"].as_str().unwrap_or("");
                    let (host, port) = go_split_host_port(go).unwrap_or((go, ""));
                    let host = host.trim_start_matches('[').trim_end_matches(']');
                    let port = port.parse().unwrap_or(match scheme {
                        "https" => 443,
                        "socks5" => 1080,
                        _ => 80,
                    });
                    p.host == host && p.port == port && p.scheme == scheme
                }
            };
            if !same {
                wrong.push(format!(
                    "NO_PROXY={:?} {url}: Go {go:?}, runnerkey {:?}",
                    cfg.no_proxy,
                    ours.map(|p| format!("{}:{}", p.host, p.port))
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {}:\n{}",
            wrong.len(),
            table.len(),
            wrong.join("\n")
        );
    }
}
