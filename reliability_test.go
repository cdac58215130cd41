package broker_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/ternmq/broker/internal/storewrap"
	"github.com/ternmq/broker/storage/bolt"
	"github.com/ternmq/broker/storage/memory"
	"io"
	"net"
	"path/filepath"
	"strings"
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
	c.V = packets.V5
	c.connect(connect5("flood", true), packets.Success)
	writeErr := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			var b []byte
			for j := range 100 {
				p := &packets.Publish{QoS: 2, PacketID: uint16((i*100+j)%60000 + 1), Topic: []byte("f"), Payload: make([]byte, 100)}
				b, _ = p.Append(b, packets.V5)
			}
			if _, err := c.NC.Write(b); err != nil {
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

// TestQueuesAreBoundedByBytes (findings 4 and 5): an offline persistent
// session's queue stops at Limits.MaxQueuedBytes, counting what messages
// take in memory: a payload, and also every user property (an empty one
// is 5 bytes on the wire and several times that in memory).
func TestQueuesAreBoundedByBytes(t *testing.T) {
	b, addr := startBroker(t, broker.WithSysInterval(-1), broker.WithLimits(broker.Limits{MaxQueuedBytes: 1 << 20, MaxPacketSize: 4 << 20}))
	sub := dialRaw(t, addr)
	sub.V = packets.V5
	cp := connect5("offline", true)
	withExpiry(&cp.Properties, 3600)
	sub.connect(cp, packets.Success)
	sub.subscribe(1, "big/#", 1)
	sub.send(&packets.Disconnect{})
	checkFor(t, 5*time.Second, func() error {
		if st, ok := b.Session("offline"); !ok || st.Connected {
			return errorf("session not offline yet")
		}
		return nil
	})
	pub := dialRaw(t, addr)
	pub.V = packets.V5
	pub.connect(connect5("pub", true), packets.Success)
	for i := range 64 { // 64 x 64 KiB = 4 MiB offered
		pub.send(&packets.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: []byte("big/payload"), Payload: make([]byte, 64<<10)})
		pub.next()
	}
	st, _ := b.Session("offline")
	if st.Queued < 10 || st.Queued > 16 {
		t.Fatalf("%d messages of 64 KiB queued under a 1 MiB limit", st.Queued)
	}
	dropped := b.Stats().Dropped
	if dropped < 64-16 {
		t.Fatalf("dropped %d", dropped)
	}

	// Properties count: 40,000 empty user properties are 200 KB on the
	// wire and about 2 MB in memory, more than the whole limit.
	if err := b.RemoveSession("offline"); err != nil {
		t.Fatal(err)
	}
	sub2 := dialRaw(t, addr)
	sub2.V = packets.V5
	cp2 := connect5("offline2", true)
	withExpiry(&cp2.Properties, 3600)
	sub2.connect(cp2, packets.Success)
	sub2.subscribe(1, "props/#", 1)
	sub2.send(&packets.Disconnect{})
	checkFor(t, 5*time.Second, func() error {
		if st, ok := b.Session("offline2"); !ok || st.Connected {
			return errorf("session not offline yet")
		}
		return nil
	})
	p := &packets.Publish{QoS: 1, PacketID: 100, Topic: []byte("props/x"), Payload: []byte("x")}
	p.Properties.User = make([]packets.UserProperty, 40_000)
	p.Properties.Present.Add(packets.PropUserProperty)
	for range 3 {
		pub.send(p)
		pub.next()
	}
	if st, _ := b.Session("offline2"); st.Queued != 0 {
		t.Fatalf("%d messages with 40,000 user properties queued under a 1 MiB limit", st.Queued)
	}
}

// TestPendingConnectionsHaveTheirOwnLimit (finding 1): connections that
// never send CONNECT cannot take every file descriptor: beyond
// MaxPendingConnections new ones are closed at once (and counted), while
// a client that sends CONNECT is served.
func TestPendingConnectionsHaveTheirOwnLimit(t *testing.T) {
	b, addr := startBroker(t, broker.WithSysInterval(-1), broker.WithLimits(broker.Limits{MaxPendingConnections: 5, ConnectTimeout: time.Minute}))
	var idle []net.Conn
	for range 5 {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		idle = append(idle, nc)
	}
	checkFor(t, 5*time.Second, func() error {
		if n := b.Stats().Pending; n != 5 {
			return errorf("%d pending", n)
		}
		return nil
	})
	checkFor(t, 5*time.Second, func() error {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer nc.Close()
		_ = nc.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			return errorf("sixth silent connection: %v, want closed", err)
		}
		return nil
	})
	if b.Stats().PendingRefused == 0 {
		t.Fatal("PendingRefused not counted")
	}
	// One of the silent ones connects: a slot is free for a real client.
	w := dialRawConn(t, idle[0])
	w.connect(connectPacket("late", true), packets.Success)
	dialRaw(t, addr).connect(connectPacket("real", true), packets.Success)
}

// TestMaxConnectionsUnderConcurrentConnects (code finding): the limit is
// taken and checked in one step: 40 simultaneous CONNECTs under a limit of
// 10 give exactly 10 CONNACK 0.
func TestMaxConnectionsUnderConcurrentConnects(t *testing.T) {
	_, addr := startBroker(t, broker.WithSysInterval(-1), broker.WithLimits(broker.Limits{MaxConnections: 10}))
	var ok atomic.Int64
	var wg sync.WaitGroup
	conns := make(chan net.Conn, 40)
	for i := range 40 {
		wg.Go(func() {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			conns <- nc
			buf, _ := connectPacket(fmt.Sprintf("c%d", i), true).Append(nil, packets.V311)
			_, _ = nc.Write(buf)
			_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			fh, body, err := packets.NewReader(nc, 0).Next()
			if err == nil && fh.Type == packets.CONNACK && len(body) == 2 && body[1] == 0 {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	close(conns)
	for nc := range conns {
		defer nc.Close()
	}
	if ok.Load() != 10 {
		t.Fatalf("%d connections accepted under a limit of 10", ok.Load())
	}
}

// TestCloseDoesNotWaitForSilentConnections (code finding): Close closes
// connections that have not sent CONNECT instead of waiting for their
// connect timeout.
func TestCloseDoesNotWaitForSilentConnections(t *testing.T) {
	b, addr := startBroker(t, broker.WithSysInterval(-1), broker.WithLimits(broker.Limits{ConnectTimeout: time.Minute}))
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	checkFor(t, 5*time.Second, func() error {
		if b.Stats().ConnectionsTotal != 1 {
			return errorf("not accepted yet")
		}
		return nil
	})
	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v with a silent connection", d)
	}
}

// TestAcksFlowWhileAClientStreams (finding 3): a 3.1.1 client that
// pipelines QoS 1 PUBLISHes without ever pausing gets its PUBACKs while it
// streams, not when it stops.
func TestAcksFlowWhileAClientStreams(t *testing.T) {
	_, addr := startBroker(t, broker.WithSysInterval(-1))
	c := dialRaw(t, addr)
	c.connect(connectPacket("streamer", true), packets.Success)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	wg.Go(func() {
		id := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			var b []byte
			for range 500 {
				id = id%65535 + 1
				p := &packets.Publish{QoS: 1, PacketID: uint16(id), Topic: []byte("stream"), Payload: make([]byte, 50)}
				b, _ = p.Append(b, packets.V311)
			}
			_ = c.NC.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.NC.Write(b); err != nil {
				return
			}
		}
	})
	start := time.Now()
	for range 1000 {
		if _, ok := c.next().(*packets.Ack); !ok {
			t.Fatal("not a PUBACK")
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("1,000 PUBACKs took %v while the client streamed", d)
	}
}

// TestAClientThatDoesNotReadIsNotReadEither (finding 3): a client that
// sends QoS 1 and never reads its PUBACKs is stopped by backpressure: the
// broker stops reading from it instead of buffering replies without bound.
func TestAClientThatDoesNotReadIsNotReadEither(t *testing.T) {
	_, addr := startBroker(t, broker.WithSysInterval(-1))
	c := dialRaw(t, addr)
	c.connect(connectPacket("deaf", true), packets.Success)
	var b []byte
	for i := range 1000 {
		p := &packets.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: []byte("deaf"), Payload: make([]byte, 50)}
		b, _ = p.Append(b, packets.V311)
	}
	written := 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		_ = c.NC.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := c.NC.Write(b)
		written += n
		if err != nil {
			// Blocked: the broker stopped reading from this client.
			t.Logf("blocked after %d MB: %v", written>>20, err)
			if written > 256<<20 {
				t.Fatalf("the broker read %d MB before pushing back", written>>20)
			}
			return
		}
	}
	t.Fatalf("wrote %d MB for 20 s without backpressure", written>>20)
}

// TestEveryRetainedMessageReachesALargeSubscribe (finding 6): a '#'
// subscriber gets every retained message, however many more there are
// than its queue holds: they are streamed as it reads (QoS 0) or
// acknowledges (QoS 1, within its Receive Maximum), not pushed into the
// bounded queue and dropped.
func TestEveryRetainedMessageReachesALargeSubscribe(t *testing.T) {
	const n = 30_000
	b, addr := startBroker(t, broker.WithSysInterval(-1), broker.WithLimits(broker.Limits{MaxQueuedMessages: 1000}))
	for i := range n {
		if err := b.Publish(fmt.Sprintf("r/%d/%d", i/100, i%100), []byte("v"), 1, true); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("QoS 0", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.connect(connectPacket("all0", true), packets.Success)
		c.subscribe(1, "#", 0)
		seen := make(map[string]bool, n)
		for len(seen) < n {
			p, err := c.tryNext(10 * time.Second)
			if err != nil {
				t.Fatalf("after %d of %d retained messages: %v", len(seen), n, err)
			}
			seen[string(p.(*packets.Publish).Topic)] = true
		}
		if d := b.Stats().Dropped; d != 0 {
			t.Fatalf("%d dropped", d)
		}
	})
	t.Run("QoS 1 with Receive Maximum 20", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.V = packets.V5
		cp := connect5("all1", true)
		cp.Properties.ReceiveMaximum = 20
		cp.Properties.Present.Add(packets.PropReceiveMaximum)
		c.connect(cp, packets.Success)
		c.subscribe(1, "r/1/#", 1) // 100 of them, 20 at a time
		got := 0
		for got < 100 {
			p, err := c.tryNext(10 * time.Second)
			if err != nil {
				t.Fatalf("after %d of 100: %v", got, err)
			}
			pub := p.(*packets.Publish)
			if !pub.Retain || pub.QoS != 1 {
				t.Fatalf("retained delivery without RETAIN or at QoS %d", pub.QoS)
			}
			c.send(&packets.Ack{Kind: packets.PUBACK, PacketID: pub.PacketID})
			got++
		}
	})
}

// TestWillKeepsItsMessageExpiry (code finding): a will's Message Expiry
// Interval travels with it and counts from its publication.
func TestWillKeepsItsMessageExpiry(t *testing.T) {
	_, addr := startBroker(t, broker.WithSysInterval(-1))
	sub := dialRaw(t, addr)
	sub.V = packets.V5
	sub.connect(connect5("will-sub", true), packets.Success)
	sub.subscribe(1, "wills/#", 1)
	w := dialRaw(t, addr)
	w.V = packets.V5
	cp := connect5("will-owner", true)
	cp.WillFlag, cp.WillQoS, cp.WillTopic, cp.WillPayload = true, 1, []byte("wills/owner"), []byte("gone")
	cp.WillProperties.MessageExpiry = 30
	cp.WillProperties.Present.Add(packets.PropMessageExpiry)
	w.connect(cp, packets.Success)
	_ = w.NC.Close() // no DISCONNECT: the will goes out
	p := sub.expectPublish("wills/owner", "gone")
	if !p.Properties.Present.Has(packets.PropMessageExpiry) || p.Properties.MessageExpiry == 0 || p.Properties.MessageExpiry > 30 {
		t.Fatalf("will delivered with Message Expiry %v (present %v), want 1..30", p.Properties.MessageExpiry, p.Properties.Present.Has(packets.PropMessageExpiry))
	}
}

// TestStorageOutageCostsOneTimeoutPerBatch (code finding): when storing a
// read batch of durable deliveries fails, the whole batch is refused at
// once (v5: PUBACK 0x83), instead of each delivery being retried alone
// with a timeout of its own.
func TestStorageOutageCostsOneTimeoutPerBatch(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "tern.db"))
	if err != nil {
		t.Fatal(err)
	}
	var outage atomic.Bool
	var calls atomic.Int64
	faulty := storewrap.Wrap(st, func(_ context.Context, op string, call func() error) error {
		if outage.Load() && strings.HasPrefix(op, "queue_append") {
			calls.Add(1)
			time.Sleep(200 * time.Millisecond) // a store that does not answer
			return errors.New("injected: store unreachable")
		}
		return call()
	})
	_, addr := startBroker(t, broker.WithSysInterval(-1), broker.WithStorage(faulty), broker.WithLimits(broker.Limits{StorageTimeout: 200 * time.Millisecond}))
	sub := dialRaw(t, addr)
	sub.V = packets.V5
	cp := connect5("durable", true)
	withExpiry(&cp.Properties, 3600)
	sub.connect(cp, packets.Success)
	sub.subscribe(1, "d/#", 1)

	pub := dialRaw(t, addr)
	pub.V = packets.V5
	pub.connect(connect5("d-pub", true), packets.Success)
	outage.Store(true)
	var burst []byte
	for i := range 50 {
		p := &packets.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: []byte("d/x"), Payload: []byte("v")}
		burst, _ = p.Append(burst, packets.V5)
	}
	start := time.Now()
	pub.write(burst)
	for range 50 {
		a, ok := pub.next().(*packets.Ack)
		if !ok || a.ReasonCode != packets.ImplementationSpecificError {
			t.Fatalf("got %#v, want PUBACK 0x83", a)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("50 refused publishes took %v (%d store calls)", d, calls.Load())
	}
	if n := calls.Load(); n > 5 {
		t.Fatalf("%d store calls for one burst", n)
	}
}

// TestNewFailsOnAStoreThatDoesNotAnswer (code finding): New restores
// under a deadline (ten storage timeouts) instead of hanging.
func TestNewFailsOnAStoreThatDoesNotAnswer(t *testing.T) {
	hang := storewrap.Wrap(memory.New(), func(ctx context.Context, op string, call func() error) error {
		if strings.HasSuffix(op, "_range") {
			<-ctx.Done() // a store that never answers: only the deadline ends the call
			return ctx.Err()
		}
		return call()
	})
	start := time.Now()
	_, err := broker.New(broker.WithStorage(hang), broker.WithLimits(broker.Limits{StorageTimeout: 50 * time.Millisecond}))
	if err == nil {
		t.Fatal("New succeeded with a store that does not answer")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("New took %v", d)
	}
}

// TestBrokerShedsLoadOverItsMemoryBudget (finding 4, broker-wide): once
// the sessions together hold more than MaxQueuedBytesTotal, new
// connections get 0x89, QoS 1 publishes get 0x97 (v5) and nothing
// acknowledged is lost; when the backlog is read, the broker recovers.
func TestBrokerShedsLoadOverItsMemoryBudget(t *testing.T) {
	b, addr := startBroker(t, broker.WithSysInterval(-1), broker.WithLimits(broker.Limits{MaxQueuedBytesTotal: 1 << 20}))
	sub := dialRaw(t, addr)
	sub.V = packets.V5
	cp := connect5("hoarder", false)
	withExpiry(&cp.Properties, 3600)
	sub.connect(cp, packets.Success)
	sub.subscribe(1, "h/#", 1)
	sub.send(&packets.Disconnect{})

	pub := dialRaw(t, addr)
	pub.V = packets.V5
	pub.connect(connect5("h-pub", true), packets.Success)
	for i := range 40 { // 40 x 64 KiB = 2.5 MiB held for the offline session
		pub.send(&packets.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: []byte("h/x"), Payload: make([]byte, 64<<10)})
		if a := pub.next().(*packets.Ack); a.ReasonCode.IsError() {
			t.Fatalf("publish %d refused before the budget was reached: 0x%02x", i, byte(a.ReasonCode))
		}
	}
	checkFor(t, 5*time.Second, func() error {
		if !b.Stats().Shedding {
			return errorf("not shedding with %d bytes held", b.Stats().HeldBytes)
		}
		return nil
	})
	dialRaw(t, addr).connect(connect5("newcomer", true), packets.ServerBusy)
	pub.send(&packets.Publish{QoS: 1, PacketID: 100, Topic: []byte("h/x"), Payload: []byte("more")})
	if a := pub.next().(*packets.Ack); a.ReasonCode != packets.QuotaExceeded {
		t.Fatalf("PUBACK 0x%02x while shedding, want 0x97", byte(a.ReasonCode))
	}

	// The hoarder comes back and reads everything: shedding ends.
	back := dialRaw(t, addr)
	back.V = packets.V5
	cp2 := connect5("hoarder", false)
	withExpiry(&cp2.Properties, 3600)
	back.connect(cp2, packets.Success)
	for range 40 {
		p := back.next().(*packets.Publish)
		back.send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
	}
	checkFor(t, 5*time.Second, func() error {
		if b.Stats().Shedding {
			return errorf("still shedding")
		}
		return nil
	})
	dialRaw(t, addr).connect(connect5("newcomer", true), packets.Success)
}

// TestTopicAliasesAreBoundedByBytes (finding 2): a v5 client that fills
// its aliases with long topics is stopped at MaxAliasBytes (DISCONNECT
// 0x97), and the default alias maximum is small, as Mosquitto's.
func TestTopicAliasesAreBoundedByBytes(t *testing.T) {
	_, addr := startBroker(t, broker.WithSysInterval(-1))
	c := dialRaw(t, addr)
	c.V = packets.V5
	ack := c.connect(connect5("aliaser", true), packets.Success)
	if max := ack.Properties.TopicAliasMaximum; max != 10 {
		t.Fatalf("Topic Alias Maximum %d, want 10", max)
	}
	long := make([]byte, 30_000)
	for i := range long {
		long[i] = 'a'
	}
	for alias := uint16(1); alias <= 3; alias++ { // 3 x 30 KB > 64 KiB
		p := &packets.Publish{Topic: long, Payload: []byte("x")}
		p.Properties.TopicAlias = alias
		p.Properties.Present.Add(packets.PropTopicAlias)
		c.send(p)
	}
	d, ok := c.next().(*packets.Disconnect)
	if !ok || d.ReasonCode != packets.QuotaExceeded {
		t.Fatalf("got %#v, want DISCONNECT 0x97", d)
	}
}

// TestRetainedBacklogIsBoundedByBytes: the retained messages a SUBSCRIBE
// still has to send cost 8 bytes each while they wait, and a session's
// waiting ones are bounded by MaxQueuedBytes; past it they are dropped and
// counted, so subscribing to "#" again and again cannot pin memory.
func TestRetainedBacklogIsBoundedByBytes(t *testing.T) {
	b, addr := startBroker(t, broker.WithSysInterval(-1), broker.WithLimits(broker.Limits{MaxQueuedBytes: 4000}))
	for i := range 1000 {
		if err := b.Publish(fmt.Sprintf("rb/%d", i), []byte("v"), 0, true); err != nil {
			t.Fatal(err)
		}
	}
	c := dialRaw(t, addr)
	c.connect(connectPacket("backlogged", true), packets.Success)
	c.subscribe(1, "rb/#", 0)
	got := 0
	for {
		if _, err := c.tryNext(500 * time.Millisecond); err != nil {
			break
		}
		got++
	}
	if got != 4000/8 || b.Stats().Dropped != 1000-4000/8 {
		t.Fatalf("got %d retained, %d dropped; want %d and %d", got, b.Stats().Dropped, 4000/8, 1000-4000/8)
	}
}
