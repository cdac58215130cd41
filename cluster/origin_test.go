package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/ternmq/broker"
)

// originHook records the origin client id of the messages a node's
// PublishHooks see, by payload.
type originHook struct {
	mu  sync.Mutex
	got map[string]string
}

func (h *originHook) OnPublish(c *broker.ClientInfo, m *broker.Message) error {
	h.mu.Lock()
	h.got[string(m.Payload)] = m.ClientID
	h.mu.Unlock()
	return nil
}

func TestForwardedMessageKeepsOrigin(t *testing.T) {
	// A message forwarded to another node keeps its publisher's client id:
	// hooks there see it, and there a No Local subscription of that client
	// id does not get it [MQTT-3.8.3-3]. The client id publishes on node 0
	// through an in-process Client (no session: nothing taken over) while
	// its disconnected persistent session, subscribed with No Local, lives
	// on node 1.
	h := &originHook{got: map[string]string{}}
	tc := newClusterHooks(t, 2, func(id string) []any {
		if id == "n1" {
			return []any{h}
		}
		return nil
	})
	me, _ := dial(t, tc.nodes[1].addr, "me", persistent())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := me.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "nl/#", QoS: 1, NoLocal: true}}}); err != nil {
		t.Fatal(err)
	}
	_ = me.Disconnect(&paho.Disconnect{})

	as, err := tc.nodes[0].b.NewClient(ctx, &broker.Credentials{ClientInfo: broker.ClientInfo{ID: "me", CleanStart: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	if _, err := as.Publish(ctx, &broker.Message{Topic: "nl/x", Payload: []byte("own"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	pub, _ := dial(t, tc.nodes[0].addr, "pub", nil)
	pub.publish("nl/end", "end", 1, false)

	me, _ = dial(t, tc.nodes[1].addr, "me", persistent())
	if got := me.until("nl/end", "end"); len(got) != 0 {
		t.Errorf("the No Local session got %d of its own messages from another node (%v), want 0", len(got), payloads(got))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.got["own"] != "me" || h.got["end"] != "pub" {
		t.Errorf("hooks of the receiving node saw origins %q, want own=me, end=pub", h.got)
	}
}
