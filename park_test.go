package broker_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// waitParked waits until the broker holds n parked connections.
func waitParked(t *testing.T, b *broker.Broker, n int64) {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		if got := b.Stats().Parked; got != n {
			return fmt.Errorf("%d connections parked, want %d", got, n)
		}
		return nil
	})
}

// TestIdleConnectionsAreParked: connections that read nothing for a while
// wait without a goroutine, and are served as before: a parked subscriber
// gets its messages and acknowledges them, a parked publisher is resumed
// by its next packet (Paho 3.1.1 clients).
func TestIdleConnectionsAreParked(t *testing.T) {
	b, addr := startBroker(t, broker.WithParkAfter(20*time.Millisecond))
	got := make(chan string, 100)
	dial := func(id string) mqtt.Client {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
			SetKeepAlive(time.Minute).SetAutoReconnect(false).SetProtocolVersion(4))
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("%s: connect: %v", id, tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(0) })
		return c
	}
	sub := dial("sub")
	if tok := sub.Subscribe("t/#", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	pub := dial("pub")
	waitParked(t, b, 2)
	for round := range 3 {
		for i := range 5 {
			tok := pub.Publish("t/x", 1, false, fmt.Sprintf("%d-%d", round, i))
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("publish: %v", tok.Error())
			}
		}
		for i := range 5 {
			select {
			case p := <-got:
				if want := fmt.Sprintf("%d-%d", round, i); p != want {
					t.Fatalf("got %q, want %q", p, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("round %d: message %d not delivered", round, i)
			}
		}
		// Idle again: both park again, and the acknowledgements of the
		// subscriber were read (nothing stays in flight).
		waitParked(t, b, 2)
		if s := b.Stats(); s.Inflight != 0 {
			t.Fatalf("%d deliveries in flight after the subscriber acknowledged", s.Inflight)
		}
	}
}

// TestParkedKeepAlive: a parked connection's keep alive still runs: after
// 1.5 times it without a packet the client gets DISCONNECT 0x8D, its will
// goes out [MQTT-3.1.2-24, MQTT-3.1.2-8] and OnDisconnect sees the
// timeout; a client that sends PINGREQ in time stays.
func TestParkedKeepAlive(t *testing.T) {
	h := &disconnectCauses{}
	b, addr := startBroker(t, broker.WithParkAfter(20*time.Millisecond), broker.WithHooks(h))
	watcher := dialRaw(t, addr)
	watcher.connect(connectPacket("watcher", true), packets.Success)
	watcher.subscribe(1, "wills/#", 0)

	c := dialRaw(t, addr)
	p := connect5("sleepy", true)
	p.KeepAlive = 1
	p.WillFlag, p.WillTopic, p.WillPayload = true, []byte("wills/sleepy"), []byte("gone")
	start := time.Now()
	c.connect(p, packets.Success)

	alive := dialRaw(t, addr)
	pa := connect5("pinger", true)
	pa.KeepAlive = 1
	alive.connect(pa, packets.Success)
	waitParked(t, b, 3)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(700 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				alive.send(&packets.Pingreq{})
			}
		}
	})
	expectDisconnect(t, c, packets.KeepAliveTimeout)
	if d := time.Since(start); d < 1400*time.Millisecond || d > 4*time.Second {
		t.Errorf("disconnected after %v, want 1.5 s (+ a sweep)", d)
	}
	watcher.expectPublish("wills/sleepy", "gone")
	if cause := h.of("sleepy"); !errors.Is(cause, packets.KeepAliveTimeout) {
		t.Errorf("OnDisconnect cause %v, want keep alive timeout", cause)
	}
	time.Sleep(2 * time.Second) // the pinger outlives its keep alive twice over
	close(stop)
	wg.Wait()
	if cause, gone := h.cause("pinger"); gone {
		t.Errorf("the pinging client was disconnected: %v", cause)
	}
}

// TestParkedConnectionsEnd: a parked connection ends like any other: taken
// over (DISCONNECT 0x8E), disconnected by the host, and closed at
// shutdown, leaving no goroutine behind.
func TestParkedConnectionsEnd(t *testing.T) {
	before := runtime.NumGoroutine()
	b, addr := startBroker(t, broker.WithParkAfter(20*time.Millisecond))
	old := dialRaw(t, addr)
	old.connect(connect5("same", false), packets.Success)
	kicked := dialRaw(t, addr)
	kicked.connect(connect5("kicked", true), packets.Success)
	last := dialRaw(t, addr)
	last.connect(connect5("last", true), packets.Success)
	waitParked(t, b, 3)

	taker := dialRaw(t, addr)
	taker.connect(connect5("same", false), packets.Success)
	expectDisconnect(t, old, packets.SessionTakenOver)

	if err := b.Disconnect("kicked", packets.AdministrativeAction, ""); err != nil {
		t.Fatal(err)
	}
	expectDisconnect(t, kicked, packets.AdministrativeAction)

	waitParked(t, b, 2) // last and taker
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	expectDisconnect(t, last, packets.ServerShuttingDown)
	if s := b.Stats(); s.Parked != 0 || s.Connected != 0 {
		t.Errorf("after Close: %d parked, %d connected", s.Parked, s.Connected)
	}
	checkFor(t, 5*time.Second, func() error {
		if g := runtime.NumGoroutine(); g > before+4 { // the test's raw clients' cleanups
			return fmt.Errorf("%d goroutines after Close, %d before the broker", g, before)
		}
		return nil
	})
}

// TestParkingUnderLoad: with a sweep every millisecond, connections park
// and wake all the time while 20 pairs exchange QoS 1 messages in bursts:
// every message arrives once and in order (run with -race).
func TestParkingUnderLoad(t *testing.T) {
	b, addr := startBroker(t, broker.WithParkAfter(time.Millisecond))
	const pairs, bursts, burst = 20, 10, 20
	var wg sync.WaitGroup
	var maxParked atomic.Int64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				if n := b.Stats().Parked; n > maxParked.Load() {
					maxParked.Store(n)
				}
			}
		}
	}()
	for i := range pairs {
		sub := dialRaw(t, addr)
		sub.connect(connectPacket(fmt.Sprintf("s%d", i), true), packets.Success)
		sub.subscribe(1, fmt.Sprintf("p/%d", i), 1)
		pub := dialRaw(t, addr)
		pub.connect(connectPacket(fmt.Sprintf("p%d", i), true), packets.Success)
		wg.Go(func() {
			topic := fmt.Sprintf("p/%d", i)
			for n := range bursts * burst {
				pub.send(&packets.Publish{Topic: []byte(topic), QoS: 1, PacketID: uint16(n + 1), Payload: fmt.Appendf(nil, "%d", n)})
				if n%burst == burst-1 {
					time.Sleep(3 * time.Millisecond) // long enough to be parked
				}
			}
		})
		wg.Go(func() {
			for n := range bursts * burst {
				m := sub.NextPublish()
				if string(m.Payload) != fmt.Sprint(n) {
					t.Errorf("pair %d: got %q, want %d", i, m.Payload, n)
					return
				}
				sub.send(&packets.Ack{Kind: packets.PUBACK, PacketID: m.PacketID})
			}
		})
	}
	wg.Wait()
	close(done)
	<-sampled
	if maxParked.Load() == 0 {
		t.Error("no connection was ever parked: the test did not test parking")
	}
}

// disconnectCauses is an OnDisconnect hook recording each client's cause.
type disconnectCauses struct {
	mu     sync.Mutex
	causes map[string]error
}

func (h *disconnectCauses) OnDisconnect(c *broker.ClientInfo, cause error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.causes == nil {
		h.causes = make(map[string]error)
	}
	h.causes[c.ID] = cause
}

// cause returns the cause recorded for id, and whether there is one.
func (h *disconnectCauses) cause(id string) (error, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	err, ok := h.causes[id]
	return err, ok
}

// of waits for id's cause.
func (h *disconnectCauses) of(id string) error {
	for range 500 {
		if err, ok := h.cause(id); ok {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
