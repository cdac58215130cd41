package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"sync"

	"github.com/xdg-go/stringprep"
)

// DefaultIterations is the PBKDF2 iteration count NewCredential uses for
// a count below 1 and MemoryUsers.Add always uses: the minimum RFC 7677
// §4 recommends.
const DefaultIterations = 4096

// saltSize is the length of the random salts this package generates.
const saltSize = 16

// Credential is what the server stores for one user (RFC 5802 §3):
// never the password, only what is needed to check a proof and to prove
// itself to the client.
type Credential struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte // H(ClientKey)
	ServerKey  []byte // HMAC(SaltedPassword, "Server Key")
}

// valid reports whether c can authenticate anyone: a zero or damaged
// credential must refuse rather than match an empty proof.
func (c Credential) valid() bool {
	return c.Iterations > 0 && len(c.Salt) > 0 &&
		len(c.StoredKey) == sha256.Size && len(c.ServerKey) == sha256.Size
}

// NewCredential derives the stored credential for password. An empty salt
// is replaced by 16 random bytes and an iteration count below 1 by
// DefaultIterations. The password is normalised with SASLprep first, as
// SCRAM clients do; a password SASLprep refuses is used as it is (such a
// client cannot send it anyway).
//
// If key derivation fails (only in FIPS 140-only mode, with a salt shorter
// than 16 bytes or fewer than 1000 iterations) the Credential is zero and
// authenticates nobody.
func NewCredential(password string, salt []byte, iterations int) Credential {
	if len(salt) == 0 {
		salt = make([]byte, saltSize)
		_, _ = rand.Read(salt) // never fails since Go 1.24
	}
	if iterations < 1 {
		iterations = DefaultIterations
	}
	salted, err := saltedPassword(password, salt, iterations)
	if err != nil {
		return Credential{}
	}
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	storedKey := sha256.Sum256(clientKey)
	return Credential{
		Salt:       append([]byte(nil), salt...),
		Iterations: iterations,
		StoredKey:  storedKey[:],
		ServerKey:  hmacSHA256(salted, []byte("Server Key")),
	}
}

// saltedPassword is Hi(Normalize(password), salt, i) of RFC 5802 §3.
func saltedPassword(password string, salt []byte, iterations int) ([]byte, error) {
	if p, err := stringprep.SASLprep.Prepare(password); err == nil {
		password = p
	}
	return pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// Users finds the stored credential of a user. Lookup is called once per
// authentication attempt, from the connection's goroutine, so it must be
// safe for concurrent use.
type Users interface {
	Lookup(username string) (Credential, bool)
}

// MemoryUsers is an in-memory Users, safe for concurrent use. The zero
// value is empty and ready to use.
type MemoryUsers struct {
	mu    sync.RWMutex          // guards users
	users map[string]Credential // by user name
}

// Add sets the password of user, with a new random 16-byte salt and
// DefaultIterations. It runs PBKDF2, so it takes a few milliseconds.
func (m *MemoryUsers) Add(user, password string) {
	m.Set(user, NewCredential(password, nil, DefaultIterations))
}

// Set stores a credential derived elsewhere (for example loaded from a
// file) for user.
func (m *MemoryUsers) Set(user string, c Credential) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.users == nil {
		m.users = make(map[string]Credential)
	}
	m.users[user] = c
}

// Delete removes user. Connections already authenticated stay connected.
func (m *MemoryUsers) Delete(user string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.users, user)
}

// Lookup returns the credential of user.
func (m *MemoryUsers) Lookup(user string) (Credential, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.users[user]
	return c, ok
}
