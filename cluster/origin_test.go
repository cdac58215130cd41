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
	// there a No Local subscription of that client id does not get it
	// [MQTT-3.8.3-3]. The PublishHooks see it once, on the node it was
	// published to, with that client id; the receiving node's do not run
	// for it (Broker.PublishForwarded). The client id publishes on node 0
	// through an in-process Client (no session: nothing taken over) while
	// its disconnected persistent session, subscribed with No Local, lives
	// on node 1.
	hooks := map[string]*originHook{"n0": {got: map[string]string{}}, "n1": {got: map[string]string{}}}
	tc := newClusterHooks(t, 2, func(id string) []any { return []any{hooks[id]} })
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
	for _, h := range hooks {
		h.mu.Lock()
		defer h.mu.Unlock()
	}
	if got := hooks["n0"].got; got["own"] != "me" || got["end"] != "pub" {
		t.Errorf("hooks of the publisher's node saw origins %q, want own=me, end=pub", got)
	}
	if got := hooks["n1"].got; len(got) != 0 {
		t.Errorf("hooks of the receiving node saw %q, want nothing (they ran on the publisher's node)", got)
	}
}
