package scram

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// Method is the MQTT 5 Authentication Method this package implements.
const Method = "SCRAM-SHA-256"

// errFailed is the error of a wrong proof, a wrong password or an unknown
// user: the same value for all three, so that neither the reason code nor
// the log line tells them apart.
var errFailed = fmt.Errorf("scram: authentication failed: %w", packets.BadUserNameOrPassword)

// Authenticator checks clients against a Users database, by SCRAM-SHA-256
// (as a broker.Challenger) or by plain password (as a
// broker.Authenticator). It is safe for concurrent use.
type Authenticator struct {
	users          Users
	fakeSecret     []byte        // keys the fake credentials of unknown users
	fakeIterations int           // iteration count announced for unknown users
	nonce          func() string // server part of the nonce; replaced by tests
}

var (
	_ broker.Authenticator = (*Authenticator)(nil)
	_ broker.Challenger    = (*Authenticator)(nil)
)

// Option configures an Authenticator.
type Option func(*Authenticator)

// WithFakeSecret sets the key from which the fake salts of unknown users
// are derived. By default it is random per Authenticator, so an unknown
// user's salt is stable for the life of the process; set it (32 random
// bytes, kept secret) to keep it stable across restarts too, or a client
// could spot unknown users by their salt changing.
func WithFakeSecret(key []byte) Option {
	return func(a *Authenticator) { a.fakeSecret = append([]byte(nil), key...) }
}

// WithFakeIterations sets the iteration count announced for unknown users
// (default DefaultIterations). Set it to the count of your real
// credentials so unknown users do not stand out.
func WithFakeIterations(n int) Option {
	return func(a *Authenticator) {
		if n > 0 {
			a.fakeIterations = n
		}
	}
}

// New returns an Authenticator over users.
func New(users Users, opts ...Option) *Authenticator {
	a := &Authenticator{users: users, fakeIterations: DefaultIterations, nonce: randomNonce}
	for _, o := range opts {
		o(a)
	}
	if a.fakeSecret == nil {
		a.fakeSecret = make([]byte, 32)
		_, _ = rand.Read(a.fakeSecret) // never fails since Go 1.24
	}
	return a
}

// randomNonce is the server part of the nonce: 24 random bytes in base64
// (which never contains ',').
func randomNonce() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// lookup returns the credential of user, or a fake but stable one and
// false when there is none (or it is unusable).
func (a *Authenticator) lookup(user string) (Credential, bool) {
	if c, ok := a.users.Lookup(user); ok && c.valid() {
		return c, true
	}
	key := func(label string) []byte {
		return hmacSHA256(a.fakeSecret, []byte(label+"\x00"+user))
	}
	return Credential{
		Salt:       key("salt")[:saltSize],
		Iterations: a.fakeIterations,
		StoredKey:  key("stored key"),
		ServerKey:  key("server key"),
	}, false
}

// Authenticate checks the password of a CONNECT without an Authentication
// Method against the user's stored credential. A missing user name or
// password, an unknown user and a wrong password all give
// BadUserNameOrPassword; an unknown user costs the same PBKDF2 as a known
// one.
func (a *Authenticator) Authenticate(ctx context.Context, c *broker.Credentials) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cred, known := a.lookup(c.Username)
	salted, err := saltedPassword(string(c.Password), cred.Salt, cred.Iterations)
	if err != nil {
		return fmt.Errorf("scram: key derivation: %w", packets.NotAuthorized)
	}
	storedKey := sha256.Sum256(hmacSHA256(salted, []byte("Client Key")))
	match := subtle.ConstantTimeCompare(storedKey[:], cred.StoredKey) == 1
	if !known || !match || c.Username == "" || c.Password == nil {
		return errFailed
	}
	return nil
}

// BeginAuth starts a SCRAM-SHA-256 conversation; any other method is
// BadAuthenticationMethod. The client-first-message is c.AuthData, which
// the broker passes to the first Next.
//
// When the CONNECT carried a user name, the SCRAM user name and any
// authzid must equal it: the broker keeps the CONNECT user name as the
// client's identity (ClientInfo.Username), so the two must not differ. On
// re-authentication the same holds for the connection's user name, so a
// client cannot switch identity.
func (a *Authenticator) BeginAuth(_ context.Context, c *broker.Credentials) (broker.AuthExchange, error) {
	if c.AuthMethod != Method {
		return nil, packets.BadAuthenticationMethod
	}
	return &exchange{a: a, connUser: c.Username}, nil
}

// proofMatches checks a ClientProof (RFC 5802 §3): ClientKey = ClientProof
// XOR ClientSignature, and H(ClientKey) must be StoredKey.
func proofMatches(cred Credential, authMessage, proof []byte) bool {
	sig := hmacSHA256(cred.StoredKey, authMessage)
	if len(proof) != len(sig) {
		return false
	}
	clientKey := make([]byte, len(sig))
	subtle.XORBytes(clientKey, proof, sig)
	storedKey := sha256.Sum256(clientKey)
	return hmac.Equal(storedKey[:], cred.StoredKey)
}
