package broker_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Integration tests with Eclipse Paho's MQTT 3.1.1 client, a client we did not write.

func pahoClient(t *testing.T, addr, id string, clean bool, configure ...func(*mqtt.ClientOptions)) mqtt.Client {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetProtocolVersion(4).
		SetCleanSession(clean).SetAutoReconnect(false).SetConnectRetry(false).SetKeepAlive(30 * time.Second)
	for _, f := range configure {
		f(opts)
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

type inbox struct {
	mu   sync.Mutex
	msgs []mqtt.Message
}

func (in *inbox) handler(_ mqtt.Client, m mqtt.Message) {
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
}

func (in *inbox) waitFor(t *testing.T, n int) []mqtt.Message {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		in.mu.Lock()
		defer in.mu.Unlock()
		if len(in.msgs) < n {
			return fmt.Errorf("got %d messages, want %d", len(in.msgs), n)
		}
		return nil
	})
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]mqtt.Message(nil), in.msgs...)
}

func TestPahoPubSubEveryQoS(t *testing.T) {
	_, addr := startBroker(t)
	for qos := byte(0); qos <= 2; qos++ {
		t.Run(fmt.Sprintf("QoS%d", qos), func(t *testing.T) {
			in := &inbox{}
			sub := pahoClient(t, addr, fmt.Sprintf("sub%d", qos), true)
			wait(t, sub.Subscribe("paho/+/x", qos, in.handler))
			pub := pahoClient(t, addr, fmt.Sprintf("pub%d", qos), true)
			for i := range 100 {
				wait(t, pub.Publish("paho/a/x", qos, false, fmt.Sprint(i)))
			}
			msgs := in.waitFor(t, 100)
			for i, m := range msgs[:100] {
				if string(m.Payload()) != fmt.Sprint(i) || m.Qos() != qos {
					t.Fatalf("message %d: payload %s qos %d [MQTT-4.6.0-6]", i, m.Payload(), m.Qos())
				}
			}
		})
	}
}

func TestPahoRetained(t *testing.T) {
	_, addr := startBroker(t)
	pub := pahoClient(t, addr, "rpub", true)
	wait(t, pub.Publish("home/kitchen/temp", 1, true, "21"))
	wait(t, pub.Publish("home/hall/temp", 1, true, "19"))
	wait(t, pub.Publish("home/hall/temp", 1, true, "18")) // replace
	wait(t, pub.Publish("home/cellar/temp", 1, true, "9"))
	wait(t, pub.Publish("home/cellar/temp", 1, true, "")) // delete
	in := &inbox{}
	sub := pahoClient(t, addr, "rsub", true)
	wait(t, sub.Subscribe("home/+/temp", 1, in.handler))
	msgs := in.waitFor(t, 2)
	got := map[string]string{}
	for _, m := range msgs {
		if !m.Retained() {
			t.Fatalf("%s delivered without retain flag", m.Topic())
		}
		got[m.Topic()] = string(m.Payload())
	}
	if len(got) != 2 || got["home/kitchen/temp"] != "21" || got["home/hall/temp"] != "18" {
		t.Fatalf("retained messages %v", got)
	}
}

func TestPahoWillOnAbnormalDisconnect(t *testing.T) {
	_, addr := startBroker(t)
	in := &inbox{}
	watcher := pahoClient(t, addr, "watcher", true)
	wait(t, watcher.Subscribe("status/#", 1, in.handler))
	raw := dialRaw(t, addr)
	p := connectPacket("device", true)
	p.WillFlag, p.WillTopic, p.WillPayload, p.WillQoS = true, []byte("status/device"), []byte("offline"), 1
	raw.connect(p, 0)
	_ = raw.NC.Close() // abnormal: no DISCONNECT
	msgs := in.waitFor(t, 1)
	if msgs[0].Topic() != "status/device" || string(msgs[0].Payload()) != "offline" {
		t.Fatalf("will %s %s", msgs[0].Topic(), msgs[0].Payload())
	}
	// And none after a clean DISCONNECT from paho.
	polite := pahoClient(t, addr, "polite", true, func(o *mqtt.ClientOptions) { o.SetWill("status/polite", "offline", 1, false) })
	polite.Disconnect(100)
	wait(t, watcher.Publish("status/marker", 1, false, "m"))
	msgs = in.waitFor(t, 2)
	if msgs[1].Topic() != "status/marker" {
		t.Fatalf("will sent after DISCONNECT: %s", msgs[1].Topic())
	}
}

func TestPahoPersistentSessionQueuesWhileOffline(t *testing.T) {
	b, addr := startBroker(t)
	sub := pahoClient(t, addr, "persist", false)
	wait(t, sub.Subscribe("jobs/#", 1, func(mqtt.Client, mqtt.Message) {}))
	sub.Disconnect(100)
	checkFor(t, 5*time.Second, func() error {
		if n := b.Stats().Connected; n != 0 {
			return fmt.Errorf("%d clients still connected", n)
		}
		return nil
	})
	pub := pahoClient(t, addr, "producer", true)
	for i := range 50 {
		wait(t, pub.Publish("jobs/1", 1, false, fmt.Sprint(i)))
	}
	wait(t, pub.Publish("jobs/1", 0, false, "qos0 is not queued offline"))
	checkFor(t, 5*time.Second, func() error {
		if n := b.Stats().MessagesReceived; n != 51 {
			return fmt.Errorf("broker received %d messages", n)
		}
		return nil
	})
	in := &inbox{}
	pahoClient(t, addr, "persist", false, func(o *mqtt.ClientOptions) { o.SetDefaultPublishHandler(in.handler) })
	msgs := in.waitFor(t, 50)
	for i, m := range msgs {
		if string(m.Payload()) != fmt.Sprint(i) {
			t.Fatalf("message %d is %s", i, m.Payload())
		}
	}
}

func TestPahoQoS2PersistentSession(t *testing.T) {
	b, addr := startBroker(t)
	sub := pahoClient(t, addr, "q2sub", false)
	wait(t, sub.Subscribe("q2", 2, func(mqtt.Client, mqtt.Message) {}))
	sub.Disconnect(100)
	checkFor(t, 5*time.Second, func() error {
		if n := b.Stats().Connected; n != 0 {
			return fmt.Errorf("%d clients still connected", n)
		}
		return nil
	})
	pub := pahoClient(t, addr, "q2pub", true)
	for i := range 20 {
		wait(t, pub.Publish("q2", 2, false, fmt.Sprint(i)))
	}
	in := &inbox{}
	pahoClient(t, addr, "q2sub", false, func(o *mqtt.ClientOptions) { o.SetDefaultPublishHandler(in.handler) })
	msgs := in.waitFor(t, 20)
	time.Sleep(100 * time.Millisecond) // let any duplicate arrive before counting
	msgs = in.waitFor(t, 20)
	if len(msgs) != 20 {
		t.Fatalf("%d deliveries, want exactly 20", len(msgs))
	}
}

func TestPahoTakeover(t *testing.T) {
	_, addr := startBroker(t)
	lost := make(chan error, 1)
	pahoClient(t, addr, "twin", true, func(o *mqtt.ClientOptions) {
		o.SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err })
	})
	pahoClient(t, addr, "twin", true)
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("first client not disconnected by takeover [MQTT-3.1.4-3]")
	}
}
