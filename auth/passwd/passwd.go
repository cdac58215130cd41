package passwd

import (
	"crypto/pbkdf2"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Scheme names a hash format.
type Scheme string

// The supported schemes.
const (
	SHA512       Scheme = "sha512"        // $6$: Mosquitto before 2.0
	SHA512PBKDF2 Scheme = "sha512-pbkdf2" // $7$: Mosquitto 2.0's default
	Bcrypt       Scheme = "bcrypt"        // $2a$, $2b$, $2y$
	Argon2id     Scheme = "argon2id"      // $argon2id$
)

// Bounds on the cost parameters a hash may carry.
const (
	MaxPBKDF2Iterations = 10_000_000 // Mosquitto writes 101
	MaxArgon2Memory     = 4 << 20    // KiB (4 GiB)
	MaxArgon2Time       = 100
)

// ErrFormat is wrapped by every error of Parse: the text is not a hash in
// a supported format.
var ErrFormat = errors.New("passwd: not a supported password hash")

// Hash is a parsed password hash. The zero value verifies nothing.
type Hash struct {
	scheme     Scheme
	salt, sum  []byte
	iterations int    // $7$
	bcrypt     []byte // the whole bcrypt string
	memory     uint32 // argon2id, KiB
	time       uint32
	threads    uint8
}

// IsHash reports whether s starts like one of the supported formats. It
// does not check the rest: Parse does.
func IsHash(s string) bool {
	for _, p := range []string{"$6$", "$7$", "$2a$", "$2b$", "$2y$", "$argon2id$"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Parse decodes a stored hash. The error wraps ErrFormat and says what is
// wrong, never quoting the hash.
func Parse(s string) (*Hash, error) {
	switch {
	case strings.HasPrefix(s, "$7$"):
		return parsePBKDF2(s)
	case strings.HasPrefix(s, "$6$"):
		return parseSHA512(s)
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil {
			return nil, fmt.Errorf("%w: bcrypt: %v", ErrFormat, err)
		}
		return &Hash{scheme: Bcrypt, bcrypt: []byte(s)}, nil
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2id(s)
	}
	return nil, fmt.Errorf("%w: unknown prefix (want $7$, $6$, $2a$/$2b$/$2y$ or $argon2id$)", ErrFormat)
}

// parsePBKDF2 reads $7$<iterations>$<salt>$<hash>.
func parsePBKDF2(s string) (*Hash, error) {
	f := strings.Split(s[len("$7$"):], "$")
	if len(f) != 3 {
		return nil, fmt.Errorf("%w: $7$: want $7$iterations$salt$hash", ErrFormat)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 || n > MaxPBKDF2Iterations {
		return nil, fmt.Errorf("%w: $7$: iterations must be 1 to %d", ErrFormat, MaxPBKDF2Iterations)
	}
	salt, sum, err := saltAndSum(f[1], f[2], base64.StdEncoding)
	if err != nil {
		return nil, fmt.Errorf("%w: $7$: %v", ErrFormat, err)
	}
	return &Hash{scheme: SHA512PBKDF2, iterations: n, salt: salt, sum: sum}, nil
}

// parseSHA512 reads $6$<salt>$<hash>.
func parseSHA512(s string) (*Hash, error) {
	f := strings.Split(s[len("$6$"):], "$")
	if len(f) != 2 {
		return nil, fmt.Errorf("%w: $6$: want $6$salt$hash", ErrFormat)
	}
	salt, sum, err := saltAndSum(f[0], f[1], base64.StdEncoding)
	if err != nil {
		return nil, fmt.Errorf("%w: $6$: %v", ErrFormat, err)
	}
	return &Hash{scheme: SHA512, salt: salt, sum: sum}, nil
}

// saltAndSum decodes the salt and the 64-byte digest of a Mosquitto hash.
func saltAndSum(salt64, sum64 string, enc *base64.Encoding) (salt, sum []byte, err error) {
	salt, err = enc.DecodeString(salt64)
	if err != nil || len(salt) == 0 {
		return nil, nil, errors.New("the salt is not base64")
	}
	sum, err = enc.DecodeString(sum64)
	if err != nil || len(sum) != sha512.Size {
		return nil, nil, errors.New("the digest is not 64 bytes of base64")
	}
	return salt, sum, nil
}

// parseArgon2id reads $argon2id$v=19$m=M,t=T,p=P$<salt>$<hash>.
func parseArgon2id(s string) (*Hash, error) {
	f := strings.Split(s[len("$argon2id$"):], "$")
	if len(f) != 4 || f[0] != "v=19" {
		return nil, fmt.Errorf("%w: argon2id: want $argon2id$v=19$m=M,t=T,p=P$salt$hash", ErrFormat)
	}
	h := &Hash{scheme: Argon2id}
	var m, t, p uint64
	for _, kv := range strings.Split(f[1], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: argon2id: parameter %q is not a number", ErrFormat, k)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		default:
			return nil, fmt.Errorf("%w: argon2id: unknown parameter %q", ErrFormat, k)
		}
	}
	switch {
	case m < 8 || m > MaxArgon2Memory:
		return nil, fmt.Errorf("%w: argon2id: m must be 8 to %d KiB", ErrFormat, MaxArgon2Memory)
	case t < 1 || t > MaxArgon2Time:
		return nil, fmt.Errorf("%w: argon2id: t must be 1 to %d", ErrFormat, MaxArgon2Time)
	case p < 1 || p > 255:
		return nil, fmt.Errorf("%w: argon2id: p must be 1 to 255", ErrFormat)
	}
	h.memory, h.time, h.threads = uint32(m), uint32(t), uint8(p)
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(f[2]); err != nil || len(h.salt) == 0 {
		return nil, fmt.Errorf("%w: argon2id: the salt is not unpadded base64", ErrFormat)
	}
	if h.sum, err = base64.RawStdEncoding.DecodeString(f[3]); err != nil || len(h.sum) < 4 {
		return nil, fmt.Errorf("%w: argon2id: the hash is not unpadded base64", ErrFormat)
	}
	return h, nil
}

// Scheme returns the hash's format.
func (h *Hash) Scheme() Scheme { return h.scheme }

// Verify reports whether password matches the hash.
func (h *Hash) Verify(password []byte) bool {
	switch h.scheme {
	case SHA512:
		d := sha512.New()
		d.Write(password)
		d.Write(h.salt)
		return subtle.ConstantTimeCompare(d.Sum(nil), h.sum) == 1
	case SHA512PBKDF2:
		sum, err := pbkdf2.Key(sha512.New, string(password), h.salt, h.iterations, sha512.Size)
		return err == nil && subtle.ConstantTimeCompare(sum, h.sum) == 1
	case Bcrypt:
		// bcrypt reads at most 72 bytes; CompareHashAndPassword refuses
		// longer passwords rather than truncating them.
		return bcrypt.CompareHashAndPassword(h.bcrypt, password) == nil
	case Argon2id:
		sum := argon2.IDKey(password, h.salt, h.time, h.memory, h.threads, uint32(len(h.sum)))
		return subtle.ConstantTimeCompare(sum, h.sum) == 1
	}
	return false
}
