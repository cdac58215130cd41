package httpbridge_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/google/go-cmp/cmp"
)

// TestRetained: GET /retained returns the retained message of a topic, or
// every match of a filter sorted by topic, whoever published them (HTTP or
// paho on TCP); DELETE clears one with an empty retained publish, which a
// subscriber gets as an empty message [MQTT-3.3.1-6, MQTT-3.3.1-10].
func TestRetained(t *testing.T) {
	e := newEnv(t, nil)
	status, body, _ := do(t, http.MethodPost, e.base+"/publish/home/kitchen?retain=true&qos=1", "21.5", http.Header{"Content-Type": {"text/plain"}})
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	p := dialPaho(t, e.mqtt, "pub", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.Publish(ctx, &paho.Publish{Topic: "home/attic", QoS: 1, Retain: true, Payload: []byte{0xff}}); err != nil {
		t.Fatal(err)
	}

	status, body, _ = do(t, http.MethodGet, e.base+"/retained?topic=home/kitchen", "", nil)
	want := message{Topic: "home/kitchen", Payload: "21.5", QoS: 1, Retain: true, Properties: properties{PayloadFormatIndicator: 1, ContentType: "text/plain"}}
	if diff := cmp.Diff(want, decode[message](t, body)); status != 200 || diff != "" {
		t.Errorf("status %d, message (-want +got):\n%s", status, diff)
	}

	status, body, _ = do(t, http.MethodGet, e.base+"/retained/home/%23", "", nil)
	wantAll := []message{
		{Topic: "home/attic", Payload: base64.StdEncoding.EncodeToString([]byte{0xff}), PayloadBase64: true, QoS: 1, Retain: true},
		want,
	}
	if diff := cmp.Diff(wantAll, decode[[]message](t, body)); status != 200 || diff != "" {
		t.Errorf("status %d, messages (-want +got):\n%s", status, diff)
	}

	sub := dialPaho(t, e.mqtt, "sub", nil)
	sub.subscribe(t, "home/kitchen", 0)
	sub.waitFor(t, 1) // the retained message
	status, body, _ = do(t, http.MethodDelete, e.base+"/retained?topic=home/kitchen", "", nil)
	if status != 200 || string(body) != `{"delivered_to":1}`+"\n" {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	if m := sub.waitFor(t, 2)[1]; len(m.Payload) != 0 || m.Topic != "home/kitchen" {
		t.Errorf("subscriber got %s %q, want the empty message", m.Topic, m.Payload)
	}
	status, body, _ = do(t, http.MethodGet, e.base+"/retained?topic=home/kitchen", "", nil)
	if status != http.StatusNotFound {
		t.Errorf("after DELETE: %d %s, want 404", status, body)
	}
	status, body, _ = do(t, http.MethodGet, e.base+"/retained?topic=nothing/%2B", "", nil)
	if status != 200 || string(body) != "[]\n" {
		t.Errorf("no match: %d %s, want an empty array", status, body)
	}
}
