package auth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth"
	"github.com/ternmq/broker/packets"
)

// users is a member that knows a fixed set of user names and passwords.
type users map[string]string

func (u users) Authenticate(_ context.Context, c *broker.Credentials) error {
	pw, ok := u[c.Username]
	switch {
	case !ok || c.Username == "":
		return auth.ErrUnknownUser
	case pw != string(c.Password):
		return packets.BadUserNameOrPassword
	}
	return nil
}

// verdict is an Authorizer giving one answer and recording who asked.
type verdict struct {
	allow bool
	asked *[]string
	name  string
}

func (v verdict) Authorize(_ context.Context, c *broker.ClientInfo, a broker.Access) broker.Decision {
	*v.asked = append(*v.asked, v.name)
	if v.allow {
		return broker.Allow()
	}
	return broker.Deny()
}

// quiet keeps a Chain's failure log out of the test output.
var quiet = auth.WithLogger(slog.New(slog.DiscardHandler))

func creds(user, pw string) *broker.Credentials {
	c := &broker.Credentials{ClientInfo: broker.ClientInfo{ID: "c1", Username: user, Remote: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000}}}
	if pw != "" {
		c.Password = []byte(pw)
	}
	return c
}

// TestChainFirstMemberThatKnowsTheUserDecides: members are asked in order;
// ErrUnknownUser passes to the next, any other answer is final.
func TestChainFirstMemberThatKnowsTheUserDecides(t *testing.T) {
	var asked []string
	first := users{"alice": "a1", "bob": "b-first"}
	second := users{"bob": "b-second", "carol": "c2"}
	chain, err := auth.NewChain([]auth.Member{
		{Name: "first", Authenticator: first, Authorizer: verdict{true, &asked, "first"}},
		{Name: "second", Authenticator: second, Authorizer: verdict{false, &asked, "second"}},
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, user, pw string
		want           packets.ReasonCode
		source         string
	}{
		{"known to the first", "alice", "a1", packets.Success, "first"},
		{"known to the second only", "carol", "c2", packets.Success, "second"},
		{"the first's refusal is final", "bob", "b-second", packets.BadUserNameOrPassword, ""},
		{"known to the first, right password", "bob", "b-first", packets.Success, "first"},
		{"unknown to all", "mallory", "x", packets.BadUserNameOrPassword, ""},
		{"anonymous refused by default", "", "", packets.NotAuthorized, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cr := creds(c.user, c.pw)
			err := chain.Authenticate(context.Background(), cr)
			if got := packets.CodeOf(err); got != c.want {
				t.Fatalf("Authenticate: %v (0x%02x), want 0x%02x", err, byte(got), byte(c.want))
			}
			if src, _ := cr.Attributes[auth.AttrSource].(string); src != c.source {
				t.Errorf("source %q, want %q", src, c.source)
			}
			if c.source == "" {
				return
			}
			asked = nil
			chain.Authorize(context.Background(), &cr.ClientInfo, broker.Access{Action: broker.ActionPublish, Topic: "t"})
			if len(asked) != 1 || asked[0] != c.source {
				t.Errorf("Authorize asked %v, want the authorizer of %q", asked, c.source)
			}
		})
	}
	if s := chain.Stats(); s.Accepted != 3 || s.Refused != 3 {
		t.Errorf("stats %+v, want 3 accepted and 3 refused", s)
	}
}

// TestChainAnonymous: with WithAnonymous, a client without credentials is
// let in and authorized by the anonymous authorizer; a client with a user
// name no member knows is still refused (Mosquitto does the same with
// allow_anonymous true).
func TestChainAnonymous(t *testing.T) {
	var asked []string
	chain, err := auth.NewChain(
		[]auth.Member{{Name: "m", Authenticator: users{"alice": "a"}}},
		auth.WithAnonymous(verdict{false, &asked, "anon"}),
		auth.WithDefaultAuthorizer(verdict{true, &asked, "default"}),
		quiet,
	)
	if err != nil {
		t.Fatal(err)
	}
	cr := creds("", "")
	if err := chain.Authenticate(context.Background(), cr); err != nil {
		t.Fatalf("anonymous refused: %v", err)
	}
	if d := chain.Authorize(context.Background(), &cr.ClientInfo, broker.Access{Action: broker.ActionRead, Topic: "x"}); d.Allowed() {
		t.Error("the anonymous authorizer was not asked")
	}
	if err := chain.Authenticate(context.Background(), creds("stranger", "pw")); packets.CodeOf(err) != packets.BadUserNameOrPassword {
		t.Errorf("unknown user: %v, want Bad user name or password", err)
	}
	if err := chain.Authenticate(context.Background(), creds("", "only-a-password")); packets.CodeOf(err) != packets.BadUserNameOrPassword {
		t.Errorf("password without user name: %v, want Bad user name or password", err)
	}
	cr = creds("alice", "a")
	if err := chain.Authenticate(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	asked = nil
	chain.Authorize(context.Background(), &cr.ClientInfo, broker.Access{Action: broker.ActionRead, Topic: "x"})
	if len(asked) != 1 || asked[0] != "default" {
		t.Errorf("a member without an authorizer: asked %v, want the default", asked)
	}
	asked = nil
	host := &broker.ClientInfo{Listener: "local"}
	chain.Authorize(context.Background(), host, broker.Access{Action: broker.ActionPublish, Topic: "x"})
	if len(asked) != 1 || asked[0] != "default" {
		t.Errorf("a client the chain did not authenticate: asked %v, want the default", asked)
	}
}

// TestChainDoesNotWriteIntoTheCallersAttributes: the attributes a
// transport attached are kept, in a new map.
func TestChainDoesNotWriteIntoTheCallersAttributes(t *testing.T) {
	chain, _ := auth.NewChain([]auth.Member{{Name: "m", Authenticator: users{"alice": "a"}}}, quiet)
	orig := map[string]any{"tls.cn": "device-1"}
	cr := creds("alice", "a")
	cr.Attributes = orig
	if err := chain.Authenticate(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	if len(orig) != 1 {
		t.Errorf("the original map was written: %v", orig)
	}
	if cr.Attributes["tls.cn"] != "device-1" || cr.Attributes[auth.AttrSource] != "m" {
		t.Errorf("attributes %v", cr.Attributes)
	}
}

// TestChainLogsFailuresWithoutThePassword: a refusal is logged with user,
// client, address and code, and the password appears nowhere.
func TestChainLogsFailuresWithoutThePassword(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	chain, _ := auth.NewChain([]auth.Member{{Name: "m", Authenticator: users{"alice": "a"}}}, auth.WithLogger(log))
	const secret = "hunter2-very-secret"
	_ = chain.Authenticate(context.Background(), creds("alice", secret))
	_ = chain.Authenticate(context.Background(), creds("nobody", secret))
	out := buf.String()
	if strings.Contains(out, secret) {
		t.Fatalf("the password is in the log:\n%s", out)
	}
	for _, want := range []string{`username=alice`, `username=nobody`, `remote=192.0.2.7`, `member=m`, `client=c1`, "code=0x86", "bad user name or password"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestNewChainRefusesBadMembers(t *testing.T) {
	a := users{}
	for name, ms := range map[string][]auth.Member{
		"no authenticator": {{Name: "x"}},
		"no name":          {{Authenticator: a}},
		"named anonymous":  {{Name: auth.Anonymous, Authenticator: a}},
		"duplicate name":   {{Name: "x", Authenticator: a}, {Name: "x", Authenticator: a}},
	} {
		if _, err := auth.NewChain(ms); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestErrUnknownUserIsBadUserNameOrPassword(t *testing.T) {
	if !errors.Is(auth.ErrUnknownUser, packets.BadUserNameOrPassword) {
		t.Fatal("ErrUnknownUser does not wrap BadUserNameOrPassword")
	}
}
