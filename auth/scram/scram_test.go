package scram_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth/scram"
	"github.com/ternmq/broker/packets"
)

// RFC 7677 §3 test vector.
const (
	vecUser        = "user"
	vecPassword    = "pencil"
	vecSalt        = "W22ZaJ0SNY7soEsUEjb6gQ=="
	vecServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	vecClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
	vecServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	vecClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	vecServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
)

// vectorAuthenticator has the RFC 7677 user and server nonce.
func vectorAuthenticator(t testing.TB, opts ...scram.Option) *scram.Authenticator {
	t.Helper()
	salt, err := base64.StdEncoding.DecodeString(vecSalt)
	if err != nil {
		t.Fatal(err)
	}
	users := &scram.MemoryUsers{}
	users.Set(vecUser, scram.NewCredential(vecPassword, salt, 4096))
	return scram.New(users, append([]scram.Option{scram.WithServerNonce(vecServerNonce)}, opts...)...)
}

func begin(t testing.TB, a *scram.Authenticator, connUser string) broker.AuthExchange {
	t.Helper()
	ex, err := a.BeginAuth(context.Background(), &broker.Credentials{
		ClientInfo: broker.ClientInfo{Username: connUser},
		AuthMethod: scram.Method,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// TestRFC7677Vector: the server messages match RFC 7677 §3 byte for byte.
func TestRFC7677Vector(t *testing.T) {
	for _, connUser := range []string{"", vecUser} {
		ex := begin(t, vectorAuthenticator(t), connUser)
		ctx := context.Background()
		reply, done, err := ex.Next(ctx, []byte(vecClientFirst))
		if err != nil || done || string(reply) != vecServerFirst {
			t.Fatalf("server-first = %q, %v, %v; want %q", reply, done, err, vecServerFirst)
		}
		reply, done, err = ex.Next(ctx, []byte(vecClientFinal))
		if err != nil || !done || string(reply) != vecServerFinal {
			t.Fatalf("server-final = %q, %v, %v; want %q", reply, done, err, vecServerFinal)
		}
		if _, _, err := ex.Next(ctx, []byte(vecClientFinal)); !errors.Is(err, packets.NotAuthorized) {
			t.Fatalf("message after the end: %v, want NotAuthorized", err)
		}
	}
}

// TestNewCredentialDefaults: an empty salt becomes 16 random bytes and a
// count below 1 DefaultIterations.
func TestNewCredentialDefaults(t *testing.T) {
	c := scram.NewCredential("pencil", nil, 0)
	if len(c.Salt) != 16 || c.Iterations != scram.DefaultIterations || len(c.StoredKey) != 32 || len(c.ServerKey) != 32 {
		t.Fatalf("got salt %d bytes, %d iterations, keys %d/%d", len(c.Salt), c.Iterations, len(c.StoredKey), len(c.ServerKey))
	}
	if d := scram.NewCredential("pencil", nil, 0); string(d.Salt) == string(c.Salt) {
		t.Fatal("two random salts are equal")
	}
}

// TestConnectUserMismatch: a CONNECT user name other than the SCRAM one
// fails at the final step, like a wrong password.
func TestConnectUserMismatch(t *testing.T) {
	ex := begin(t, vectorAuthenticator(t), "mallory")
	if _, _, err := ex.Next(context.Background(), []byte(vecClientFirst)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ex.Next(context.Background(), []byte(vecClientFinal)); !errors.Is(err, packets.BadUserNameOrPassword) {
		t.Fatalf("got %v, want BadUserNameOrPassword", err)
	}
}

func TestOtherMethodIsBadAuthenticationMethod(t *testing.T) {
	a := vectorAuthenticator(t)
	for _, m := range []string{"SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", "scram-sha-256", ""} {
		_, err := a.BeginAuth(context.Background(), &broker.Credentials{AuthMethod: m})
		if !errors.Is(err, packets.BadAuthenticationMethod) {
			t.Errorf("method %q: %v, want BadAuthenticationMethod", m, err)
		}
	}
}

// TestPlainPassword: a CONNECT without a method is checked against the
// same credential.
func TestPlainPassword(t *testing.T) {
	a := vectorAuthenticator(t)
	for _, tc := range []struct {
		name, user string
		pass       []byte
		ok         bool
	}{
		{"right", "user", []byte("pencil"), true},
		{"wrong", "user", []byte("pen"), false},
		{"no password", "user", nil, false},
		{"unknown user", "nobody", []byte("pencil"), false},
		{"no user", "", []byte("pencil"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Authenticate(context.Background(), &broker.Credentials{ClientInfo: broker.ClientInfo{Username: tc.user}, Password: tc.pass})
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && !errors.Is(err, packets.BadUserNameOrPassword):
				t.Fatalf("got %v, want BadUserNameOrPassword", err)
			}
		})
	}
}

// TestUnknownUserLooksKnown: an unknown user gets a plausible,
// deterministic server-first-message and fails only at the final step.
func TestUnknownUserLooksKnown(t *testing.T) {
	a := vectorAuthenticator(t)
	first := func(user string) string {
		ex := begin(t, a, "")
		reply, _, err := ex.Next(context.Background(), []byte("n,,n="+user+",r=abc"))
		if err != nil {
			t.Fatalf("unknown user refused at the first step: %v", err)
		}
		return string(reply)
	}
	s1, s2, other := first("ghost"), first("ghost"), first("phantom")
	if s1 != s2 {
		t.Fatalf("fake salt not deterministic: %q vs %q", s1, s2)
	}
	if s1 == other {
		t.Fatal("two unknown users share a salt")
	}
	parts := strings.Split(s1, ",")
	salt, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(parts[1], "s="))
	if len(parts) != 3 || err != nil || len(salt) != 16 || parts[2] != "i=4096" {
		t.Fatalf("server-first %q does not look like a real one", s1)
	}

	// The vector's proof for "user", replayed by a client claiming "ghost".
	ex := begin(t, a, "")
	if _, _, err := ex.Next(context.Background(), []byte("n,,n=ghost,r=rOprNGfwEbeRWgbNEkqO")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ex.Next(context.Background(), []byte(vecClientFinal)); !errors.Is(err, packets.BadUserNameOrPassword) {
		t.Fatalf("got %v, want BadUserNameOrPassword", err)
	}
}

// TestFakeSecretMakesSaltsStable: with WithFakeSecret two Authenticators
// (say, before and after a restart) give an unknown user the same salt.
func TestFakeSecretMakesSaltsStable(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	var replies []string
	for range 2 {
		ex := begin(t, vectorAuthenticator(t, scram.WithFakeSecret(key), scram.WithFakeIterations(10000)), "")
		reply, _, err := ex.Next(context.Background(), []byte("n,,n=ghost,r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, string(reply))
	}
	if replies[0] != replies[1] || !strings.HasSuffix(replies[0], ",i=10000") {
		t.Fatalf("got %q", replies)
	}
}

func TestMemoryUsersConcurrent(t *testing.T) {
	var u scram.MemoryUsers
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			name := string(rune('a' + i))
			u.Set(name, scram.NewCredential("pw", []byte("salt"), 1))
			if _, ok := u.Lookup(name); !ok {
				t.Errorf("%s not found", name)
			}
			u.Delete(name)
		})
	}
	wg.Wait()
	u.Add("x", "pw")
	if c, ok := u.Lookup("x"); !ok || len(c.Salt) != 16 || c.Iterations != 4096 {
		t.Fatalf("Add: %+v %v", c, ok)
	}
}
