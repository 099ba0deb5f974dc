package main

import (
	"encoding/json"
	"io"

	"gopkg.in/go-jose/go-jose.v2/jwt"
)

// jwtAnswer: a token's claims as kube-apiserver's service-account
// authenticator parses them (gopkg.in/go-jose/go-jose.v2/jwt, the version
// the pinned Kubernetes release uses) — before the signature is checked,
// which this oracle cannot do and runnerkey does not claim to.
type jwtAnswer struct {
	Error   string `json:"error,omitempty"`
	Subject string `json:"sub"`
	Issued  *int64 `json:"iat"`
	Expiry  *int64 `json:"exp"`
}

func jwtOracle(in io.Reader, out io.Writer) error {
	var tokens []string
	if err := json.NewDecoder(in).Decode(&tokens); err != nil {
		return err
	}
	answers := make([]jwtAnswer, len(tokens))
	for i, t := range tokens {
		tok, err := jwt.ParseSigned(t)
		if err != nil {
			answers[i] = jwtAnswer{Error: err.Error()}
			continue
		}
		var c jwt.Claims
		if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
			answers[i] = jwtAnswer{Error: err.Error()}
			continue
		}
		a := jwtAnswer{Subject: c.Subject}
		if c.IssuedAt != nil {
			v := int64(*c.IssuedAt)
			a.Issued = &v
		}
		if c.Expiry != nil {
			v := int64(*c.Expiry)
			a.Expiry = &v
		}
		answers[i] = a
	}
	return json.NewEncoder(out).Encode(answers)
}
