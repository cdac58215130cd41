package broker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// The PUBLISHes of one read that go to one subscriber are queued together
// (pipeline.go). When its queue fills in the middle of such a run, what
// fits is queued in order and the rest is dropped and counted, one by one,
// as when they came alone [MQTT-4.6.0-6: order per topic is kept].
func TestReadBatchToAFullQueueKeepsOrderAndCountsDrops(t *testing.T) {
	const n, queued = 50, 10
	b, addr := startBroker(t, broker.WithSysInterval(-1), broker.WithLimits(broker.Limits{MaxQueuedMessages: queued}))
	sub := dialRaw(t, addr)
	sub.V = packets.V5
	cp := connect5("sub", true)
	cp.Properties.ReceiveMaximum = 1 // one in flight, the rest wait in the queue
	cp.Properties.Present.Add(packets.PropReceiveMaximum)
	sub.connect(cp, packets.Success)
	sub.subscribe(1, "run/#", 1)

	pub := dialRaw(t, addr)
	pub.connect(connectPacket("pub", true), packets.Success)
	var burst []byte
	for i := range n {
		burst, _ = (&packets.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: []byte("run/a"), Payload: fmt.Appendf(nil, "%d", i)}).Append(burst, packets.V311)
	}
	pub.write(burst) // one write: read, routed and queued as one batch
	for i := range n {
		if a, ok := pub.next().(*packets.Ack); !ok || a.Kind != packets.PUBACK || a.PacketID != uint16(i+1) {
			t.Fatalf("PUBACK %d: got %v", i+1, a)
		}
	}
	// What was queued arrives in order: the first queued (one more if
	// the writer took one in flight meanwhile), later ones only as the
	// writer made room.
	got, last := 0, -1
	for {
		pk, err := sub.tryNext(300 * time.Millisecond)
		if err != nil {
			break
		}
		p := pk.(*packets.Publish)
		var seq int
		fmt.Sscan(string(p.Payload), &seq)
		if seq <= last || got < queued && seq != got {
			t.Fatalf("delivery %d is %d, after %d", got, seq, last)
		}
		got, last = got+1, seq
		sub.send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
	}
	if got < queued || got > queued+1 {
		t.Fatalf("%d delivered, want the %d queued (and one the writer made room for)", got, queued)
	}
	if d := b.Stats().Dropped; d != int64(n-got) {
		t.Fatalf("dropped %d, delivered %d, of %d", d, got, n)
	}
}
