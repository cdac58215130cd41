package broker_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// recorder implements every hook interface and records each event as a
// line, so that a test can wait for the ones it expects.
type recorder struct {
	mu     sync.Mutex
	events []string
	kept   []*broker.Message      // messages a PublishHook kept a reference to
	subs   []*broker.Subscription // subscriptions a SubscribeHook kept
}

func (r *recorder) add(format string, a ...any) {
	r.mu.Lock()
	r.events = append(r.events, fmt.Sprintf(format, a...))
	r.mu.Unlock()
}

func (r *recorder) has(e string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.events, e)
}

func (r *recorder) await(t *testing.T, events ...string) {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		for _, e := range events {
			if !r.has(e) {
				r.mu.Lock()
				defer r.mu.Unlock()
				return errorf("no event %q in %q", e, r.events)
			}
		}
		return nil
	})
}

func (r *recorder) OnConnect(c *broker.ClientInfo) error { r.add("connect %s", c.ID); return nil }
func (r *recorder) OnConnectRefused(c *broker.ClientInfo, code packets.ReasonCode) {
	r.add("refused %s 0x%02x", c.ID, byte(code))
}
func (r *recorder) OnDisconnect(c *broker.ClientInfo, err error) { r.add("disconnect %s", c.ID) }
func (r *recorder) OnSubscribe(c *broker.ClientInfo, s *broker.Subscription) error {
	r.mu.Lock()
	r.subs = append(r.subs, s)
	r.mu.Unlock()
	return nil
}
func (r *recorder) OnSubscribed(c *broker.ClientInfo, s broker.Subscription) {
	r.add("subscribed %s %s %d", c.ID, s.Filter, s.QoS)
}
func (r *recorder) OnUnsubscribed(c *broker.ClientInfo, f string) {
	r.add("unsubscribed %s %s", c.ID, f)
}
func (r *recorder) OnPublish(c *broker.ClientInfo, m *broker.Message) error {
	r.mu.Lock()
	r.kept = append(r.kept, m)
	r.mu.Unlock()
	return nil
}
func (r *recorder) OnDelivered(c *broker.ClientInfo, m *broker.Message) {
	r.add("delivered %s %s %s %d", c.ID, m.Topic, m.Payload, m.QoS)
}
func (r *recorder) OnDropped(id string, m *broker.Message, why broker.DropReason) {
	r.add("dropped %s %s %s", id, m.Topic, why)
}
func (r *recorder) OnSessionCreated(c *broker.ClientInfo) { r.add("session created %s", c.ID) }
func (r *recorder) OnSessionResumed(c *broker.ClientInfo) { r.add("session resumed %s", c.ID) }
func (r *recorder) OnSessionExpired(id string)            { r.add("session expired %s", id) }
func (r *recorder) OnWillPublished(c *broker.ClientInfo, m *broker.Message) {
	r.add("will %s %s %s", c.ID, m.Topic, m.Payload)
}
func (r *recorder) OnRetained(topic string, m *broker.Message) {
	if m == nil {
		r.add("retained cleared %s", topic)
		return
	}
	r.add("retained %s %s", topic, m.Payload)
}
func (r *recorder) OnStarted()  { r.add("started") }
func (r *recorder) OnStopping() { r.add("stopping") }
func (r *recorder) OnStopped()  { r.add("stopped") }

// refuseUser refuses the user name "intruder".
type refuseUser struct{}

func (refuseUser) Authenticate(_ context.Context, c *broker.Credentials) error {
	if c.Username == "intruder" {
		return packets.BadUserNameOrPassword
	}
	return nil
}

// TestHookEvents drives every hook event with paho.golang clients and
// checks each arrives with the right facts.
func TestHookEvents(t *testing.T) {
	rec := &recorder{}
	b, addr := startBroker(t, broker.WithHooks(rec), broker.WithAuthenticator(refuseUser{}), broker.WithSysInterval(-1))
	rec.await(t, "started")

	sub, _ := dialPaho5(t, addr, "sub", &paho.Connect{CleanStart: true})
	if _, err := sub.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "h/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	pub, _ := dialPaho5(t, addr, "pub", &paho.Connect{CleanStart: true})
	if _, err := pub.Publish(ctx10(t), &paho.Publish{Topic: "h/r", QoS: 1, Retain: true, Payload: []byte("one")}); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx10(t), &paho.Publish{Topic: "h/zero", QoS: 0, Payload: []byte("zero")}); err != nil {
		t.Fatal(err)
	}
	sub.waitFor(t, 2)
	rec.await(t, "session created sub", "subscribed sub h/# 1", "retained h/r one",
		"delivered sub h/r one 1", // after PUBACK
		"delivered sub h/zero zero 0")
	if _, err := sub.Unsubscribe(ctx10(t), &paho.Unsubscribe{Topics: []string{"h/#"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx10(t), &paho.Publish{Topic: "h/r", QoS: 1, Retain: true}); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "unsubscribed sub h/#", "retained cleared h/r")

	// Refused, with why.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	bad := paho.NewClient(paho.ClientConfig{Conn: nc})
	if _, err := bad.Connect(ctx10(t), &paho.Connect{ClientID: "bad", Username: "intruder", UsernameFlag: true, CleanStart: true}); err == nil {
		t.Fatal("intruder connected")
	}
	rec.await(t, "refused bad 0x86")

	// A session resumed; a will published when a connection drops.
	expiry := uint32(60)
	keep, _ := dialPaho5(t, addr, "keep", &paho.Connect{CleanStart: false, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
	_ = keep.Disconnect(&paho.Disconnect{})
	rec.await(t, "session created keep", "disconnect keep")
	wc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	willer := paho.NewClient(paho.ClientConfig{Conn: wc})
	if _, err := willer.Connect(ctx10(t), &paho.Connect{ClientID: "keep", CleanStart: false, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry},
		WillMessage: &paho.WillMessage{Topic: "h/will", Payload: []byte("gone")}}); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "session resumed keep")
	_ = wc.Close() // not a DISCONNECT: the will goes out
	rec.await(t, "will keep h/will gone")

	// A session that expires.
	short := uint32(1)
	brief, _ := dialPaho5(t, addr, "brief", &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: &short}})
	_ = brief.Disconnect(&paho.Disconnect{})
	rec.await(t, "session expired brief")

	_ = b.Close()
	rec.await(t, "stopping", "stopped")
}

// TestHooksKeepTheirCopies: a SubscribeHook and a PublishHook that keep
// the values they were given see no change when the broker reuses its
// read buffers for later packets.
func TestHooksKeepTheirCopies(t *testing.T) {
	rec := &recorder{}
	_, addr := startBroker(t, broker.WithHooks(rec), broker.WithSysInterval(-1))
	c, _ := dialPaho5(t, addr, "copy", &paho.Connect{CleanStart: true})
	for i := range 20 {
		f := fmt.Sprintf("keep/%02d/+", i)
		if _, err := c.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: f, QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Publish(ctx10(t), &paho.Publish{Topic: fmt.Sprintf("keep/%02d/x", i), QoS: 1, Payload: []byte(strings.Repeat(string(rune('a'+i)), 100))}); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.subs) != 20 || len(rec.kept) != 20 {
		t.Fatalf("hooks saw %d subscriptions and %d messages, want 20 each", len(rec.subs), len(rec.kept))
	}
	for i := range 20 {
		if want := fmt.Sprintf("keep/%02d/+", i); rec.subs[i].Filter != want {
			t.Errorf("kept subscription %d is %q, want %q", i, rec.subs[i].Filter, want)
		}
		m := rec.kept[i]
		if want := strings.Repeat(string(rune('a'+i)), 100); m.Topic != fmt.Sprintf("keep/%02d/x", i) || string(m.Payload) != want {
			t.Errorf("kept message %d changed: %q %q", i, m.Topic, m.Payload)
		}
	}
}

// reentrant calls back into the broker from hooks and authorizers, which
// would deadlock if any of them ran under a broker lock.
type reentrant struct {
	b     *broker.Broker
	reads int
	mu    sync.Mutex
}

func (r *reentrant) Authorize(_ context.Context, c *broker.ClientInfo, a broker.Access) broker.Decision {
	if a.Action == broker.ActionRead && !strings.HasPrefix(a.Topic, "audit/") {
		// Under the retained index's lock this would deadlock: it reads
		// the index and writes to it.
		_, _ = r.b.Retained("#")
		_ = r.b.Publish("audit/read", []byte(a.Topic), 0, true)
		r.mu.Lock()
		r.reads++
		r.mu.Unlock()
	}
	return broker.Allow()
}

func (r *reentrant) OnDropped(id string, m *broker.Message, why broker.DropReason) {
	if !strings.HasPrefix(m.Topic, "audit/") {
		_ = r.b.Publish("audit/dropped", []byte(m.Topic), 0, false)
	}
}

func (r *reentrant) OnPublish(c *broker.ClientInfo, m *broker.Message) error {
	if m.Topic == "rename/me" {
		m.Topic = "renamed"
	}
	if m.Topic == "rename/bad" {
		m.Topic = "bad/#" // validated again: refused
	}
	return nil
}

func TestHooksMayCallBackIntoTheBroker(t *testing.T) {
	r := &reentrant{}
	b, addr := startBroker(t, broker.WithAuthorizer(r), broker.WithHooks(r), broker.WithSysInterval(-1),
		broker.WithLimits(broker.Limits{MaxQueuedMessages: 1, MaxInflight: 1}))
	r.b = b
	if err := b.Publish("ret/a", []byte("x"), 1, true); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 100)
	cancel, err := b.Subscribe("audit/dropped", 0, func(m *broker.Message) { got <- string(m.Payload) })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	// Retained delivery on SUBSCRIBE asks ActionRead.
	c, _ := dialPaho5(t, addr, "re", &paho.Connect{CleanStart: true})
	if _, err := c.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "ret/#", QoS: 1}, {Topic: "renamed", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, 1)

	// A PublishHook renames; the new topic is routed, an invalid one refused.
	pub, _ := dialPaho5(t, addr, "re-pub", &paho.Connect{CleanStart: true})
	if _, err := pub.Publish(ctx10(t), &paho.Publish{Topic: "rename/me", QoS: 0, Payload: []byte("r")}); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, 2)
	if ack, err := pub.Publish(ctx10(t), &paho.Publish{Topic: "rename/bad", QoS: 1, Payload: []byte("r")}); err == nil && ack.ReasonCode < 0x80 {
		t.Fatalf("a hook's invalid topic was accepted (PUBACK 0x%02x)", ack.ReasonCode)
	}

	// A slow consumer overflows: the DropHook publishes.
	stall, _ := dialPaho5(t, addr, "stall", &paho.Connect{CleanStart: true})
	_ = stall
	if _, err := pub.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "never/#", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		_ = b.Publish("ret/flood", make([]byte, 10), 1, false)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("DropHook did not publish: no drop, or it deadlocked")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reads == 0 {
		t.Fatal("no read authorization was asked")
	}
}
