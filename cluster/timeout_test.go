package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/ternmq/broker"
)

// stallHook holds every message on topic until released: the node's link
// worker, which publishes forwarded messages, sends no ack meanwhile.
type stallHook struct {
	topic   string
	release chan struct{}
}

func (h *stallHook) OnPublish(_ *broker.ClientInfo, m *broker.Message) error {
	if m.Topic == h.topic {
		<-h.release
	}
	return nil
}

func TestForwardTimeoutRefusesThePublish(t *testing.T) {
	// A node that does not acknowledge a QoS 1 forward within
	// ForwardTimeout makes the publisher's node refuse the publish
	// (v5: PUBACK 0x80), neither sooner nor much later (the coarse clock
	// of tick.go), and the publisher's reader goes on meanwhile.
	const timeout = 600 * time.Millisecond
	stall := &stallHook{topic: "stall/x", release: make(chan struct{})}
	tc := &testCluster{fwdTO: timeout, hooks: func(id string) []any {
		if id == "n1" {
			return []any{stall}
		}
		return nil
	}}
	tc.init(t, 2, 5*time.Second)
	var once sync.Once
	release := func() { once.Do(func() { close(stall.release) }) }
	t.Cleanup(release) // before the nodes stop

	sub, _ := dial(t, tc.nodes[1].addr, "sub", nil)
	sub.subscribe("stall/#", 1)
	sub.subscribe("free/#", 1)
	pub, _ := dial(t, tc.nodes[0].addr, "pub", nil)
	pub.publish("free/x", "before", 1, false)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := pub.Publish(ctx, &paho.Publish{Topic: "stall/x", Payload: []byte("held"), QoS: 1})
	took := time.Since(start)
	if resp == nil || resp.ReasonCode != 0x80 {
		t.Fatalf("PUBACK %+v (%v) for a forward never acknowledged, want 0x80", resp, err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Fatalf("refused after %v, want about %v", took, timeout)
	}
	release()
	pub.publish("free/x", "after", 1, false)
	sub.waitFor(3) // before, held (published by n1 once released), after
}
