package broker_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// Regression tests for the findings of the reliability review (issue 11),
// one per finding, named after it.

// TestClientsMayNotPublishToSys: $SYS belongs to the broker (finding 8):
// v5 gets PUBACK 0x87, 3.1.1 is acknowledged and dropped, as in Mosquitto,
// and the retained $SYS value is unchanged.
func TestClientsMayNotPublishToSys(t *testing.T) {
	b, addr := startBroker(t, broker.WithSysInterval(-1))
	if err := b.Publish("$SYS/broker/version", []byte("real"), 0, true); err != nil {
		t.Fatal(err) // the host may
	}
	v5c := dialRaw(t, addr)
	v5c.connect(connect5("spoof5", true), packets.Success)
	v5c.send(&packets.Publish{QoS: 1, PacketID: 1, Retain: true, Topic: []byte("$SYS/broker/version"), Payload: []byte("spoofed")})
	if a := v5c.next().(*packets.Ack); a.ReasonCode != packets.NotAuthorized {
		t.Fatalf("PUBACK 0x%02x, want 0x87", byte(a.ReasonCode))
	}
	v3c := dialRaw(t, addr)
	v3c.connect(connectPacket("spoof3", true), packets.Success)
	v3c.send(&packets.Publish{QoS: 1, PacketID: 1, Retain: true, Topic: []byte("$SYS/broker/version"), Payload: []byte("spoofed")})
	if a := v3c.next().(*packets.Ack); a.Kind != packets.PUBACK {
		t.Fatalf("got %v, want PUBACK", a.Kind)
	}
	ms, _ := b.Retained("$SYS/broker/version")
	if len(ms) != 1 || string(ms[0].Payload) != "real" {
		t.Fatalf("$SYS/broker/version is %q", ms[0].Payload)
	}
}

// TestPublishPropertiesOnlyTheServerMaySend (finding 9): a Subscription
// Identifier from a client [MQTT-3.3.4-6] and a Response Topic with a
// wildcard [MQTT-3.3.2-14] are protocol errors: DISCONNECT 0x82.
func TestPublishPropertiesOnlyTheServerMaySend(t *testing.T) {
	_, addr := startBroker(t, broker.WithSysInterval(-1))
	for name, props := range map[string]packets.Properties{
		"subscription identifier": {SubscriptionIDs: []uint32{7}},
		"wildcard response topic": {ResponseTopic: []byte("replies/#")},
	} {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.connect(connect5("p-"+name[:4], true), packets.Success)
			p := &packets.Publish{QoS: 1, PacketID: 1, Topic: []byte("t"), Payload: []byte("x"), Properties: props}
			if len(props.SubscriptionIDs) > 0 {
				p.Properties.Present.Add(packets.PropSubscriptionID)
			} else {
				p.Properties.Present.Add(packets.PropResponseTopic)
			}
			c.send(p)
			d, ok := c.next().(*packets.Disconnect)
			if !ok || d.ReasonCode != packets.ProtocolError {
				t.Fatalf("got %#v, want DISCONNECT 0x82", d)
			}
			c.expectClosed()
		})
	}
}

// TestTakeoverNeverSendsDisconnectBeforeConnack (finding 7): when clients
// with one identifier race, a connection taken over before its CONNACK is
// closed without a DISCONNECT: the first packet a client reads is always
// CONNACK [MQTT-3.2.0-1].
func TestTakeoverNeverSendsDisconnectBeforeConnack(t *testing.T) {
	_, addr := startBroker(t, broker.WithSysInterval(-1))
	connect, err := connect5("racer", false).Append(nil, packets.V5)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var bad atomic.Int64
	var connacks atomic.Int64
	for range 1000 {
		for range 5 {
			wg.Go(func() {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer nc.Close()
				if _, err := nc.Write(connect); err != nil {
					return
				}
				_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				fh, _, err := packets.NewReader(nc, 0).Next()
				if err != nil {
					return // closed before CONNACK: allowed
				}
				if fh.Type != packets.CONNACK {
					bad.Add(1)
					return
				}
				connacks.Add(1)
			})
		}
		wg.Wait()
	}
	if bad.Load() > 0 {
		t.Fatalf("%d connections read another packet before CONNACK", bad.Load())
	}
	if connacks.Load() < 1000 {
		t.Fatalf("only %d CONNACKs in 1000 rounds", connacks.Load())
	}
}

// TestReasonCodeSurvivesClose (finding 10): a client that keeps sending
// after the broker's DISCONNECT can still read it. The broker half-closes
// and discards input for a while (lingering close) instead of closing a
// socket with unread input, which makes the kernel answer the client's
// next segments with a reset: the client's writes fail and most client
// libraries then drop the connection before reading the reason code.
func TestReasonCodeSurvivesClose(t *testing.T) {
	_, addr := startBroker(t, broker.WithSysInterval(-1), broker.WithLimits(broker.Limits{ReceiveMaximum: 2}))
	c := dialRaw(t, addr)
	c.v = packets.V5
	c.connect(connect5("flood", true), packets.Success)
	writeErr := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			var b []byte
			for j := range 100 {
				p := &packets.Publish{QoS: 2, PacketID: uint16((i*100+j)%60000 + 1), Topic: []byte("f"), Payload: make([]byte, 100)}
				b, _ = p.Append(b, packets.V5)
			}
			if _, err := c.nc.Write(b); err != nil {
				writeErr <- err
				return
			}
		}
	}()
	for {
		p, err := c.tryNext(5 * time.Second)
		if err != nil {
			t.Fatalf("no DISCONNECT read: %v", err)
		}
		if d, ok := p.(*packets.Disconnect); ok {
			if d.ReasonCode != packets.ReceiveMaximumExceeded {
				t.Fatalf("DISCONNECT 0x%02x, want 0x93", byte(d.ReasonCode))
			}
			break
		}
	}
	select {
	case err := <-writeErr:
		t.Fatalf("the client's writes failed right after the DISCONNECT: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := c.tryNext(5 * time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("after DISCONNECT: %v, want an orderly end of stream", err)
	}
}
