package scram

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzParseClientFirst: any client-first-message (Authentication Data of
// an unauthenticated client) parses or fails with an error, never a panic;
// what parses has a username, a valid nonce, and splits the message into
// its gs2 header and bare part exactly [RFC 5802 §7].
func FuzzParseClientFirst(f *testing.F) {
	for _, s := range []string{
		"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
		"y,,n=user,r=abc,x=ext",
		"n,a=ad=2Cmin,n=us=3Der,r=abc",
		"p=tls-unique,,n=user,r=abc",
		"n,,m=ext,n=user,r=abc",
		"n,,n=a=4,r=x",
		"n,,",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		cf, err := parseClientFirst(msg)
		if err != nil {
			return
		}
		if cf.user == "" || strings.ContainsFunc(cf.user, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Errorf("username %q accepted", cf.user)
		}
		if !validNonce(cf.nonce) {
			t.Errorf("nonce %q accepted", cf.nonce)
		}
		if cf.gs2Header+cf.bare != msg {
			t.Errorf("header %q + bare %q is not the message %q", cf.gs2Header, cf.bare, msg)
		}
	})
}

// FuzzParseClientFinal: any client-final-message parses or fails with an
// error; what parses has a 32-byte proof, and the message is exactly its
// part without the proof followed by ",p=" and the proof.
func FuzzParseClientFinal(f *testing.F) {
	proof := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, s := range []string{
		"c=biws,r=abcdef,p=" + proof,
		"c=biws,r=abc,x=1,p=" + proof,
		"c=,r=,p=" + proof,
		"c=biws,r=abc,p=short",
		",p=",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		cf, err := parseClientFinal(msg)
		if err != nil {
			return
		}
		if len(cf.proof) != 32 {
			t.Errorf("proof of %d bytes accepted", len(cf.proof))
		}
		if got := cf.withoutProof + ",p=" + base64.StdEncoding.EncodeToString(cf.proof); got != msg {
			t.Errorf("reassembled %q, message %q", got, msg)
		}
	})
}
