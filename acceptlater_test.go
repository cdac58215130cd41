package broker_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// laterHook accepts every QoS 1 message later: its waits return result
// once release is closed.
type laterHook struct {
	seen    atomic.Int32
	release chan struct{}
	result  error
}

func (h *laterHook) OnPublish(_ *broker.ClientInfo, m *broker.Message) error {
	h.seen.Add(1)
	return broker.AcceptLater(func() error { <-h.release; return h.result })
}

// A PublishHook that learns later whether a message was kept (a cluster's
// forward) does not hold up the publisher's reader: every PUBLISH of the
// batch is read and routed while the first wait is pending; the PUBACKs
// come, in order, after the waits [MQTT-4.6.0-2].
func TestAcceptLaterAcknowledgesAfterTheWaitInOrder(t *testing.T) {
	const n = 20
	h := &laterHook{release: make(chan struct{})}
	_, addr := startBroker(t, broker.WithHooks(h), broker.WithSysInterval(-1))
	sub := dialRaw(t, addr)
	sub.connect(connectPacket("sub", true), packets.Success)
	sub.subscribe(1, "later/#", 1)
	pub := dialRaw(t, addr)
	pub.V = packets.V5
	pub.connect(connect5("pub", true), packets.Success)
	var burst []byte
	for i := range n {
		burst, _ = (&packets.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: []byte("later/a"), Payload: fmt.Appendf(nil, "%d", i)}).Append(burst, packets.V5)
	}
	pub.write(burst)
	for i := range n { // routed while the waits are pending
		p := sub.next().(*packets.Publish)
		if string(p.Payload) != fmt.Sprint(i) {
			t.Fatalf("delivery %d: %q", i, p.Payload)
		}
		sub.send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
	}
	if got := h.seen.Load(); got != n {
		t.Fatalf("hook saw %d of %d messages while the first wait was pending", got, n)
	}
	if p, err := pub.tryNext(200 * time.Millisecond); err == nil {
		t.Fatalf("acknowledged before the wait returned: %v", p)
	}
	close(h.release)
	for i := range n {
		a, ok := pub.next().(*packets.Ack)
		if !ok || a.Kind != packets.PUBACK || a.PacketID != uint16(i+1) || a.ReasonCode != packets.Success {
			t.Fatalf("acknowledgement %d: %+v", i+1, a)
		}
	}
}

// A wait that refuses: an MQTT 5 publisher gets the reason code, a 3.1.1
// publisher no acknowledgement at all (its connection closes and it sends
// the message again) [MQTT-4.4.0-1].
func TestAcceptLaterRefusal(t *testing.T) {
	h := &laterHook{release: make(chan struct{}), result: fmt.Errorf("link down: %w: %w", broker.ErrNotAccepted, packets.QuotaExceeded)}
	close(h.release)
	_, addr := startBroker(t, broker.WithHooks(h), broker.WithSysInterval(-1))

	v5 := dialRaw(t, addr)
	v5.V = packets.V5
	v5.connect(connect5("v5", true), packets.Success)
	v5.send(&packets.Publish{QoS: 1, PacketID: 7, Topic: []byte("later/b"), Payload: []byte("x")})
	if a, ok := v5.next().(*packets.Ack); !ok || a.PacketID != 7 || a.ReasonCode != packets.QuotaExceeded {
		t.Fatalf("v5 PUBACK %+v, want 0x97", a)
	}

	v3 := dialRaw(t, addr)
	v3.connect(connectPacket("v3", true), packets.Success)
	v3.send(&packets.Publish{QoS: 1, PacketID: 8, Topic: []byte("later/b"), Payload: []byte("x")})
	v3.expectClosed()
}
