package broker_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/google/go-cmp/cmp"
	"github.com/ternmq/broker"
)

// Integration tests with Eclipse Paho's MQTT 5 client (paho.golang), a
// client we did not write.

type paho5 struct {
	*paho.Client
	mu   sync.Mutex
	msgs []*paho.Publish
}

func dialPaho5(t *testing.T, addr, id string, cp *paho.Connect) (*paho5, *paho.Connack) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	pc := &paho5{}
	pc.Client = paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     nc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			pc.mu.Lock()
			pc.msgs = append(pc.msgs, r.Packet)
			pc.mu.Unlock()
			return true, nil
		}},
	})
	if cp == nil {
		cp = &paho.Connect{}
	}
	cp.ClientID, cp.KeepAlive = id, 30
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := pc.Connect(ctx, cp)
	if err != nil {
		t.Fatalf("paho.golang connect: %v", err)
	}
	t.Cleanup(func() { _ = pc.Disconnect(&paho.Disconnect{}) })
	return pc, ack
}

func (p *paho5) waitFor(t *testing.T, n int) []*paho.Publish {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.msgs) < n {
			return errorf("%d messages, want %d", len(p.msgs), n)
		}
		return nil
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*paho.Publish(nil), p.msgs...)
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestPaho5PropertiesPassThrough: content type, response topic, correlation
// data, payload format and user properties (order and duplicates kept
// [MQTT-3.3.2-18]) arrive unchanged; the subscription identifier is added
// [MQTT-3.3.4-3]; the remaining message expiry is sent.
func TestPaho5PropertiesPassThrough(t *testing.T) {
	_, addr := startBroker(t)
	sub, _ := dialPaho5(t, addr, "p5sub", nil)
	id := 42
	if _, err := sub.Subscribe(ctx10(t), &paho.Subscribe{
		Properties:    &paho.SubscribeProperties{SubscriptionIdentifier: &id},
		Subscriptions: []paho.SubscribeOptions{{Topic: "req/+", QoS: 2}},
	}); err != nil {
		t.Fatal(err)
	}
	pub, _ := dialPaho5(t, addr, "p5pub", nil)
	format, expiry := byte(1), uint32(3600)
	sent := &paho.PublishProperties{
		CorrelationData: []byte{1, 2, 3},
		ContentType:     "application/json",
		ResponseTopic:   "resp/p5pub",
		PayloadFormat:   &format,
		MessageExpiry:   &expiry,
		User:            paho.UserProperties{{Key: "k", Value: "1"}, {Key: "a", Value: "x"}, {Key: "k", Value: "2"}},
	}
	for qos := byte(0); qos <= 2; qos++ {
		if _, err := pub.Publish(ctx10(t), &paho.Publish{Topic: "req/x", QoS: qos, Payload: []byte(`{"q":1}`), Properties: sent}); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range sub.waitFor(t, 3) {
		got := m.Properties
		if got == nil || got.SubscriptionIdentifier == nil || *got.SubscriptionIdentifier != 42 {
			t.Fatalf("message %d: subscription identifier missing: %+v", i, got)
		}
		if got.MessageExpiry == nil || *got.MessageExpiry > 3600 || *got.MessageExpiry < 3590 {
			t.Fatalf("message %d: message expiry %v", i, got.MessageExpiry)
		}
		want := *sent
		want.SubscriptionIdentifier, want.MessageExpiry = got.SubscriptionIdentifier, got.MessageExpiry
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Fatalf("message %d properties (-sent +received):\n%s", i, diff)
		}
	}
}

// TestPaho5NoMatchingSubscribers: PUBACK says 0x10 when nobody subscribes.
func TestPaho5NoMatchingSubscribers(t *testing.T) {
	_, addr := startBroker(t)
	pub, _ := dialPaho5(t, addr, "lonely", nil)
	resp, err := pub.Publish(ctx10(t), &paho.Publish{Topic: "nobody/home", QoS: 1, Payload: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ReasonCode != 0x10 {
		t.Fatalf("PUBACK reason 0x%02x, want 0x10", resp.ReasonCode)
	}
}

// TestPaho5RequestResponse: response information when requested [MQTT-3.1.2-28],
// and a request/response round trip through it.
func TestPaho5RequestResponse(t *testing.T) {
	_, addr := startBroker(t, broker.WithResponseInformation("reply/"))
	requester, ack := dialPaho5(t, addr, "asker", &paho.Connect{Properties: &paho.ConnectProperties{RequestResponseInfo: true}})
	if ack.Properties == nil || ack.Properties.ResponseInfo != "reply/asker/" {
		t.Fatalf("response information %+v", ack.Properties)
	}
	base := ack.Properties.ResponseInfo
	if _, err := requester.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: base + "#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	responder, _ := dialPaho5(t, addr, "answerer", nil)
	responder.AddOnPublishReceived(func(r paho.PublishReceived) (bool, error) {
		go func() {
			_, _ = responder.Publish(context.Background(), &paho.Publish{Topic: r.Packet.Properties.ResponseTopic, QoS: 1,
				Payload: []byte("pong"), Properties: &paho.PublishProperties{CorrelationData: r.Packet.Properties.CorrelationData}})
		}()
		return true, nil
	})
	if _, err := responder.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "service/ping", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := requester.Publish(ctx10(t), &paho.Publish{Topic: "service/ping", QoS: 1, Payload: []byte("ping"),
		Properties: &paho.PublishProperties{ResponseTopic: base + "ping", CorrelationData: []byte("c1")}}); err != nil {
		t.Fatal(err)
	}
	m := requester.waitFor(t, 1)[0]
	if string(m.Payload) != "pong" || string(m.Properties.CorrelationData) != "c1" {
		t.Fatalf("response %q correlation %q", m.Payload, m.Properties.CorrelationData)
	}
}

// TestCrossVersion: a v5 publisher's properties are dropped for a 3.1.1
// subscriber; QoS and retain semantics hold both ways.
func TestCrossVersion(t *testing.T) {
	_, addr := startBroker(t)
	in := &inbox{}
	v3 := pahoClient(t, addr, "v3sub", true)
	wait(t, v3.Subscribe("x/#", 2, in.handler))
	v5, _ := dialPaho5(t, addr, "v5pub", nil)
	if _, err := v5.Publish(ctx10(t), &paho.Publish{Topic: "x/1", QoS: 2, Retain: true, Payload: []byte("from v5"),
		Properties: &paho.PublishProperties{ContentType: "text/plain", User: paho.UserProperties{{Key: "a", Value: "b"}}}}); err != nil {
		t.Fatal(err)
	}
	m := in.waitFor(t, 1)[0]
	if string(m.Payload()) != "from v5" || m.Qos() != 2 || m.Retained() {
		t.Fatalf("v3 got %q qos %d retained %v", m.Payload(), m.Qos(), m.Retained())
	}
	// A v3 publisher's retained message reaches a new v5 subscriber with RETAIN.
	wait(t, v3.Publish("y/1", 1, true, "from v3"))
	sub, _ := dialPaho5(t, addr, "v5sub", nil)
	if _, err := sub.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "y/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	got := sub.waitFor(t, 1)[0]
	if string(got.Payload) != "from v3" || !got.Retain || got.QoS != 1 {
		t.Fatalf("v5 got %q retain %v qos %d", got.Payload, got.Retain, got.QoS)
	}
}
