package httpbridge_test

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/google/go-cmp/cmp"

	"github.com/ternmq/broker"
	httpbridge "github.com/ternmq/broker/listeners/http"
)

// TestPublishAnswersAfterRouting: both forms of the publish URL reach a
// subscriber with the topic, QoS and retain flag asked for, and the answer
// counts the subscriptions the message was routed to.
func TestPublishAnswersAfterRouting(t *testing.T) {
	e := newEnv(t, nil)
	var got collector
	cancel, err := e.b.Subscribe("room/#", 2, got.add)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	tests := []struct {
		name, url string
		want      broker.Message
	}{
		{"query form", "/publish?topic=room/a", broker.Message{Topic: "room/a", Payload: []byte("p0")}},
		{"query form at QoS 1", "/publish?topic=room/a&qos=1", broker.Message{Topic: "room/a", Payload: []byte("p1"), QoS: 1}},
		{"path form at QoS 2", "/publish/room/b?qos=2", broker.Message{Topic: "room/b", Payload: []byte("p2"), QoS: 2}},
		{"path form percent-encoded", "/publish/room/with%20space%2Fslash", broker.Message{Topic: "room/with space/slash", Payload: []byte("p3")}},
		{"empty levels kept", "/publish/room//c", broker.Message{Topic: "room//c", Payload: []byte("p4")}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := do(t, http.MethodPost, e.base+tt.url, string(tt.want.Payload), nil)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			if want := `{"delivered_to":1}` + "\n"; string(body) != want {
				t.Errorf("body %q, want %q", body, want)
			}
			m := got.waitFor(t, i+1)[i]
			if m.Topic != tt.want.Topic || !bytes.Equal(m.Payload, tt.want.Payload) || m.QoS != tt.want.QoS {
				t.Errorf("got %s %q QoS %d, want %s %q QoS %d", m.Topic, m.Payload, m.QoS, tt.want.Topic, tt.want.Payload, tt.want.QoS)
			}
		})
	}

	t.Run("no subscriber", func(t *testing.T) {
		status, body, _ := do(t, http.MethodPost, e.base+"/publish?topic=nobody/here", "x", nil)
		if status != http.StatusOK || string(body) != `{"delivered_to":0}`+"\n" {
			t.Errorf("%d %s", status, body)
		}
	})
}

// TestPublishPropertiesReachPaho: a paho.golang subscriber on TCP gets what
// was published over HTTP, with the headers mapped to MQTT 5 properties
// [MQTT-3.3.2.3]: Content-Type, X-Mqtt-Response-Topic,
// X-Mqtt-Correlation-Data, X-Mqtt-Message-Expiry and X-Mqtt-User-*.
func TestPublishPropertiesReachPaho(t *testing.T) {
	e := newEnv(t, nil)
	p := dialPaho(t, e.mqtt, "sub", nil)
	p.subscribe(t, "dev/#", 1)

	hdr := http.Header{
		"Content-Type":            {"application/json"},
		"X-Mqtt-Response-Topic":   {"dev/reply"},
		"X-Mqtt-Correlation-Data": {"req-7"},
		"X-Mqtt-Message-Expiry":   {"120"},
		"X-Mqtt-User-Room":        {"kitchen", "hall"},
		"X-Mqtt-User-Floor":       {"2"},
	}
	status, body, _ := do(t, http.MethodPost, e.base+"/publish/dev/1?qos=1", `{"t":21.5}`, hdr)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	status, body, _ = do(t, http.MethodPost, e.base+"/publish/dev/2", "\x00\xff", http.Header{"Content-Type": {"application/octet-stream"}})
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	msgs := p.waitFor(t, 2)

	m := msgs[0]
	if m.Topic != "dev/1" || string(m.Payload) != `{"t":21.5}` || m.QoS != 1 {
		t.Errorf("got %s %q QoS %d", m.Topic, m.Payload, m.QoS)
	}
	pr := m.Properties
	if pr == nil {
		t.Fatal("no properties")
	}
	if pr.ContentType != "application/json" || pr.ResponseTopic != "dev/reply" || string(pr.CorrelationData) != "req-7" {
		t.Errorf("content type %q, response topic %q, correlation data %q", pr.ContentType, pr.ResponseTopic, pr.CorrelationData)
	}
	if pr.PayloadFormat == nil || *pr.PayloadFormat != 1 {
		t.Errorf("payload format %v, want 1 (JSON is UTF-8 text)", pr.PayloadFormat)
	}
	if pr.MessageExpiry == nil || *pr.MessageExpiry < 118 || *pr.MessageExpiry > 120 {
		t.Errorf("message expiry %v, want about 120", pr.MessageExpiry)
	}
	want := paho.UserProperties{{Key: "floor", Value: "2"}, {Key: "room", Value: "kitchen"}, {Key: "room", Value: "hall"}}
	if diff := cmp.Diff(want, pr.User); diff != "" {
		t.Errorf("user properties (-want +got):\n%s", diff)
	}

	m = msgs[1]
	if string(m.Payload) != "\x00\xff" || m.Properties.PayloadFormat != nil && *m.Properties.PayloadFormat != 0 {
		t.Errorf("binary message: payload %q, format %v", m.Payload, m.Properties.PayloadFormat)
	}
}

// TestPublishRefusals: every refusal is JSON with the MQTT 5 reason code a
// client would get for the same mistake, and an HTTP status that fits.
func TestPublishRefusals(t *testing.T) {
	e := newEnv(t, nil, httpbridge.WithLimits(httpbridge.Limits{MaxBodySize: 16}))
	tests := []struct {
		name, method, url, body string
		hdr                     http.Header
		status, code            int // code -1: no reason code
	}{
		{"QoS 3 is malformed [MQTT-3.3.1-4]", "POST", "/publish?topic=a&qos=3", "x", nil, 400, 0x81},
		{"retain must be a boolean", "POST", "/publish?topic=a&retain=maybe", "x", nil, 400, 0x81},
		{"wildcard in a topic name [MQTT-3.3.2-2]", "POST", "/publish/a/%2B/b", "x", nil, 400, 0x90},
		{"no topic", "POST", "/publish", "x", nil, 400, 0x90},
		{"body over the limit, Content-Length", "POST", "/publish?topic=a", strings.Repeat("x", 17), nil, 413, 0x95},
		{"expiry not a number", "POST", "/publish?topic=a", "x", http.Header{"X-Mqtt-Message-Expiry": {"soon"}}, 400, 0x81},
		{"response topic with a wildcard [MQTT-3.3.2-14]", "POST", "/publish?topic=a", "x", http.Header{"X-Mqtt-Response-Topic": {"r/#"}}, 400, 0x90},
		{"text that is not UTF-8", "POST", "/publish?topic=a", "\xff\xfe", http.Header{"Content-Type": {"text/plain"}}, 400, 0x99},
		{"$SYS is the broker's", "POST", "/publish/$SYS/x", "x", nil, 403, 0x87},
		{"unknown auth scheme", "POST", "/publish?topic=a", "x", http.Header{"Authorization": {"Digest x"}}, 401, 0x8C},
		{"GET on publish", "GET", "/publish?topic=a", "", nil, 405, -1},
		{"unknown endpoint", "GET", "/nowhere", "", nil, 404, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := do(t, tt.method, e.base+tt.url, tt.body, tt.hdr)
			if status != tt.status {
				t.Errorf("status %d, want %d (%s)", status, tt.status, body)
			}
			a := decode[errorAnswer](t, body)
			switch {
			case a.Error == "":
				t.Errorf("no error message: %s", body)
			case tt.code < 0 && a.ReasonCode != nil:
				t.Errorf("reason code %d, want none", *a.ReasonCode)
			case tt.code >= 0 && (a.ReasonCode == nil || *a.ReasonCode != tt.code):
				t.Errorf("body %s, want reason code %d", body, tt.code)
			}
		})
	}
}

// TestBodyOverLimitWithoutLength: a chunked body is cut at MaxBodySize
// and refused with 413, 0x95 Packet too large.
func TestBodyOverLimitWithoutLength(t *testing.T) {
	e := newEnv(t, nil, httpbridge.WithLimits(httpbridge.Limits{MaxBodySize: 1024}))
	req, _ := http.NewRequest(http.MethodPost, e.base+"/publish?topic=a", struct{ *strings.Reader }{strings.NewReader(strings.Repeat("x", 4096))})
	req.ContentLength = -1 // chunked
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

// TestSlowRequestsAreCut: a client that sends its headers too slowly
// (slowloris) or its body too slowly is disconnected, resp. answered 408,
// within the configured timeouts.
func TestSlowRequestsAreCut(t *testing.T) {
	e := newEnv(t, nil, httpbridge.WithLimits(httpbridge.Limits{ReadHeaderTimeout: 200 * time.Millisecond, RequestTimeout: 300 * time.Millisecond}))
	addr := strings.TrimPrefix(e.base, "http://")

	t.Run("headers", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("POST /publish?topic=a HTTP/1.1\r\nHost: x\r\n")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		b := make([]byte, 512)
		for {
			if _, err := c.Read(b); err != nil {
				break // closed by the server (net/http may first answer 408)
			}
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("connection open for %v with half its headers sent", d)
		}
	})

	t.Run("body", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("POST /publish?topic=a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 512)
		n, err := c.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b[:n], []byte("HTTP/1.1 408")) {
			t.Errorf("answer %q, want 408", b[:n])
		}
	})
}
