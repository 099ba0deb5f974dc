package main

import (
	"encoding/json"
	"io"
	"net/url"

	"golang.org/x/net/http/httpproxy"
)

// proxyCase is one environment and one request URL.
type proxyCase struct {
	HTTPProxy  string `json:"http_proxy"`
	HTTPSProxy string `json:"https_proxy"`
	NoProxy    string `json:"no_proxy"`
	URL        string `json:"url"`
}

// proxyAnswer is the proxy Go's httpproxy picks for the URL: its host (and
// port, as written) and scheme ("" when it connects directly), or an error.
type proxyAnswer struct {
	Proxy  string `json:"proxy"`
	Scheme string `json:"scheme,omitempty"`
	Error  string `json:"error,omitempty"`
}

// proxyOracle: stdin a JSON array of proxyCase, stdout a JSON array of
// proxyAnswer, by golang.org/x/net/http/httpproxy at the version the pinned
// Kubernetes release uses (go.mod).
func proxyOracle(in io.Reader, out io.Writer) error {
	var cases []proxyCase
	if err := json.NewDecoder(in).Decode(&cases); err != nil {
		return err
	}
	answers := make([]proxyAnswer, len(cases))
	for i, c := range cases {
		cfg := httpproxy.Config{HTTPProxy: c.HTTPProxy, HTTPSProxy: c.HTTPSProxy, NoProxy: c.NoProxy}
		u, err := url.Parse(c.URL)
		if err != nil {
			answers[i] = proxyAnswer{Error: err.Error()}
			continue
		}
		p, err := cfg.ProxyFunc()(u)
		switch {
		case err != nil:
			answers[i] = proxyAnswer{Error: err.Error()}
		case p != nil:
			answers[i] = proxyAnswer{Proxy: p.Host, Scheme: p.Scheme}
		}
	}
	return json.NewEncoder(out).Encode(answers)
}
