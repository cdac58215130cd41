package coap_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/coap"
	"github.com/ternmq/broker/packets"
)

// users is an Authenticator with fixed passwords (a token arrives as the
// password of an empty user name) and an ACL: each user may publish and
// subscribe under its own name. It records the clients it saw.
type users struct {
	mu   sync.Mutex
	seen []broker.ClientInfo
}

var passwords = map[string]string{"sensor": "s3cret", "alice": "pw", "": "tok123"}

func (u *users) Authenticate(_ context.Context, c *broker.Credentials) error {
	u.mu.Lock()
	u.seen = append(u.seen, c.ClientInfo)
	u.mu.Unlock()
	if pw, ok := passwords[c.Username]; !ok || c.Password == nil || string(c.Password) != pw {
		return packets.BadUserNameOrPassword
	}
	if c.Username == "" {
		c.Username = "token-user"
	}
	return nil
}

// The host (listener "local") may do anything.
func (u *users) CanPublish(c *broker.ClientInfo, topic string) bool {
	return c.Listener == "local" || strings.HasPrefix(topic, c.Username+"/")
}

func (u *users) CanSubscribe(c *broker.ClientInfo, filter string) bool {
	return c.Listener == "local" || strings.HasPrefix(filter, c.Username+"/")
}

// TestAuthentication: each request acts through a client authenticated
// with the listener's identity or, when enabled, the query's credentials
// (?u=&p=, ?t=); the broker's ACL applies; refusals map to 4.01 and 4.03.
// The client names the listener and the peer's address.
func TestAuthentication(t *testing.T) {
	tests := []struct {
		name  string
		opts  []coap.Option
		path  string
		query []string
		want  codes.Code
	}{
		{"identity allowed", []coap.Option{coap.WithIdentity("sensor", []byte("s3cret"))}, "/ps/sensor/t", nil, codes.Changed},
		{"identity denied topic", []coap.Option{coap.WithIdentity("sensor", []byte("s3cret"))}, "/ps/alice/t", nil, codes.Forbidden},
		{"identity bad password", []coap.Option{coap.WithIdentity("sensor", []byte("nope"))}, "/ps/sensor/t", nil, codes.Unauthorized},
		{"anonymous refused", nil, "/ps/sensor/t", nil, codes.Unauthorized},
		{"query user", []coap.Option{coap.WithQueryCredentials()}, "/ps/alice/t", []string{"u=alice", "p=pw"}, codes.Changed},
		{"query user bad password", []coap.Option{coap.WithQueryCredentials()}, "/ps/alice/t", []string{"u=alice", "p=x"}, codes.Unauthorized},
		{"query token", []coap.Option{coap.WithQueryCredentials()}, "/ps/token-user/t", []string{"t=tok123"}, codes.Changed},
		{"query overrides identity", []coap.Option{coap.WithIdentity("sensor", []byte("s3cret")), coap.WithQueryCredentials()}, "/ps/alice/t", []string{"u=alice", "p=pw"}, codes.Changed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &users{}
			e := start(t, []broker.Option{broker.WithAuthenticator(u), broker.WithAuthorizer(broker.SimpleAuthorizer(u))}, tt.opts...)
			co := dial(t, e.coapAddr)
			var opts []message.Option
			for _, q := range tt.query {
				opts = append(opts, query(q))
			}
			resp, err := co.Post(ctx10(t), tt.path, message.TextPlain, strings.NewReader("x"), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Code() != tt.want {
				body, _ := resp.ReadBody()
				t.Fatalf("POST = %v %q, want %v", resp.Code(), body, tt.want)
			}
			u.mu.Lock()
			defer u.mu.Unlock()
			if len(u.seen) == 0 {
				t.Fatal("the authenticator was not asked")
			}
			ci := u.seen[0]
			if ci.Listener != "coap" || ci.Remote == nil || ci.Remote.String() != co.LocalAddr().String() {
				t.Errorf("client info Listener %q Remote %v, want coap and %v", ci.Listener, ci.Remote, co.LocalAddr())
			}
		})
	}
}

// TestAuthorizationObserve: an observation is a subscription under the
// ACL, and the peer's client is reused across its requests.
func TestAuthorizationObserve(t *testing.T) {
	u := &users{}
	e := start(t, []broker.Option{broker.WithAuthenticator(u), broker.WithAuthorizer(broker.SimpleAuthorizer(u))},
		coap.WithIdentity("alice", []byte("pw")))
	co := dial(t, e.coapAddr)
	ctx := ctx10(t)
	resp, err := co.Get(ctx, "/ps/sensor/#", message.Option{ID: message.Observe, Value: []byte{}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.Forbidden || resp.HasOption(message.Observe) {
		t.Errorf("observe of another user's topics = %v, want 4.03 without Observe", resp.Code())
	}
	var n notes
	observe(t, ctx, co, "/ps/alice/#", &n)
	e.subscriptions(t, 1)
	if _, err := co.Post(ctx, "/ps/alice/x", message.TextPlain, strings.NewReader("mine")); err != nil {
		t.Fatal(err)
	}
	if got := n.wait(t, 2)[1]; got.payload != "mine" {
		t.Errorf("notification %q, want mine", got.payload)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) != 1 {
		t.Errorf("authenticated %d times, want once for the peer", len(u.seen))
	}
}
