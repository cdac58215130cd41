package brokertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/brokertest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// v5 connects a paho.golang client over an in-memory connection.
func v5(t *testing.T, b *brokertest.Broker, id string, cp *paho.Connect) *paho.Client {
	t.Helper()
	c := paho.NewClient(paho.ClientConfig{Conn: b.Dial()})
	if cp == nil {
		cp = &paho.Connect{CleanStart: true}
	}
	cp.ClientID, cp.KeepAlive = id, 0 // see brokertest.Dial: no concurrent PINGREQ
	if _, err := c.Connect(ctx(t), cp); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAwaitWithPahoOverTCP(t *testing.T) {
	b := brokertest.New(t)
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + b.Addr).SetClientID("app").SetProtocolVersion(4))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	for _, p := range []string{"1", "2", "3"} {
		c.Publish("app/temp", 1, false, p).Wait()
	}
	got := b.Await(t, "app/+", 3, 5*time.Second)
	if string(got[0].Payload) != "1" || string(got[2].Payload) != "3" || got[0].ClientID != "app" {
		t.Fatalf("Await = %+v", got)
	}
	b.AssertNoMessage(t, "other/#", 100*time.Millisecond)
	if n := len(b.Published()); n != 3 {
		t.Fatalf("Published() has %d messages, want 3", n)
	}
}

func TestDialInMemory(t *testing.T) {
	b := brokertest.New(t)
	got := make(chan string, 1)
	sub := paho.NewClient(paho.ClientConfig{Conn: b.Dial(), OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(r paho.PublishReceived) (bool, error) { got <- string(r.Packet.Payload); return true, nil },
	}})
	if _, err := sub.Connect(ctx(t), &paho.Connect{ClientID: "sub", CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Subscribe(ctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "x", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	pub := v5(t, b, "pub", nil)
	if _, err := pub.Publish(ctx(t), &paho.Publish{Topic: "x", QoS: 1, Payload: []byte("over a pipe")}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "over a pipe" {
			t.Fatal(p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received")
	}
	_ = pub.Disconnect(&paho.Disconnect{})
	_ = sub.Disconnect(&paho.Disconnect{})
}

// TestFakeClock advances an hour of session expiry, a will delay and a
// message expiry in no time.
func TestFakeClock(t *testing.T) {
	clk := brokertest.NewClock()
	b := brokertest.New(t, broker.WithClock(clk))
	hour, tenMin := uint32(3600), uint32(600)

	// Session expiry: gone only once the clock passes an hour.
	c := v5(t, b, "sleepy", &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: &hour}})
	if _, err := c.Subscribe(ctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "q/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	_ = c.Disconnect(&paho.Disconnect{})
	waitFor(t, func() bool { st, ok := b.Session("sleepy"); return ok && !st.Connected })

	// A message that expires after a minute, queued for the offline session.
	minute := uint32(60)
	pub := v5(t, b, "pub", nil)
	if _, err := pub.Publish(ctx(t), &paho.Publish{Topic: "q/1", QoS: 1, Payload: []byte("stale"), Properties: &paho.PublishProperties{MessageExpiry: &minute}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.Session("sleepy"); st.Queued != 1 {
		t.Fatalf("queued %d, want 1", st.Queued)
	}

	// A will delayed by ten minutes.
	w := v5(t, b, "willer", &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: &hour},
		WillMessage: &paho.WillMessage{Topic: "wills/willer", Payload: []byte("gone")}, WillProperties: &paho.WillProperties{WillDelayInterval: &tenMin}})
	_ = w.Disconnect(&paho.Disconnect{ReasonCode: 0x04}) // with will
	b.AssertNoMessage(t, "wills/#", 100*time.Millisecond)

	clk.Advance(11 * time.Minute)
	b.Await(t, "wills/willer", 1, time.Second)
	if _, ok := b.Session("sleepy"); !ok {
		t.Fatal("session expired before its hour")
	}
	// The queued message's minute has passed: resuming delivers nothing.
	dropped := b.Stats().Dropped
	got := make(chan string, 1)
	back := paho.NewClient(paho.ClientConfig{Conn: b.Dial(), OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(r paho.PublishReceived) (bool, error) { got <- string(r.Packet.Payload); return true, nil },
	}})
	if ack, err := back.Connect(ctx(t), &paho.Connect{ClientID: "sleepy", Properties: &paho.ConnectProperties{SessionExpiryInterval: &hour}}); err != nil || !ack.SessionPresent {
		t.Fatalf("resume: %v", err)
	}
	waitFor(t, func() bool { return b.Stats().Dropped == dropped+1 })
	select {
	case p := <-got:
		t.Fatalf("expired message delivered: %q", p)
	case <-time.After(100 * time.Millisecond):
	}
	_ = back.Disconnect(&paho.Disconnect{})
	waitFor(t, func() bool { st, ok := b.Session("sleepy"); return ok && !st.Connected })

	clk.Advance(time.Hour)
	if _, ok := b.Session("sleepy"); ok {
		t.Fatal("session not expired after an hour")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met")
}
