package httpbridge_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/ternmq/broker"
)

// TestAuthentication: HTTP Basic and Bearer credentials reach the
// broker's Authenticator as a CONNECT's would (a token as the password
// with no user name); refusals are 401 with a challenge (RFC 9110 section
// 11.6.1), ACL refusals 403 with 0x87 Not authorized.
func TestAuthentication(t *testing.T) {
	e, _ := authEnv(t)
	tests := []struct {
		name   string
		url    string
		hdr    http.Header
		status int
		code   int
	}{
		{"basic", "/publish/public/a", basic("alice", "secret"), 200, 0},
		{"basic, wrong password", "/publish/public/a", basic("alice", "nope"), 401, 0x86},
		{"bearer token", "/publish/alice/a", bearer("tok-alice"), 200, 0},
		{"unknown bearer token", "/publish/public/a", bearer("tok-eve"), 401, 0x86},
		{"empty bearer token", "/publish/public/a", http.Header{"Authorization": {"Bearer "}}, 401, 0x86},
		{"anonymous may not publish", "/publish/public/a", nil, 403, 0x87},
		{"bob may not publish under alice/", "/publish/alice/a", basic("bob", "hunter2"), 403, 0x87},
		{"bob may not read alice's retained messages", "/retained?topic=alice/%23", basic("bob", "hunter2"), 403, 0x87},
		{"anonymous may read public retained messages", "/retained?topic=public/%23", nil, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodPost
			if tt.url[:9] == "/retained" {
				method = http.MethodGet
			}
			status, body, hdr := do(t, method, e.base+tt.url, "x", tt.hdr)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.code != 0 {
				if a := decode[errorAnswer](t, body); a.ReasonCode == nil || *a.ReasonCode != tt.code {
					t.Errorf("body %s, want reason code %d", body, tt.code)
				}
			}
			if ch := hdr.Values("WWW-Authenticate"); (status == 401) != (len(ch) == 2) {
				t.Errorf("WWW-Authenticate %q with status %d", ch, status)
			}
		})
	}

	t.Run("subscription refused", func(t *testing.T) {
		_, status, body := tryOpenSSE(t, e.base+"/subscribe?filter=alice/%23", basic("bob", "hunter2"))
		if a := decode[errorAnswer](t, body); status != 403 || a.ReasonCode == nil || *a.ReasonCode != 0x87 {
			t.Errorf("%d %s, want 403 with 0x87", status, body)
		}
	})
}

// TestClientInfo: the Authenticator sees each request as a client of the
// listener, from the request's TCP peer, with the bearer token as its
// password and no user name.
func TestClientInfo(t *testing.T) {
	var (
		mu  sync.Mutex
		got struct {
			info broker.ClientInfo
			pass string
		}
	)
	auth := authFunc(func(c *broker.Credentials) error {
		mu.Lock()
		defer mu.Unlock()
		got.info, got.pass = c.ClientInfo, string(c.Password)
		return nil
	})
	e := newEnv(t, []broker.Option{broker.WithAuthenticator(auth)})
	status, body, _ := do(t, http.MethodPost, e.base+"/publish/a", "x", bearer("eyJhbGciOi.x.y"))
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.info.Listener != "web" || got.info.Username != "" || got.pass != "eyJhbGciOi.x.y" || got.info.ID == "" {
		t.Errorf("authenticator saw %+v, password %q", got.info, got.pass)
	}
	if a, ok := got.info.Remote.(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		t.Errorf("Remote %v, want the loopback peer", got.info.Remote)
	}
}

// TestAnonymousRefusedIsAskedForCredentials: an Authenticator that
// refuses a request without credentials gets it answered 401 with a
// challenge, not 403.
func TestAnonymousRefusedIsAskedForCredentials(t *testing.T) {
	u := &users{passwords: map[string]string{"alice": "secret"}}
	e := newEnv(t, []broker.Option{broker.WithAuthenticator(u)})
	status, body, hdr := do(t, http.MethodPost, e.base+"/publish/a", "x", nil)
	if a := decode[errorAnswer](t, body); status != 401 || a.ReasonCode == nil || *a.ReasonCode != 0x87 || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("%d %s %v, want 401 with 0x87 and a challenge", status, body, hdr)
	}
}

// authFunc is an Authenticator made of a function.
type authFunc func(c *broker.Credentials) error

func (f authFunc) Authenticate(_ context.Context, c *broker.Credentials) error { return f(c) }
