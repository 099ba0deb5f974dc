#!/usr/bin/env python3
"""Writes testdata/proxy.json: environments and request URLs, each with the
proxy Go's golang.org/x/net/http/httpproxy (v0.49.0, the version the pinned
Kubernetes release uses) chooses. runnerkey's proxy rules are checked
against this table in Rust (crates/runnerkey/src/proxy.rs); the Python test
tests/python/test_go_proxy_oracle.py runs the oracle again and fails when
the table is not what Go says.

    python3 tests/go/oracle/make_proxy_table.py ORACLE_BINARY
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# golang.org/x/net/http/httpproxy's own test tables (proxy_test.go):
# UseProxyTests with its noProxy, and the ASCII cases of proxyForURLTests.
GO_NO_PROXY = ("foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, "
               "10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, 2002:db8:a::45/64")
GO_HOSTS = ["localhost", "127.0.0.1", "127.0.0.2", "[::1]", "[::2]", "192.168.1.1", "192.168.1.2", "192.168.1.3",
            "192.168.1.4", "10.0.0.2", "[2001:db8::52:0:1]", "[2001:db8::52:0:2]", "[2001:db8::52:0:3]",
            "[2002:db8:a::123]", "[fe80::424b:c8be:1643:a1b6]", "barbaz.net", "www.barbaz.net", "foobar.com",
            "www.foobar.com", "foofoobar.com", "baz.com", "localhost.net", "local.localhost", "barbarbaz.net",
            "wildcard.io", "nested.wildcard.io", "awildcard.io"]
GO_FOR_URL = [
    ({"http_proxy": "127.0.0.1:8080"}, "http://example.com"),
    ({"http_proxy": "cache.corp.example.com:1234"}, "http://example.com"),
    ({"http_proxy": "cache.corp.example.com"}, "http://example.com"),
    ({"http_proxy": "localhost"}, "http://example.com"),
    ({"http_proxy": "https://cache.corp.example.com"}, "http://example.com"),
    ({"http_proxy": "http://127.0.0.1:8080"}, "http://example.com"),
    ({"http_proxy": "https://127.0.0.1:8080"}, "http://example.com"),
    ({"http_proxy": "socks5://127.0.0.1"}, "http://example.com"),
    ({"http_proxy": "http.proxy.tld", "https_proxy": "secure.proxy.tld"}, "http://insecure.tld/"),
    ({"http_proxy": "http.proxy.tld", "https_proxy": "secure.proxy.tld"}, "https://secure.tld/"),
    ({"http_proxy": "http.proxy.tld", "https_proxy": "https://secure.proxy.tld"}, "https://secure.tld/"),
    ({"http_proxy": "http.proxy.tld"}, "https://secure.tld/"),
    ({"https_proxy": "https://secure.proxy.tld"}, "https://secure.tld/"),
    ({"no_proxy": "example.com", "http_proxy": "proxy"}, "http://example.com/"),
    ({"no_proxy": ".example.com", "http_proxy": "proxy"}, "http://example.com/"),
    ({"no_proxy": "ample.com", "http_proxy": "proxy"}, "http://example.com/"),
    ({"no_proxy": "example.com", "http_proxy": "proxy"}, "http://foo.example.com/"),
    ({"no_proxy": ".foo.com", "http_proxy": "proxy"}, "http://example.com/"),
]

# Ours: NO_PROXY entries an operator writes, against API server URLs.
ENTRIES = ["", "*", "foo.com", ".foo.com", "*.foo.com", "*foo.com", "foo.com:6443", ".foo.com:443", "FOO.com",
           " foo.com ", "0.1", "10.0.0.0/8", "10.0.0.1", "10.0.0.1:6443", "10.0.0.1:443", "[::ffff:10.0.0.1]",
           "fd00::/8", "fd00::1", "[fd00::1]:6443", "localhost", "LOCALHOST", "kubernetes", ".svc", "a,,b",
           "10.0.0.1/33", "10.0.0.1/", ":6443", "*.", ".", "foo.com,10.0.0.0/8"]
URLS = ["https://foo.com:6443", "https://a.foo.com:6443", "https://FOO.com", "https://xfoo.com:6443",
        "https://10.0.0.1:6443", "https://10.0.0.1", "https://10.1.2.3:6443", "https://[fd00::1]:6443",
        "https://[fd00::2]", "https://LOCALHOST:6443", "https://localhost:6443", "https://127.0.0.1:6443",
        "https://kubernetes:6443", "https://api.svc:6443", "http://foo.com", "https://a.0.1:6443",
        "https://[::ffff:10.0.0.1]:6443"]


def cases() -> list[dict]:
    out = [{"https_proxy": "", "http_proxy": "proxy.go:3128", "no_proxy": GO_NO_PROXY, "url": f"http://{h}/"}
           for h in GO_HOSTS]
    out += [{"http_proxy": "", "https_proxy": "", "no_proxy": "", **env, "url": url} for env, url in GO_FOR_URL]
    for entry, url in itertools.product(ENTRIES, URLS):
        out.append({"http_proxy": "http://proxy.corp:3128", "https_proxy": "proxy.corp:3129", "no_proxy": entry,
                    "url": url})
    return out


def answers(oracle: str, cs: list[dict]) -> list[dict]:
    p = subprocess.run([oracle, "proxy"], input=json.dumps(cs), capture_output=True, text=True, check=True,
                       timeout=120)
    return json.loads(p.stdout)


def main() -> None:
    cs = cases()
    table = [{**c, "go": a} for c, a in zip(cs, answers(sys.argv[1], cs))]
    (HERE / "testdata" / "proxy.json").write_text(json.dumps(table, indent=1) + "\n")
    print(f"{len(table)} cases")


if __name__ == "__main__":
    main()
