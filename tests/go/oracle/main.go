// Command oracle is a test oracle: it runs Go's own standard library on
// inputs the Python tests send it, so runnerkey's Rust reimplementations can
// be checked byte for byte against the behaviour they mirror (Kubernetes and
// kubectl are Go programs, and what they accept is what Go's parsers accept).
//
// It is test tooling only, built by tests/python (see
// tests/python/test_go_pem_oracle.py and the other test_go_*_oracle.py) with
// the standard library, golang.org/x/net's httpproxy and go-jose, at the
// versions the pinned Kubernetes release uses. Each subcommand reads one JSON request from stdin and writes one JSON
// answer to stdout:
//
//	oracle pem    stdin: a JSON array of base64 strings, one input document each.
//	              stdout: a JSON array, one entry per input: the steps of
//	              `for { block, rest = pem.Decode(rest); ...; if block == nil { break } }`,
//	              each {"block": null | {"type", "headers", "bytes"}, "rest"}.
//	              Every byte string is base64 (standard, padded) so that
//	              nothing is lost to JSON's UTF-8 rules: "type", "bytes",
//	              "rest", and both the keys and the values of "headers".
//
//	oracle proxy  stdin: a JSON array of {"http_proxy", "https_proxy", "no_proxy", "url"}.
//	              stdout: a JSON array of {"proxy": HOST:PORT or "" (direct), "error"?},
//	              by golang.org/x/net/http/httpproxy at the version the pinned
//	              Kubernetes release uses (v0.49.0, tests/controlplane/go.mod).
//
//	oracle x509   stdin: a JSON array of {"leaf", "intermediates", "roots" (base64 DER), "time"}.
//	              stdout: a JSON array of {"user", "groups", "parse_error"?, "verify_error"?}:
//	              the subject as crypto/x509 and pkix.Name read it (kube-apiserver's user
//	              and groups) and x509.Verify with ExtKeyUsageClientAuth, as the API
//	              server's client-certificate authenticator calls it.
//
//	oracle jwt    stdin: a JSON array of tokens. stdout: a JSON array of {"sub", "iat", "exp",
//	              "error"?}: the claims as kube-apiserver's service-account authenticator
//	              parses them (gopkg.in/go-jose/go-jose.v2 v2.6.3, the pinned release's).
//
// More oracles are added as further subcommands in the table below.
package main

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"sort"
)

// subcommands maps a subcommand name to its handler: the handler reads the
// request from in and writes the answer to out.
var subcommands = map[string]func(in io.Reader, out io.Writer) error{
	"pem":   pemOracle,
	"proxy": proxyOracle,
	"x509":  x509Oracle,
	"jwt":   jwtOracle,
}

func main() {
	if len(os.Args) != 2 {
		usage()
	}
	run, ok := subcommands[os.Args[1]]
	if !ok {
		usage()
	}
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "oracle %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	names := make([]string, 0, len(subcommands))
	for name := range subcommands {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: oracle SUBCOMMAND < request.json > answer.json\nsubcommands: %v\n", names)
	os.Exit(2)
}

// b64 is a byte string that marshals as standard padded base64 (a []byte
// does too; the named type makes it explicit, and works for map values).
type b64 []byte

func (b b64) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

type pemBlock struct {
	Type    b64            `json:"type"`
	Headers map[string]b64 `json:"headers"` // keys are base64 too
	Bytes   b64            `json:"bytes"`
}

type pemStep struct {
	Block *pemBlock `json:"block"`
	Rest  b64       `json:"rest"`
}

func pemOracle(in io.Reader, out io.Writer) error {
	var inputs [][]byte // encoding/json decodes base64 strings into []byte
	if err := json.NewDecoder(in).Decode(&inputs); err != nil {
		return fmt.Errorf("reading the request (a JSON array of base64 strings): %w", err)
	}
	answer := make([][]pemStep, len(inputs))
	for i, data := range inputs {
		steps := []pemStep{}
		rest := data
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			step := pemStep{Rest: b64(rest)}
			if block != nil {
				headers := make(map[string]b64, len(block.Headers))
				for k, v := range block.Headers {
					headers[base64.StdEncoding.EncodeToString([]byte(k))] = b64(v)
				}
				step.Block = &pemBlock{Type: b64(block.Type), Headers: headers, Bytes: b64(block.Bytes)}
			}
			steps = append(steps, step)
			if block == nil {
				break
			}
		}
		answer[i] = steps
	}
	return json.NewEncoder(out).Encode(answer)
}
