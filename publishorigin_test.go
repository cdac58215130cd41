package broker_test

import (
	"sync"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// originHook records the client a PublishHook sees, and the message's
// origin, per payload.
type originHook struct {
	mu  sync.Mutex
	got map[string][2]string // payload → {ClientInfo.Listener, Message.ClientID}
}

func (h *originHook) OnPublish(c *broker.ClientInfo, m *broker.Message) error {
	h.mu.Lock()
	h.got[string(m.Payload)] = [2]string{c.Listener, m.ClientID}
	h.mu.Unlock()
	return nil
}

// TestPublishMessageOnBehalfOfClient: the host publishes on behalf of a
// client with Message.ClientID: that client's No Local subscription does
// not get the message [MQTT-3.8.3-3], other subscribers get it with the
// origin, and hooks see the origin with the host's ClientInfo. Without
// ClientID (Broker.Publish) the message is the host's own.
func TestPublishMessageOnBehalfOfClient(t *testing.T) {
	h := &originHook{got: map[string][2]string{}}
	b, addr := startBroker(t, broker.WithHooks(h))
	me := dialRaw(t, addr)
	me.connect(connect5("me", true), packets.Success)
	sub5(me, 1, 0, packets.Subscription{Filter: []byte("o/#"), NoLocal: true})
	origins := make(chan string, 4)
	cancel, err := b.Subscribe("o/#", 0, func(m *broker.Message) { origins <- m.ClientID })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	if _, err := b.PublishMessage(t.Context(), &broker.Message{Topic: "o/x", Payload: []byte("for-me"), ClientID: "me"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish("o/x", []byte("host"), 0, false); err != nil {
		t.Fatal(err)
	}
	// In order on one connection: "for-me" would come before "host".
	me.expectPublish("o/x", "host")
	if o := <-origins; o != "me" {
		t.Errorf("in-process subscriber saw origin %q, want me", o)
	}
	if o := <-origins; o != "" {
		t.Errorf("in-process subscriber saw origin %q for the host's own, want none", o)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if g := h.got["for-me"]; g != [2]string{"local", "me"} {
		t.Errorf("hook saw (listener, origin) %q, want (local, me)", g)
	}
	if g := h.got["host"]; g != [2]string{"local", ""} {
		t.Errorf("hook saw (listener, origin) %q for the host's own, want (local, \"\")", g)
	}
}
