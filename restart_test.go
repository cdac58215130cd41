package broker_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage/bolt"
)

func startOn(t *testing.T, path string) (*broker.Broker, string) {
	t.Helper()
	st, err := bolt.Open(path, bolt.WithSync(bolt.SyncNone))
	if err != nil {
		t.Fatal(err)
	}
	l, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(broker.WithListener(l), broker.WithStorage(st), broker.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b, l.Addr().String()
}

// TestRestartKeepsPersistentSessions: a broker on bolt storage is stopped
// and started again; the persistent session, its subscriptions, its queued
// QoS 1 and QoS 2 messages (in order) and the retained messages are back.
func TestRestartKeepsPersistentSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tern.db")
	b1, addr := startOn(t, path)
	sub := dialRaw(t, addr)
	sub.connect(connectPacket("durable", false), packets.Success)
	sub.subscribe(1, "d/1", 1)
	sub.subscribe(2, "d/2", 2)
	sub.send(&packets.Disconnect{})
	sub.expectClosed()

	pub := dialRaw(t, addr)
	pub.connect(connectPacket("producer", true), packets.Success)
	for i := range 100 {
		pub.send(&packets.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: []byte("d/1"), Payload: []byte(fmt.Sprint(i))})
		if a := pub.next().(*packets.Ack); a.Kind != packets.PUBACK {
			t.Fatalf("got %v", a.Kind)
		}
	}
	for i := range 10 {
		pub.send(&packets.Publish{QoS: 2, PacketID: uint16(i + 200), Topic: []byte("d/2"), Payload: []byte(fmt.Sprint(i))})
		pub.next() // PUBREC
		pub.send(&packets.Ack{Kind: packets.PUBREL, PacketID: uint16(i + 200)})
		pub.next() // PUBCOMP
	}
	pub.send(&packets.Publish{QoS: 1, PacketID: 999, Retain: true, Topic: []byte("r/x"), Payload: []byte("kept")})
	pub.next()
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}

	b2, addr2 := startOn(t, path)
	t.Cleanup(func() { _ = b2.Close() })
	sub = dialRaw(t, addr2)
	if ack := sub.connect(connectPacket("durable", false), packets.Success); !ack.SessionPresent {
		t.Fatal("persistent session lost in the restart")
	}
	for i := range 100 {
		p := sub.expectPublish("d/1", fmt.Sprint(i))
		sub.send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
	}
	var ids []uint16
	for i := range 10 {
		ids = append(ids, sub.expectPublish("d/2", fmt.Sprint(i)).PacketID)
	}
	for _, id := range ids {
		sub.send(&packets.Ack{Kind: packets.PUBREC, PacketID: id})
		if a, ok := sub.next().(*packets.Ack); !ok || a.Kind != packets.PUBREL || a.PacketID != id {
			t.Fatalf("got %#v, want PUBREL %d", a, id)
		}
		sub.send(&packets.Ack{Kind: packets.PUBCOMP, PacketID: id})
	}
	// The subscriptions came back too: a new message is routed live.
	if err := b2.Publish("d/1", []byte("live"), 1, false); err != nil {
		t.Fatal(err)
	}
	sub.expectPublish("d/1", "live")
	other := dialRaw(t, addr2)
	other.connect(connectPacket("late", true), packets.Success)
	other.subscribe(1, "r/#", 0)
	other.expectPublish("r/x", "kept")
}

// TestStorageFailureIsNotAcknowledged: when a durable subscriber's copy
// cannot be stored, the publisher is not told the message is safe: a v5
// PUBACK carries 0x83, a 3.1.1 publisher is disconnected without PUBACK.
func TestStorageFailureIsNotAcknowledged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tern.db")
	st, err := bolt.Open(path, bolt.WithSync(bolt.SyncNone))
	if err != nil {
		t.Fatal(err)
	}
	b, addr := startBroker(t, broker.WithStorage(st))
	sub := dialRaw(t, addr)
	sub.connect(connectPacket("keeper", false), packets.Success)
	sub.subscribe(1, "safe", 1)
	sub.send(&packets.Disconnect{})
	sub.expectClosed()
	_ = b
	if err := st.Close(); err != nil { // the disk goes away under the broker
		t.Fatal(err)
	}
	p5 := dialRaw(t, addr)
	p5.connect(connect5("pub5", true), packets.Success)
	p5.send(&packets.Publish{QoS: 1, PacketID: 1, Topic: []byte("safe"), Payload: []byte("x")})
	if a, ok := p5.next().(*packets.Ack); !ok || a.ReasonCode != packets.ImplementationSpecificError {
		t.Fatalf("got %#v, want PUBACK 0x83", a)
	}
	p3 := dialRaw(t, addr)
	p3.connect(connectPacket("pub3", true), packets.Success)
	p3.send(&packets.Publish{QoS: 1, PacketID: 1, Topic: []byte("safe"), Payload: []byte("x")})
	pk, err := p3.tryNext(5 * time.Second)
	if err == nil {
		t.Fatalf("got %#v, want the connection closed without PUBACK", pk)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection left open")
	}
}
