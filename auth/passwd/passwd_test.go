package passwd_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/ternmq/broker/auth/passwd"
)

// readPwfile returns the user:hash lines of a Mosquitto password file.
func readPwfile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		user, hash, ok := strings.Cut(sc.Text(), ":")
		if ok {
			m[user] = hash
		}
	}
	return m
}

// TestVerifyMosquittoPasswdFile checks hashes that Debian's mosquitto_passwd
// 2.0.11 wrote into testdata/mosquitto.pwfile: $7$ by default, $6$ with
// -H sha512.
func TestVerifyMosquittoPasswdFile(t *testing.T) {
	hashes := readPwfile(t, "testdata/mosquitto.pwfile")
	cases := []struct {
		user, password string
		scheme         passwd.Scheme
	}{
		{"alice", "correct horse", passwd.SHA512PBKDF2},
		{"bob", "p@ss:w0rd with spaces", passwd.SHA512PBKDF2},
		{"carol", "older-format", passwd.SHA512},
		{"dave smith", "ünïcødé", passwd.SHA512PBKDF2},
		{"emptypw", "", passwd.SHA512PBKDF2},
	}
	for _, c := range cases {
		t.Run(c.user, func(t *testing.T) {
			h, err := passwd.Parse(hashes[c.user])
			if err != nil {
				t.Fatal(err)
			}
			if h.Scheme() != c.scheme {
				t.Errorf("scheme %s, want %s", h.Scheme(), c.scheme)
			}
			if !h.Verify([]byte(c.password)) {
				t.Error("the right password does not verify")
			}
			for _, wrong := range []string{c.password + "x", strings.ToUpper(c.password) + "!", "x"} {
				if h.Verify([]byte(wrong)) {
					t.Errorf("the wrong password %q verifies", wrong)
				}
			}
		})
	}
}

// TestVerifyFreshMosquittoPasswd runs mosquitto_passwd now, with random
// passwords, in both of its hash formats.
func TestVerifyFreshMosquittoPasswd(t *testing.T) {
	bin, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("mosquitto_passwd not installed (.ci/deps/auth.sh installs it)")
		}
		t.Skip("mosquitto_passwd not installed")
	}
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i, alg := range []string{"sha512-pbkdf2", "sha512", "sha512-pbkdf2"} {
		user := fmt.Sprintf("u%d", i)
		pw := rand.Text()[:10+i]
		want[user] = pw
		if out, err := exec.Command(bin, "-H", alg, "-b", file, user, pw).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
	}
	for user, hash := range readPwfile(t, file) {
		h, err := passwd.Parse(hash)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		if !h.Verify([]byte(want[user])) || h.Verify([]byte(want[user][1:])) {
			t.Errorf("%s: the %s hash does not tell the password apart", user, h.Scheme())
		}
	}
}

// TestVerifyBcryptAndArgon2id checks hashes made by golang.org/x/crypto,
// the formats htpasswd -B and PHC-style tools write.
func TestVerifyBcryptAndArgon2id(t *testing.T) {
	const pw = "s3cret!"
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	sum := argon2.IDKey([]byte(pw), salt, 2, 64, 1, 32)
	argon := fmt.Sprintf("$argon2id$v=19$m=64,t=2,p=1$%s$%s",
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
	cases := []struct {
		name, hash string
		scheme     passwd.Scheme
	}{
		{"bcrypt 2a", string(bc), passwd.Bcrypt},
		{"bcrypt 2b", strings.Replace(string(bc), "$2a$", "$2b$", 1), passwd.Bcrypt},
		{"bcrypt 2y (PHP, htpasswd)", strings.Replace(string(bc), "$2a$", "$2y$", 1), passwd.Bcrypt},
		{"argon2id", argon, passwd.Argon2id},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !passwd.IsHash(c.hash) {
				t.Error("IsHash is false")
			}
			h, err := passwd.Parse(c.hash)
			if err != nil {
				t.Fatal(err)
			}
			if h.Scheme() != c.scheme {
				t.Errorf("scheme %s, want %s", h.Scheme(), c.scheme)
			}
			if !h.Verify([]byte(pw)) {
				t.Error("the right password does not verify")
			}
			if h.Verify([]byte(pw + "x")) {
				t.Error("a wrong password verifies")
			}
		})
	}
}

// TestParseRefusesDamagedHashes: what Mosquitto 2.0 drops from a password
// file (a wrong digest length, bad base64, iterations below 1) and costs
// beyond the bounds are errors wrapping ErrFormat.
func TestParseRefusesDamagedHashes(t *testing.T) {
	good7 := "$7$101$4NA3g3qHpoFzt+K9$98bHccj/v7mcFIcbm2oxa7PmtNGIcx9qSL2kvY82LG7NFw+F+PCZlafs191ge8rLCAX/m9m/dHeY3nQWp9yV9g=="
	cases := map[string]string{
		"plain text":            "secret",
		"empty":                 "",
		"$7$ zero iterations":   strings.Replace(good7, "$101$", "$0$", 1),
		"$7$ huge iterations":   strings.Replace(good7, "$101$", "$999999999$", 1),
		"$7$ missing field":     "$7$101$98bHccj/v7mcFIcbm2oxa7PmtNGIcx9qSL2kvY82LG7NFw+F+PCZlafs191ge8rLCAX/m9m/dHeY3nQWp9yV9g==",
		"$7$ short digest":      "$7$101$4NA3g3qHpoFzt+K9$98bHccj/v7mcFIcbm2ox",
		"$6$ not base64":        "$6$!!!$98bHccj/v7mcFIcbm2oxa7PmtNGIcx9qSL2kvY82LG7NFw+F+PCZlafs191ge8rLCAX/m9m/dHeY3nQWp9yV9g==",
		"unknown $5$":           "$5$abc$def",
		"bcrypt truncated":      "$2a$10$abc",
		"argon2i (not id)":      "$argon2i$v=19$m=64,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2id v=16":         "$argon2id$v=16$m=64,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2id 1 TiB memory": "$argon2id$v=19$m=1073741824,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2id zero threads": "$argon2id$v=19$m=64,t=2,p=0$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2id unknown key":  "$argon2id$v=19$m=64,t=2,p=1,x=3$c2FsdHNhbHQ$aGFzaGhhc2g",
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := passwd.Parse(s)
			if !errors.Is(err, passwd.ErrFormat) {
				t.Fatalf("Parse: %v, want ErrFormat", err)
			}
			if s != "" && len(s) > 12 && strings.Contains(err.Error(), s[len(s)-12:]) {
				t.Errorf("the error quotes the hash: %v", err)
			}
		})
	}
}

// TestZeroHashVerifiesNothing: a Hash not made by Parse refuses every
// password, the empty one included.
func TestZeroHashVerifiesNothing(t *testing.T) {
	var h passwd.Hash
	if h.Verify(nil) || h.Verify([]byte("x")) {
		t.Fatal("the zero Hash verified a password")
	}
}
