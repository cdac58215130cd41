package broker_test

import (
	"context"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// twoStep is a host's toy challenge-response method: the client says
// "hello", is challenged, and must answer "answer".
type twoStep struct{}

func (twoStep) Authenticate(context.Context, *broker.Credentials) error { return nil }

func (twoStep) BeginAuth(_ context.Context, c *broker.Credentials) (broker.AuthExchange, error) {
	if c.AuthMethod != "TWO-STEP" {
		return nil, packets.BadAuthenticationMethod
	}
	return &twoStepExchange{}, nil
}

type twoStepExchange struct{ step int }

// Username makes the exchange an AuthenticatedUser.
func (e *twoStepExchange) Username() string { return "bob" }

// userSeen records the user name a ConnectHook sees.
type userSeen struct{ user chan string }

func (u userSeen) OnConnect(c *broker.ClientInfo) error {
	u.user <- c.Username
	return nil
}

func (e *twoStepExchange) Next(_ context.Context, data []byte) ([]byte, bool, error) {
	e.step++
	switch {
	case e.step == 1 && string(data) == "hello":
		return []byte("challenge"), false, nil
	case e.step == 2 && string(data) == "answer":
		return []byte("welcome"), true, nil
	}
	return nil, false, packets.NotAuthorized
}

func authPacket(code packets.ReasonCode, method, data string) *packets.Auth {
	a := &packets.Auth{ReasonCode: code}
	a.Properties.AuthMethod, a.Properties.AuthData = []byte(method), []byte(data)
	a.Properties.Present.Add(packets.PropAuthMethod)
	a.Properties.Present.Add(packets.PropAuthData)
	return a
}

// TestEnhancedAuthentication drives the AUTH exchange at CONNECT and a
// re-authentication [MQTT-4.12].
func TestEnhancedAuthentication(t *testing.T) {
	seen := userSeen{user: make(chan string, 10)}
	_, addr := startBroker(t, broker.WithAuthenticator(twoStep{}), broker.WithHooks(seen))
	start := func(t *testing.T, method, answer string) (*rawClient, packets.Packet) {
		c := dialRaw(t, addr)
		c.V = packets.V5
		p := connect5("ea", true)
		p.Properties.AuthMethod, p.Properties.AuthData = []byte(method), []byte("hello")
		p.Properties.Present.Add(packets.PropAuthMethod)
		p.Properties.Present.Add(packets.PropAuthData)
		c.send(p)
		pk := c.next()
		if a, ok := pk.(*packets.Auth); ok {
			if a.ReasonCode != packets.ContinueAuthentication || string(a.Properties.AuthData) != "challenge" {
				t.Fatalf("AUTH %v %q, want 0x18 challenge", a.ReasonCode, a.Properties.AuthData)
			}
			c.send(authPacket(packets.ContinueAuthentication, method, answer))
			pk = c.next()
		}
		return c, pk
	}
	t.Run("success", func(t *testing.T) {
		c, pk := start(t, "TWO-STEP", "answer")
		ack, ok := pk.(*packets.Connack)
		if !ok || ack.ReasonCode != packets.Success || string(ack.Properties.AuthMethod) != "TWO-STEP" || string(ack.Properties.AuthData) != "welcome" {
			t.Fatalf("got %#v, want CONNACK success with the method and final data", pk)
		}
		if u := <-seen.user; u != "bob" {
			t.Fatalf("ClientInfo.Username %q after enhanced authentication, want the authenticated user", u)
		}
		// Re-authentication [MQTT-4.12.1-1].
		c.send(authPacket(packets.ReAuthenticate, "TWO-STEP", "hello"))
		a := c.next().(*packets.Auth)
		if a.ReasonCode != packets.ContinueAuthentication {
			t.Fatalf("re-auth step 1: %v", a.ReasonCode)
		}
		c.send(authPacket(packets.ContinueAuthentication, "TWO-STEP", "answer"))
		if a := c.next().(*packets.Auth); a.ReasonCode != packets.Success {
			t.Fatalf("re-auth result %v, want success", a.ReasonCode)
		}
		// Another method on re-authentication is a protocol error [MQTT-4.12.1-1].
		c.send(authPacket(packets.ReAuthenticate, "OTHER", "hello"))
		if d, ok := c.next().(*packets.Disconnect); !ok || d.ReasonCode != packets.ProtocolError {
			t.Fatalf("got %#v, want DISCONNECT 0x82", d)
		}
	})
	t.Run("wrong answer", func(t *testing.T) {
		c, pk := start(t, "TWO-STEP", "guess")
		if ack, ok := pk.(*packets.Connack); !ok || ack.ReasonCode != packets.NotAuthorized {
			t.Fatalf("got %#v, want CONNACK 0x87", pk)
		}
		c.expectClosed()
	})
	t.Run("unknown method", func(t *testing.T) {
		c, pk := start(t, "NOPE", "")
		if ack, ok := pk.(*packets.Connack); !ok || ack.ReasonCode != packets.BadAuthenticationMethod {
			t.Fatalf("got %#v, want CONNACK 0x8C", pk)
		}
		c.expectClosed()
	})
}
