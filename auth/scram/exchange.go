package scram

import (
	"context"
	"encoding/base64"
	"strconv"
)

// exchange is the server side of one SCRAM conversation (RFC 5802 §5):
//
//	client-first  -> server-first    (AUTH 0x18)
//	client-final  -> server-final    (CONNACK or AUTH 0x00)
type exchange struct {
	a        *Authenticator
	connUser string // the CONNECT user name, "" if none
	state    state

	// Set by the first step for the second.
	gs2Header   string
	nonce       string // c-nonce + s-nonce
	authPrefix  string // client-first-bare "," server-first ","
	cred        Credential
	user        string // the SCRAM user name
	known       bool   // false: cred is fake and the exchange must fail
	userMatches bool   // false when the SCRAM user differs from connUser
}

type state int

const (
	wantFirst state = iota
	wantFinal
	over // done or failed: every further message is refused
)

// Next implements broker.AuthExchange.
func (e *exchange) Next(ctx context.Context, data []byte) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		e.state = over
		return nil, false, err
	}
	s := e.state
	e.state = over
	switch s {
	case wantFirst:
		reply, err := e.first(string(data))
		if err != nil {
			return nil, false, err
		}
		e.state = wantFinal
		return reply, false, nil
	case wantFinal:
		reply, err := e.final(string(data))
		if err != nil {
			return nil, false, err
		}
		return reply, true, nil
	}
	return nil, false, malformed("exchange", "message after the end of the conversation")
}

// first answers client-first with server-first:
//
//	r=c-nonce s-nonce,s=salt,i=iteration-count
func (e *exchange) first(msg string) ([]byte, error) {
	cf, err := parseClientFirst(msg)
	if err != nil {
		return nil, err
	}
	if cf.authzid != "" && cf.authzid != cf.user {
		return nil, malformed("client-first-message", "authzid differs from the user name")
	}
	// A user name mismatch is only reported at the final step, like an
	// unknown user.
	e.userMatches = e.connUser == "" || e.connUser == cf.user
	e.user = cf.user
	e.cred, e.known = e.a.lookup(cf.user)
	e.gs2Header = cf.gs2Header
	e.nonce = cf.nonce + e.a.nonce()
	serverFirst := "r=" + e.nonce +
		",s=" + base64.StdEncoding.EncodeToString(e.cred.Salt) +
		",i=" + strconv.Itoa(e.cred.Iterations)
	e.authPrefix = cf.bare + "," + serverFirst + ","
	return []byte(serverFirst), nil
}

// final checks client-final and answers server-final: v=ServerSignature.
func (e *exchange) final(msg string) ([]byte, error) {
	cf, err := parseClientFinal(msg)
	if err != nil {
		return nil, err
	}
	if string(cf.binding) != e.gs2Header {
		return nil, malformed("client-final-message", "channel binding differs from the gs2 header")
	}
	if cf.nonce != e.nonce {
		return nil, malformed("client-final-message", "nonce differs")
	}
	authMessage := []byte(e.authPrefix + cf.withoutProof)
	// Always check the proof, known user or not, so the time taken does
	// not tell them apart.
	ok := proofMatches(e.cred, authMessage, cf.proof)
	if !ok || !e.known || !e.userMatches {
		return nil, errFailed
	}
	sig := hmacSHA256(e.cred.ServerKey, authMessage)
	return []byte("v=" + base64.StdEncoding.EncodeToString(sig)), nil
}

// Username returns the user name the client authenticated as (meaningful
// once Next reported done); the broker shows it to authorizers as
// ClientInfo.Username (broker.AuthenticatedUser).
func (e *exchange) Username() string { return e.user }
