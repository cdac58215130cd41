package broker_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// refuseHook refuses every message with err while on.
type refuseHook struct {
	on  atomic.Bool
	err error
}

func (h *refuseHook) OnPublish(c *broker.ClientInfo, m *broker.Message) error {
	if h.on.Load() && m.Topic != "plain" {
		return h.err
	}
	if h.on.Load() {
		return errors.New("refused")
	}
	return nil
}

// TestNotAcceptedIsNotAcknowledged311: a QoS 1 message a PublishHook
// refuses with ErrNotAccepted is not acknowledged to a 3.1.1 publisher
// (the connection closes) and is delivered when the client resends it
// after reconnecting [MQTT-4.4.0-1]; any other refusal is acknowledged
// and dropped, as before.
func TestNotAcceptedIsNotAcknowledged311(t *testing.T) {
	h := &refuseHook{err: fmt.Errorf("forward: %w", broker.ErrNotAccepted)}
	_, addr := startBroker(t, broker.WithHooks(h))
	sub := dialRaw(t, addr)
	sub.connect(connectPacket("sub", true), packets.Success)
	sub.subscribe(1, "#", 1)

	h.on.Store(true)
	pub := dialRaw(t, addr)
	pub.connect(connectPacket("pub", false), packets.Success)
	pub.send(&packets.Publish{QoS: 1, PacketID: 1, Topic: []byte("plain"), Payload: []byte("dropped")})
	if a, ok := pub.next().(*packets.Ack); !ok || a.Kind != packets.PUBACK || a.PacketID != 1 {
		t.Fatalf("plain refusal: got %v, want PUBACK 1", a)
	}
	pub.send(&packets.Publish{QoS: 1, PacketID: 2, Topic: []byte("t"), Payload: []byte("kept")})
	pub.expectClosed() // no PUBACK before the close

	h.on.Store(false)
	pub = dialRaw(t, addr)
	pub.connect(connectPacket("pub", false), packets.Success)
	pub.send(&packets.Publish{QoS: 1, PacketID: 2, Dup: true, Topic: []byte("t"), Payload: []byte("kept")})
	if a, ok := pub.next().(*packets.Ack); !ok || a.Kind != packets.PUBACK || a.PacketID != 2 {
		t.Fatalf("resent: got %v, want PUBACK 2", a)
	}
	sub.expectPublish("t", "kept") // and not "dropped" before it
}

// TestNotAcceptedReasonCodeV5: an MQTT 5 publisher gets the reason code
// wrapped with ErrNotAccepted, Unspecified error when there is none.
func TestNotAcceptedReasonCodeV5(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want packets.ReasonCode
	}{
		{broker.ErrNotAccepted, packets.UnspecifiedError},
		{fmt.Errorf("%w: %w", broker.ErrNotAccepted, packets.QuotaExceeded), packets.QuotaExceeded},
	} {
		h := &refuseHook{err: tt.err}
		h.on.Store(true)
		_, addr := startBroker(t, broker.WithHooks(h))
		pub := dialRaw(t, addr)
		pub.connect(connect5("pub", true), packets.Success)
		pub.send(&packets.Publish{QoS: 1, PacketID: 1, Topic: []byte("t"), Payload: []byte("x")})
		if a, ok := pub.next().(*packets.Ack); !ok || a.Kind != packets.PUBACK || a.ReasonCode != tt.want {
			t.Errorf("%v: got %v, want PUBACK %v", tt.err, a, tt.want)
		}
	}
}
