package scram

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ternmq/broker/packets"
)

// malformed is the error of a SCRAM message this server cannot accept. It
// wraps NotAuthorized: the MQTT packet is well formed, its Authentication
// Data is not (see the package comment).
func malformed(msg, why string) error {
	return fmt.Errorf("scram: %s: %s: %w", msg, why, packets.NotAuthorized)
}

// clientFirst is a parsed client-first-message (RFC 5802 §7).
type clientFirst struct {
	gs2Header string // "n,,", "y,," or with an authzid: "n,a=name,"
	authzid   string // decoded; "" when absent
	bare      string // client-first-message-bare, for the AuthMessage
	user      string // decoded saslname
	nonce     string // c-nonce
}

// parseClientFirst parses
//
//	gs2-header client-first-message-bare
//	gs2-header = gs2-cbind-flag "," [ authzid ] ","
//	client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
func parseClientFirst(msg string) (clientFirst, error) {
	const what = "client-first-message"
	var cf clientFirst
	if !utf8.ValidString(msg) {
		return cf, malformed(what, "not UTF-8")
	}
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return cf, malformed(what, "no gs2 header")
	}
	switch {
	case flag == "n", flag == "y":
		// "y": the client supports channel binding but thinks we do not,
		// which is true: we never advertise SCRAM-SHA-256-PLUS.
	case strings.HasPrefix(flag, "p="):
		return cf, malformed(what, "channel binding is not supported")
	default:
		return cf, malformed(what, "bad gs2-cbind-flag")
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return cf, malformed(what, "gs2 header not terminated")
	}
	if authz != "" {
		name, found := strings.CutPrefix(authz, "a=")
		if !found {
			return cf, malformed(what, "bad authzid")
		}
		var err error
		if cf.authzid, err = decodeSaslname(name); err != nil {
			return cf, malformed(what, "authzid: "+err.Error())
		}
	}
	cf.gs2Header = msg[:len(msg)-len(bare)]
	cf.bare = bare

	attrs := strings.Split(bare, ",")
	if strings.HasPrefix(attrs[0], "m=") {
		// RFC 5802 §5.1: an m= the server does not understand fails.
		return cf, malformed(what, "mandatory extension not supported")
	}
	if len(attrs) < 2 {
		return cf, malformed(what, "want username and nonce")
	}
	name, found := strings.CutPrefix(attrs[0], "n=")
	if !found {
		return cf, malformed(what, "first attribute is not n=")
	}
	var err error
	if cf.user, err = decodeSaslname(name); err != nil {
		return cf, malformed(what, "username: "+err.Error())
	}
	if cf.user == "" {
		return cf, malformed(what, "empty username")
	}
	if cf.nonce, found = strings.CutPrefix(attrs[1], "r="); !found {
		return cf, malformed(what, "second attribute is not r=")
	}
	if !validNonce(cf.nonce) {
		return cf, malformed(what, "bad nonce")
	}
	if err := checkExtensions(attrs[2:]); err != nil {
		return cf, malformed(what, err.Error())
	}
	return cf, nil
}

// clientFinal is a parsed client-final-message.
type clientFinal struct {
	binding      []byte // decoded c=
	nonce        string // r=
	proof        []byte // decoded p=
	withoutProof string // client-final-message-without-proof, for the AuthMessage
}

// parseClientFinal parses
//
//	channel-binding "," nonce ["," extensions] "," proof
func parseClientFinal(msg string) (clientFinal, error) {
	const what = "client-final-message"
	var cf clientFinal
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return cf, malformed(what, "no proof")
	}
	cf.withoutProof = msg[:i]
	proof, err := base64.StdEncoding.Strict().DecodeString(msg[i+len(",p="):])
	if err != nil || len(proof) != 32 {
		return cf, malformed(what, "proof is not 32 bytes of base64")
	}
	cf.proof = proof
	attrs := strings.Split(cf.withoutProof, ",")
	if len(attrs) < 2 {
		return cf, malformed(what, "want channel binding and nonce")
	}
	c, found := strings.CutPrefix(attrs[0], "c=")
	if !found {
		return cf, malformed(what, "first attribute is not c=")
	}
	if cf.binding, err = base64.StdEncoding.Strict().DecodeString(c); err != nil {
		return cf, malformed(what, "channel binding is not base64")
	}
	if cf.nonce, found = strings.CutPrefix(attrs[1], "r="); !found {
		return cf, malformed(what, "second attribute is not r=")
	}
	if err := checkExtensions(attrs[2:]); err != nil {
		return cf, malformed(what, err.Error())
	}
	return cf, nil
}

// decodeSaslname undoes the escaping of ',' (=2C) and '=' (=3D) [RFC 5802
// §5.1]; any other '=' is an error. It also refuses control characters,
// which SASLprep prohibits (our "SASLprep-lite": full normalisation is
// left to the client, as RFC 5802 §5.1 allows the server to do).
func decodeSaslname(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("not UTF-8")
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '=':
			switch {
			case strings.HasPrefix(s[i+1:], "2C"):
				b.WriteByte(',')
			case strings.HasPrefix(s[i+1:], "3D"):
				b.WriteByte('=')
			default:
				return "", fmt.Errorf("'=' not followed by 2C or 3D")
			}
			i += 2
		case c < 0x20 || c == 0x7f:
			return "", fmt.Errorf("control character")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// validNonce: printable ASCII except ',' [RFC 5802 §7], not empty.
func validNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == ',' {
			return false
		}
	}
	return true
}

// checkExtensions accepts optional extensions (attr-val, ignored) and
// refuses anything else, including an empty attribute.
func checkExtensions(attrs []string) error {
	for _, a := range attrs {
		if len(a) < 2 || a[1] != '=' || !isAlpha(a[0]) {
			return fmt.Errorf("bad attribute %q", a)
		}
	}
	return nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
