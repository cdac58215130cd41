package broker_test

import (
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage/bolt"
)

// metricsLog records every Metrics event: counters by name, gauges as sums
// of their deltas (and the lowest value each reached).
type metricsLog struct {
	mu     sync.Mutex
	counts map[string]int
	gauges map[string]int
	lowest map[string]int
	stats  func() broker.Stats
}

func newMetricsLog() *metricsLog {
	return &metricsLog{counts: map[string]int{}, gauges: map[string]int{}, lowest: map[string]int{}}
}

func (l *metricsLog) count(format string, a ...any) {
	l.mu.Lock()
	l.counts[fmt.Sprintf(format, a...)]++
	l.mu.Unlock()
}

func (l *metricsLog) gauge(name string, d int) {
	l.mu.Lock()
	l.gauges[name] += d
	l.lowest[name] = min(l.lowest[name], l.gauges[name])
	l.mu.Unlock()
}

func (l *metricsLog) get(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v, ok := l.gauges[name]; ok {
		return v
	}
	return l.counts[name]
}

func (l *metricsLog) ClientConnected(li string) { l.count("connected %s", li) }
func (l *metricsLog) ClientDisconnected(li string, d time.Duration) {
	if d > 0 {
		l.count("disconnected %s", li)
	}
}
func (l *metricsLog) ConnectRefused(li string, c packets.ReasonCode) {
	l.count("refused %s 0x%02x", li, byte(c))
}
func (l *metricsLog) PacketReceived(li string, t packets.Type, n int) {
	if n >= 2 {
		l.count("in %s", t)
	}
}
func (l *metricsLog) PacketSent(li string, t packets.Type, n int) {
	if n >= 2 {
		l.count("out %s", t)
	}
}
func (l *metricsLog) PacketDecoded(d time.Duration) { l.count("decoded") }
func (l *metricsLog) ProtocolError(li string, c packets.ReasonCode) {
	l.count("protocol 0x%02x", byte(c))
}
func (l *metricsLog) MessagePublished(li string, q byte)              { l.count("published %s %d", li, q) }
func (l *metricsLog) MessageRouted(d time.Duration)                   { l.count("routed") }
func (l *metricsLog) MessageDelivered(q byte)                         { l.count("delivered %d", q) }
func (l *metricsLog) MessageRetried(q byte)                           { l.count("retried %d", q) }
func (l *metricsLog) MessageDropped(r broker.DropReason)              { l.count("dropped %s", r) }
func (l *metricsLog) Subscriptions(d int)                             { l.gauge("subscriptions", d) }
func (l *metricsLog) Sessions(d int)                                  { l.gauge("sessions", d) }
func (l *metricsLog) SessionExpired()                                 { l.count("expired") }
func (l *metricsLog) Retained(d int)                                  { l.gauge("retained", d) }
func (l *metricsLog) ObserveStats(f func() broker.Stats)              { l.stats = f }
func (l *metricsLog) StorageCall(op string, d time.Duration, e error) { l.count("storage %s", op) }

// TestMetricsUnderRealTraffic checks each Metrics event against paho
// traffic, and that gauges restored from storage start at what storage
// holds (never negative once restored sessions end).
func TestMetricsUnderRealTraffic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tern.db")
	store, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m := newMetricsLog()
	b, addr := startBroker(t, broker.WithStorage(store), broker.WithMetrics(m), broker.WithSysInterval(-1), broker.WithAuthenticator(refuseUser{}))
	if m.stats == nil {
		t.Fatal("ObserveStats was not called")
	}
	expiry := uint32(300)
	sub, _ := dialPaho5(t, addr, "m-sub", &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
	if _, err := sub.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "m/#", QoS: 1}, {Topic: "n/+", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	pub, _ := dialPaho5(t, addr, "m-pub", nil)
	for i := range 70 { // more than 64: the sampled timings fire
		if _, err := pub.Publish(ctx10(t), &paho.Publish{Topic: "m/x", QoS: 1, Payload: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pub.Publish(ctx10(t), &paho.Publish{Topic: "m/r", QoS: 0, Retain: true, Payload: []byte("r")}); err != nil {
		t.Fatal(err)
	}
	_ = b.Publish("n/host", []byte("h"), 0, false)
	sub.waitFor(t, 72)

	// A refused CONNECT and a malformed packet.
	nc, _ := net.Dial("tcp", addr)
	bad := paho.NewClient(paho.ClientConfig{Conn: nc})
	_, _ = bad.Connect(ctx10(t), &paho.Connect{ClientID: "m-bad", Username: "intruder", UsernameFlag: true, CleanStart: true})
	raw := dialRaw(t, addr)
	raw.connect(connectPacket("m-raw", true), packets.Success)
	raw.write([]byte{0x30, 0x02, 0x00, 0x05}) // PUBLISH whose topic runs past the packet
	raw.expectClosed()

	checkFor(t, 5*time.Second, func() error {
		for name, want := range map[string]int{
			"connected tcp": 3, "refused tcp 0x86": 1, "protocol 0x81": 1,
			"in CONNECT": 4, "in SUBSCRIBE": 1, "in PUBLISH": 71, "in PUBACK": 70,
			"out CONNACK": 3, "out SUBACK": 1, "out PUBACK": 70, "out PUBLISH": 72,
			"published tcp 1": 70, "published tcp 0": 1, "published local 0": 1,
			"delivered 1": 70, "delivered 0": 2, "decoded": 1, "routed": 1,
			"subscriptions": 2, "retained": 1,
			"storage subscription_add": 2, "storage retained_set": 1, "storage session_save": 1,
		} {
			if got := m.get(name); got < want {
				return errorf("%s = %d, want at least %d", name, got, want)
			}
		}
		return nil
	})
	if st := m.stats(); st.Sessions != 2 || st.Subscriptions != 2 || st.Retained != 1 {
		t.Fatalf("Stats through ObserveStats: %+v", st)
	}
	_ = b.Close()
	if got := m.get("disconnected tcp"); got < 2 {
		t.Fatalf("disconnected = %d", got)
	}

	// A new broker on the same storage counts what it restored.
	store2, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m2 := newMetricsLog()
	b2, _ := startBroker(t, broker.WithStorage(store2), broker.WithMetrics(m2), broker.WithSysInterval(-1))
	if s, subs, r := m2.get("sessions"), m2.get("subscriptions"), m2.get("retained"); s != 1 || subs != 2 || r != 1 {
		t.Fatalf("restored gauges: sessions %d subscriptions %d retained %d, want 1 2 1", s, subs, r)
	}
	if err := b2.RemoveSession("m-sub"); err != nil {
		t.Fatal(err)
	}
	if s, subs := m2.get("sessions"), m2.get("subscriptions"); s != 0 || subs != 0 {
		t.Fatalf("after RemoveSession: sessions %d subscriptions %d", s, subs)
	}
	for g, low := range m2.lowest {
		if low < 0 {
			t.Errorf("gauge %s went down to %d", g, low)
		}
	}
}
