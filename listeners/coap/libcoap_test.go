package coap_test

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// Tests with Debian's libcoap coap-client (libcoap3-bin), a CoAP peer we
// did not write, and Eclipse Paho's MQTT 5 client on the TCP listener:
// what one side publishes the other receives.

// mqtt is a paho.golang (MQTT 5) client on the TCP listener.
type mqtt struct {
	*paho.Client
	mu   sync.Mutex
	msgs []*paho.Publish
}

func dialMQTT(t *testing.T, addr, id string) *mqtt {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &mqtt{}
	c.Client = paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     nc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			c.mu.Lock()
			c.msgs = append(c.msgs, r.Packet)
			c.mu.Unlock()
			return true, nil
		}},
	})
	if _, err := c.Connect(ctx10(t), &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true}); err != nil {
		t.Fatalf("paho connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

func (c *mqtt) subscribe(t *testing.T, filter string, qos byte) {
	t.Helper()
	if _, err := c.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}}); err != nil {
		t.Fatal(err)
	}
}

func (c *mqtt) publish(t *testing.T, p *paho.Publish) {
	t.Helper()
	if _, err := c.Publish(ctx10(t), p); err != nil {
		t.Fatal(err)
	}
}

func (c *mqtt) wait(t *testing.T, n int) []*paho.Publish {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.msgs) < n {
			return errorf("paho got %d messages, want %d", len(c.msgs), n)
		}
		return nil
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*paho.Publish(nil), c.msgs...)
}

// TestCoapClientPublish: coap-client's POST and PUT, confirmable and not,
// reach a Paho subscriber with the QoS of the query and the Content-Format
// as Content Type; a payload larger than the block size (-b 64) arrives
// whole (RFC 7959 Block1).
func TestCoapClientPublish(t *testing.T) {
	bin := coapClient(t)
	e := start(t, nil)
	sub := dialMQTT(t, e.tcpAddr, "paho-sub")
	sub.subscribe(t, "lc/#", 1)
	big := bytes.Repeat([]byte("block-wise "), 500) // 5500 bytes
	bigFile := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(bigFile, big, 0o600); err != nil {
		t.Fatal(err)
	}
	base := "coap://" + e.coapAddr + "/ps/"
	tests := []struct {
		name    string
		args    []string
		topic   string
		payload []byte
		qos     byte
		ctype   string
	}{
		{"POST CON json qos 1", []string{"-m", "post", "-t", "50", "-e", `{"t":21}`, base + "lc/json?qos=1"}, "lc/json", []byte(`{"t":21}`), 1, "application/json"},
		{"POST NON text", []string{"-m", "post", "-N", "-t", "0", "-e", "hello", base + "lc/text"}, "lc/text", []byte("hello"), 0, "text/plain;charset=utf-8"},
		{"PUT cbor", []string{"-m", "put", "-t", "60", "-e", "%a1%01%02", base + "lc/cbor?qos=1"}, "lc/cbor", []byte{0xa1, 0x01, 0x02}, 1, "application/cbor"},
		{"POST block-wise", []string{"-m", "post", "-b", "64", "-t", "42", "-f", bigFile, base + "lc/big?qos=1"}, "lc/big", big, 1, "application/octet-stream"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr := runCoapClient(t, bin, tt.args...)
			if stderr != "" {
				t.Errorf("coap-client stderr: %s", stderr)
			}
			m := sub.wait(t, i+1)[i]
			ct := ""
			if m.Properties != nil {
				ct = m.Properties.ContentType
			}
			if m.Topic != tt.topic || !bytes.Equal(m.Payload, tt.payload) || m.QoS != tt.qos || ct != tt.ctype {
				t.Errorf("paho got %s %q (%d bytes) QoS %d content type %q, want %s %q QoS %d %q",
					m.Topic, trim(m.Payload), len(m.Payload), m.QoS, ct, tt.topic, trim(tt.payload), tt.qos, tt.ctype)
			}
		})
	}
}

func trim(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// TestCoapClientRetained: coap-client GETs what a Paho client retained,
// block-wise when it is larger than a block (-b 64, RFC 7959 Block2);
// DELETE clears it, after which GET answers 4.04.
func TestCoapClientRetained(t *testing.T) {
	bin := coapClient(t)
	e := start(t, nil)
	pub := dialMQTT(t, e.tcpAddr, "paho-pub")
	big := bytes.Repeat([]byte("0123456789"), 400)
	pub.publish(t, &paho.Publish{Topic: "lc/small", Payload: []byte("21.5"), Retain: true, QoS: 1})
	pub.publish(t, &paho.Publish{Topic: "lc/big", Payload: big, Retain: true, QoS: 1})
	base := "coap://" + e.coapAddr + "/ps/"

	// coap-client ends what it prints with a newline.
	if out, _ := runCoapClient(t, bin, "-m", "get", base+"lc/small"); out != "21.5\n" {
		t.Errorf("GET = %q, want 21.5", out)
	}
	outFile := filepath.Join(t.TempDir(), "out")
	runCoapClient(t, bin, "-m", "get", "-b", "64", "-o", outFile, base+"lc/big")
	if got, _ := os.ReadFile(outFile); !bytes.Equal(got, big) {
		t.Errorf("block-wise GET returned %d bytes, want %d", len(got), len(big))
	}
	if out, _ := runCoapClient(t, bin, "-m", "get", base+"lc/%2B"); out != "</ps/lc/big>,</ps/lc/small>\n" {
		t.Errorf("GET of a filter = %q", out)
	}
	runCoapClient(t, bin, "-m", "delete", base+"lc/small")
	if _, stderr := runCoapClient(t, bin, "-m", "get", base+"lc/small"); !strings.HasPrefix(stderr, "4.04") {
		t.Errorf("GET after DELETE: stderr %q, want 4.04", stderr)
	}
}

// TestCoapClientObserve: coap-client observes (-s) a filter, with "#"
// percent-encoded, at QoS 1 (confirmable notifications, which it
// acknowledges), and prints what a Paho client publishes, including a
// message larger than one block, which it fetches block-wise (RFC 7959
// §2.6); what it publishes itself is seen by Paho.
func TestCoapClientObserve(t *testing.T) {
	bin := coapClient(t)
	e := start(t, nil)
	pub := dialMQTT(t, e.tcpAddr, "paho-pub")
	big := strings.Repeat("x", 3000)
	obs := startCoapObserve(t, bin, "-m", "get", "-s", "60", "-w", "coap://"+e.coapAddr+"/ps/obs/%23?qos=1")
	e.subscriptions(t, 1)
	for _, p := range []string{"one", "two", big, "three"} {
		pub.publish(t, &paho.Publish{Topic: "obs/a", Payload: []byte(p), QoS: 1})
		// One at a time: coap-client prints a notification that arrives
		// while it fetches the blocks of another in the middle of it.
		obs.waitOutput(t, p+"\n")
	}
	// -w ends each notification with a newline, and coap-client one more
	// at exit; the registration response is empty and prints nothing.
	if out, want := obs.stop(t), "one\ntwo\n"+big+"\nthree\n\n"; out != want {
		t.Errorf("coap-client printed %q, want %q", strings.ReplaceAll(out, big, "<big>"), strings.ReplaceAll(want, big, "<big>"))
	}
	// On its way out it deregistered (Observe: 1).
	e.subscriptions(t, 0)
}
