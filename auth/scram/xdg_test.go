package scram_test

import (
	"context"
	"errors"
	"testing"

	xdg "github.com/xdg-go/scram"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth/scram"
	"github.com/ternmq/broker/packets"
)

// converse runs a conversation between an xdg-go/scram client and ex.
// It returns the exchange's error, or the client's failure to verify the
// server.
func converse(t *testing.T, ex broker.AuthExchange, user, password string) error {
	t.Helper()
	client, err := xdg.SHA256.NewClient(user, password, "")
	if err != nil {
		t.Fatal(err)
	}
	conv := client.NewConversation()
	msg, err := conv.Step("")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for {
		reply, done, err := ex.Next(ctx, []byte(msg))
		if err != nil {
			return err
		}
		msg, err = conv.Step(string(reply))
		if err != nil {
			return err
		}
		if done {
			if !conv.Done() || !conv.Valid() {
				t.Fatal("server done but the client is not")
			}
			return nil
		}
	}
}

// TestXDGClient: a third-party SCRAM client authenticates with the right
// password and is refused with a wrong one.
func TestXDGClient(t *testing.T) {
	users := &scram.MemoryUsers{}
	users.Add("alice", "correct horse")
	users.Add("a,b=c", "comma")                               // escaped as a=2Cb=3Dc
	users.Add("hyphen", "I\u00adX")                           // SASLprep maps the soft hyphen to nothing
	users.Set("rounds", scram.NewCredential("r", nil, 10000)) // a count other than 4096
	a := scram.New(users)
	for _, tc := range []struct {
		name, connUser, user, password string
		want                           error
	}{
		{"right password", "", "alice", "correct horse", nil},
		{"right password, same CONNECT user", "alice", "alice", "correct horse", nil},
		{"escaped user name", "", "a,b=c", "comma", nil},
		{"SASLprep of the password", "", "hyphen", "IX", nil},
		{"10000 iterations", "", "rounds", "r", nil},
		{"wrong password", "", "alice", "battery staple", packets.BadUserNameOrPassword},
		{"unknown user", "", "bob", "correct horse", packets.BadUserNameOrPassword},
		{"other CONNECT user", "bob", "alice", "correct horse", packets.BadUserNameOrPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := a.BeginAuth(context.Background(), &broker.Credentials{
				ClientInfo: broker.ClientInfo{Username: tc.connUser},
				AuthMethod: scram.Method,
			})
			if err != nil {
				t.Fatal(err)
			}
			err = converse(t, ex, tc.user, tc.password)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestXDGClientDetectsForgedServer: the client notices a server that
// does not know the password (its ServerKey is not the user's).
func TestXDGClientDetectsForgedServer(t *testing.T) {
	real, forged := &scram.MemoryUsers{}, &scram.MemoryUsers{}
	real.Add("alice", "secret")
	c, _ := real.Lookup("alice")
	c.ServerKey = scram.NewCredential("other", c.Salt, c.Iterations).ServerKey
	forged.Set("alice", c)
	ex, err := scram.New(forged).BeginAuth(context.Background(), &broker.Credentials{AuthMethod: scram.Method})
	if err != nil {
		t.Fatal(err)
	}
	if err := converse(t, ex, "alice", "secret"); err == nil {
		t.Fatal("client accepted a server signature from the wrong key")
	}
}
