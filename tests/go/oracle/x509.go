package main

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"time"
)

// x509Case is a client certificate (DER, base64), the intermediates the
// client sends after it, the roots the API server trusts (--client-ca-file)
// and the time to verify at (Unix seconds).
type x509Case struct {
	Leaf          string   `json:"leaf"`
	Intermediates []string `json:"intermediates"`
	Roots         []string `json:"roots"`
	Time          int64    `json:"time"`
}

// x509Answer: how Go's crypto/x509 reads the subject — CommonName (the last
// CN) and every O, which is what kube-apiserver's x509 authenticator takes
// as user and groups — and whether x509.Verify with ExtKeyUsageClientAuth
// accepts the chain (as kube-apiserver's authenticator calls it).
type x509Answer struct {
	ParseError  string   `json:"parse_error,omitempty"`
	User        string   `json:"user"`
	Groups      []string `json:"groups"`
	VerifyError string   `json:"verify_error,omitempty"`
}

func x509Oracle(in io.Reader, out io.Writer) error {
	var cases []x509Case
	if err := json.NewDecoder(in).Decode(&cases); err != nil {
		return err
	}
	answers := make([]x509Answer, len(cases))
	for i, c := range cases {
		answers[i] = x509One(c)
	}
	return json.NewEncoder(out).Encode(answers)
}

func parse(s string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func x509One(c x509Case) x509Answer {
	leaf, err := parse(c.Leaf)
	if err != nil {
		return x509Answer{ParseError: err.Error(), Groups: []string{}}
	}
	a := x509Answer{User: leaf.Subject.CommonName, Groups: leaf.Subject.Organization}
	if a.Groups == nil {
		a.Groups = []string{}
	}
	opts := x509.VerifyOptions{
		Roots:         x509.NewCertPool(),
		Intermediates: x509.NewCertPool(),
		CurrentTime:   time.Unix(c.Time, 0),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, r := range c.Roots {
		if cert, err := parse(r); err == nil {
			opts.Roots.AddCert(cert)
		}
	}
	for _, m := range c.Intermediates {
		if cert, err := parse(m); err == nil {
			opts.Intermediates.AddCert(cert)
		}
	}
	if _, err := leaf.Verify(opts); err != nil {
		a.VerifyError = err.Error()
	}
	return a
}
