package file_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth"
	"github.com/ternmq/broker/auth/file"
	"github.com/ternmq/broker/packets"
)

// mixedFile is testdata/mixed.pwfile with a bcrypt and an argon2id user
// appended: "dora" (bcrypt) and "ed" (argon2id), passwords dora-pw, ed-pw.
func mixedFile(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("testdata/mixed.pwfile")
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("dora-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("saltsaltsaltsalt")
	ar := fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s", base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte("ed-pw"), salt, 1, 64, 1, 32)))
	data = fmt.Appendf(data, "dora:%s\r\ned:%s\n", bc, ar)
	path := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func login(user, pw string, withPw bool) *broker.Credentials {
	c := &broker.Credentials{ClientInfo: broker.ClientInfo{ID: "c", Username: user}}
	if withPw {
		c.Password = []byte(pw)
	}
	return c
}

// TestPasswordsAuthenticate: right and wrong passwords for every hash
// format, users Mosquitto would skip, unknown and anonymous clients.
func TestPasswordsAuthenticate(t *testing.T) {
	var logBuf bytes.Buffer
	p, err := file.LoadPasswords(mixedFile(t), file.WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 5 {
		t.Errorf("%d users, want 5 (alice, carol, spaced, dora, ed)", p.Len())
	}
	cases := []struct {
		name, user, pw string
		withPw         bool
		want           error
	}{
		{"$7$ right", "alice", "correct horse", true, nil},
		{"$7$ wrong", "alice", "correct horse!", true, packets.BadUserNameOrPassword},
		{"$7$ no password", "alice", "", false, packets.BadUserNameOrPassword},
		{"$7$ empty password", "alice", "", true, packets.BadUserNameOrPassword},
		{"$6$ right", "carol", "older-format", true, nil},
		{"$6$ wrong", "carol", "older-format ", true, packets.BadUserNameOrPassword},
		{"trimmed user name and hash", "spaced", "correct horse", true, nil},
		{"bcrypt right", "dora", "dora-pw", true, nil},
		{"bcrypt wrong", "dora", "dora-PW", true, packets.BadUserNameOrPassword},
		{"argon2id right", "ed", "ed-pw", true, nil},
		{"argon2id wrong", "ed", "ed-pw2", true, packets.BadUserNameOrPassword},
		{"no hash: skipped", "nohash", "", true, auth.ErrUnknownUser},
		{"plain text: skipped", "plain", "secret", true, auth.ErrUnknownUser},
		{"bad base64: skipped", "badb64", "x", true, auth.ErrUnknownUser},
		{"unknown user", "zoe", "x", true, auth.ErrUnknownUser},
		{"anonymous", "", "", false, auth.ErrUnknownUser},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := p.Authenticate(context.Background(), login(c.user, c.pw, c.withPw))
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Authenticate: %v, want %v", err, c.want)
			}
		})
	}
	for _, u := range []string{"nohash", "plain", "badb64"} {
		if !strings.Contains(logBuf.String(), "username="+u) {
			t.Errorf("the skipped user %s is not logged:\n%s", u, logBuf.String())
		}
	}
	if strings.Contains(logBuf.String(), "secret") {
		t.Errorf("the log quotes a password:\n%s", logBuf.String())
	}
}

// TestPasswordsWithAnonymous: allow_anonymous true lets clients without
// a user name in, not clients with an unknown one.
func TestPasswordsWithAnonymous(t *testing.T) {
	p, err := file.LoadPasswords(mixedFile(t), file.WithAnonymous(), file.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Authenticate(context.Background(), login("", "", false)); err != nil {
		t.Errorf("anonymous: %v", err)
	}
	if err := p.Authenticate(context.Background(), login("zoe", "x", true)); !errors.Is(err, auth.ErrUnknownUser) {
		t.Errorf("unknown user: %v", err)
	}
}

// TestPasswordsReload: users added and removed take effect; a file that
// cannot be read keeps the users in force.
func TestPasswordsReload(t *testing.T) {
	path := mixedFile(t)
	p, err := file.LoadPasswords(path, file.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	carol := "carol:$6$l6eJjFIdaggilxPi$3ByfJsYNMTrewKqHJTSH2PWky7ZODxsMm+YqzBdLAbE6bwTOGfLCJwZ8tXc7A070O7rCaH9u1fSzucCBf1+dpw==\n"
	if err := os.WriteFile(path, []byte(carol), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := p.Authenticate(context.Background(), login("alice", "correct horse", true)); !errors.Is(err, auth.ErrUnknownUser) {
		t.Errorf("removed user: %v", err)
	}
	if err := p.Authenticate(context.Background(), login("carol", "older-format", true)); err != nil {
		t.Errorf("kept user: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := p.Reload(); err == nil {
		t.Error("Reload of a missing file: no error")
	}
	if err := p.Authenticate(context.Background(), login("carol", "older-format", true)); err != nil {
		t.Errorf("after a failed reload: %v", err)
	}
}

func TestLoadPasswordsMissingFile(t *testing.T) {
	if _, err := file.LoadPasswords(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("no error")
	}
}
