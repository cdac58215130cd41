package prometheus

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/internal/mqtttest"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/packets"
)

// TestMetricsUnderClientTraffic runs a broker with these Metrics and drives
// it with clients we did not write (Paho's MQTT 5 and 3.1.1 clients) and a
// raw client for what a polite library never does (leaving a delivery
// unacknowledged, sending a malformed packet). Each metric is checked after
// the traffic that must move it, and against the broker's own Stats where
// both count the same thing.
//
// Events the broker does not report yet (see the report of issue 10) are
// subtests that skip, naming the event, while their metric stays at zero;
// they start checking once the broker calls them.
func TestMetricsUnderClientTraffic(t *testing.T) {
	m := New()
	g := m.Gatherer()
	authn := authFunc(func(_ context.Context, c *broker.Credentials) error {
		if c.Username == "intruder" {
			return packets.BadUserNameOrPassword
		}
		return nil
	})
	l, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(broker.WithListener(l), broker.WithMetrics(m), broker.WithAuthenticator(authn),
		broker.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), broker.WithSysInterval(-1))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	addr := l.Addr().String()
	val := func(name string, labels ...string) float64 { return sample(t, g, name, labels...) }
	eventually := func(name string, want float64, labels ...string) {
		t.Helper()
		checkFor(t, 5*time.Second, func() error {
			if got := val(name, labels...); got != want {
				return fmt.Errorf("%s%v = %v, want %v", name, labels, got, want)
			}
			return nil
		})
	}
	tcpL := []string{"listener", "tcp"}

	// An MQTT 5 subscriber (paho.golang) and an MQTT 3.1.1 publisher
	// (paho.mqtt.golang).
	sub := dialPaho5(t, addr, "sub5", 3600)
	if _, err := sub.Subscribe(ctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "m/#", QoS: 2}}}); err != nil {
		t.Fatal(err)
	}
	pub := dialPaho3(t, addr, "pub3", true, "")
	eventually("mqtt_connections_total", 2, tcpL...)
	eventually("mqtt_connections_current", 2, tcpL...)
	eventually("mqtt_subscriptions_total", 1)
	eventually("mqtt_subscriptions_current", 1)
	eventually("mqtt_sessions_current", 2)
	eventually("mqtt_packets_received_total", 1, "listener", "tcp", "type", "subscribe")

	const qos0 = 100 // more than 64: the sampled timings see some
	for i := range qos0 {
		wait(t, pub.Publish("m/0", 0, false, fmt.Sprint(i)))
	}
	wait(t, pub.Publish("m/1", 1, false, "one"))
	wait(t, pub.Publish("m/2", 2, false, "two"))
	sub.waitFor(t, qos0+2)
	eventually("mqtt_messages_published_total", qos0+2, tcpL...)
	eventually("mqtt_qos0_messages_total", qos0, tcpL...)
	eventually("mqtt_qos1_messages_total", 1, tcpL...)
	eventually("mqtt_qos2_messages_total", 1, tcpL...)
	eventually("mqtt_messages_delivered_total", qos0, "qos", "0")
	eventually("mqtt_packets_received_total", qos0+2, "listener", "tcp", "type", "publish")
	eventually("mqtt_packets_sent_total", qos0+2, "listener", "tcp", "type", "publish")
	eventually("mqtt_packets_received_total", 1, "listener", "tcp", "type", "pubrel")

	// Retained messages: a gauge of those held.
	wait(t, pub.Publish("m/r", 1, true, "kept"))
	eventually("mqtt_messages_retained_total", 1)
	wait(t, pub.Publish("m/r", 1, true, ""))
	eventually("mqtt_messages_retained_total", 0)

	// A persistent 3.1.1 session that goes away: QoS 0 for it is dropped.
	sleeper := dialPaho3(t, addr, "sleeper", false, "")
	wait(t, sleeper.Subscribe("m/#", 1, nil))
	sleeper.Disconnect(100)
	eventually("mqtt_connections_current", 2, tcpL...)
	eventually("mqtt_connection_duration_seconds", 1, tcpL...)
	wait(t, pub.Publish("m/0", 0, false, "for nobody awake"))
	eventually("mqtt_messages_dropped_total", 1, "reason", "offline_qos0")
	wait(t, pub.Publish("m/1", 1, false, "kept for the sleeper")) // queued: mqtt_messages_queued

	// Retries: a delivery left unacknowledged is sent again, with DUP, when
	// the session resumes [MQTT-4.4.0-1].
	for _, qos := range []byte{1, 2} {
		topic := fmt.Sprintf("retry/%d", qos)
		r := dialRaw(t, addr, "retry"+topic, false)
		r.Subscribe(1, topic, qos)
		wait(t, pub.Publish(topic, qos, false, "again"))
		if p := r.NextPublish(); p.Dup {
			t.Fatal("first delivery has DUP set")
		}
		_ = r.NC.Close()
		r = dialRaw(t, addr, "retry"+topic, false)
		if p := r.NextPublish(); !p.Dup || p.QoS != qos {
			t.Fatalf("resend: dup %v qos %d", p.Dup, p.QoS)
		}
		eventually(fmt.Sprintf("mqtt_qos%d_retries_total", qos), 1)
		_ = r.NC.Close()
	}

	// A malformed packet closes the connection: a protocol error.
	raw := dialRaw(t, addr, "broken", true)
	raw.Write([]byte{0x00, 0x00}) // packet type 0 is reserved [MQTT-2.1.2]
	raw.ExpectClosed()
	checkFor(t, 5*time.Second, func() error {
		if got := val("mqtt_protocol_errors_total", tcpL...); got != 1 {
			return fmt.Errorf("mqtt_protocol_errors_total = %v, want 1", got)
		}
		return nil
	})

	// Refused: an in-process client with bad credentials.
	if _, err := b.NewClient(ctx(t), &broker.Credentials{ClientInfo: broker.ClientInfo{Username: "intruder"}}); err == nil {
		t.Fatal("intruder accepted")
	}
	eventually("mqtt_connections_refused_total", 1, "listener", "local", "reason", "bad_user_name_or_password")
	eventually("mqtt_auth_failures_total", 1, "listener", "local")

	// The broker's own counters agree.
	st := b.Stats()
	agree := []struct {
		name  string
		stats float64
	}{
		{"mqtt_connections_current", float64(st.Connected)},
		{"mqtt_connections_total", float64(st.ConnectionsTotal)},
		{"mqtt_sessions_current", float64(st.Sessions)},
		{"mqtt_subscriptions_current", float64(st.Subscriptions)},
		{"mqtt_messages_retained_total", float64(st.Retained)},
		{"mqtt_messages_published_total", float64(st.MessagesReceived)},
		{"mqtt_messages_dropped_total", float64(st.Dropped)},
		{"mqtt_protocol_errors_total", float64(st.ProtocolViolations)},
	}
	for _, a := range agree {
		if got := val(a.name); got != a.stats {
			t.Errorf("%s = %v, broker Stats says %v", a.name, got, a.stats)
		}
	}

	// Events of the broker's own making: refusals, expiry, acknowledgements.
	expiring := dialPaho5(t, addr, "expiring", 1)
	_ = expiring.Disconnect(&paho.Disconnect{})
	checkFor(t, 10*time.Second, func() error {
		if n := b.Stats().Sessions; n != 5 { // sub5, pub3 gone (clean), sleeper, two retry sessions
			return fmt.Errorf("%d sessions, waiting for the 1 s session to expire", n)
		}
		return nil
	})
	refusedMQTT := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("intruder").
		SetUsername("intruder").SetPassword("x").SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false))
	if tok := refusedMQTT.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		t.Fatal("paho connected with bad credentials")
	}
	st = b.Stats()
	events := []struct {
		event, name string
		labels      []string
	}{
		{"ConnectRefused for an MQTT CONNECT", "mqtt_auth_failures_total", tcpL},
		{"PacketReceived for CONNECT", "mqtt_packets_received_total", []string{"listener", "tcp", "type", "connect"}},
		{"PacketSent for CONNACK", "mqtt_packets_sent_total", []string{"listener", "tcp", "type", "connack"}},
		{"PacketSent for PUBCOMP", "mqtt_packets_sent_total", []string{"listener", "tcp", "type", "pubcomp"}},
		{"MessageDelivered for acknowledged QoS 1", "mqtt_messages_delivered_total", []string{"qos", "1"}},
		{"MessageDelivered for acknowledged QoS 2", "mqtt_messages_delivered_total", []string{"qos", "2"}},
		{"PacketDecoded", "mqtt_packet_parse_duration_seconds", nil},
		{"MessageRouted", "mqtt_message_route_duration_seconds", nil},
		{"SessionExpired", "mqtt_sessions_expired_total", nil},
		{"Queued", "mqtt_messages_queued", nil},     // sleeper's session holds its QoS 1 and 2 messages
		{"Inflight", "mqtt_messages_inflight", nil}, // the retry sessions hold unacknowledged deliveries
	}
	for _, p := range events {
		t.Run(p.event, func(t *testing.T) {
			if val(p.name, p.labels...) == 0 {
				t.Errorf("%s%v stays 0", p.name, p.labels)
			}
		})
	}
	t.Run("bytes agree with Stats", func(t *testing.T) {
		// Bytes out are counted when a packet is encoded, Stats when it is
		// written: a reply encoded for a connection that closes before its
		// writer runs (a PINGRESP, an ack) is in the first only.
		in, out := val("mqtt_received_bytes_total"), val("mqtt_sent_bytes_total")
		if in != float64(st.BytesReceived) || out < float64(st.BytesSent) || out > float64(st.BytesSent)+64 {
			t.Errorf("bytes in/out %v/%v, Stats %d/%d", in, out, st.BytesReceived, st.BytesSent)
		}
	})
}

// authFunc adapts a function to broker.Authenticator.
type authFunc func(context.Context, *broker.Credentials) error

func (f authFunc) Authenticate(ctx context.Context, c *broker.Credentials) error { return f(ctx, c) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// checkFor polls fn until it returns nil or timeout passes.
func checkFor(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// paho5 is a paho.golang client that collects what it receives.
type paho5 struct {
	*paho.Client
	mu   sync.Mutex
	msgs int
}

func dialPaho5(t *testing.T, addr, id string, expiry uint32) *paho5 {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	pc := &paho5{}
	pc.Client = paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     nc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(paho.PublishReceived) (bool, error) {
			pc.mu.Lock()
			pc.msgs++
			pc.mu.Unlock()
			return true, nil
		}},
	})
	cp := &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}
	if _, err := pc.Connect(ctx(t), cp); err != nil {
		t.Fatalf("paho.golang connect: %v", err)
	}
	t.Cleanup(func() { _ = pc.Disconnect(&paho.Disconnect{}) })
	return pc
}

func (p *paho5) waitFor(t *testing.T, n int) {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.msgs < n {
			return fmt.Errorf("%d messages, want %d", p.msgs, n)
		}
		return nil
	})
}

func dialPaho3(t *testing.T, addr, id string, clean bool, user string) mqtt.Client {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetProtocolVersion(4).
		SetCleanSession(clean).SetAutoReconnect(false).SetConnectRetry(false).SetKeepAlive(30 * time.Second)
	if user != "" {
		opts.SetUsername(user)
	}
	c := mqtt.NewClient(opts)
	wait(t, c.Connect())
	t.Cleanup(func() {
		if c.IsConnected() {
			c.Disconnect(50)
		}
	})
	return c
}

func wait(t *testing.T, tok mqtt.Token) {
	t.Helper()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("paho token timed out")
	}
	if err := tok.Error(); err != nil {
		t.Fatal(err)
	}
}

// dialRaw connects a raw MQTT 3.1.1 client with client id.
func dialRaw(t *testing.T, addr, id string, clean bool) *mqtttest.Conn {
	t.Helper()
	c := mqtttest.Dial(t, addr)
	c.Connect(&packets.Connect{Version: packets.V311, ClientID: []byte(id), CleanStart: clean, KeepAlive: 60}, packets.Success)
	return c
}
