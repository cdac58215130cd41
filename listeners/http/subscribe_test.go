package httpbridge_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/google/go-cmp/cmp"

	httpbridge "github.com/ternmq/broker/listeners/http"
)

// TestSSEGetsWhatPahoPublishes: a paho.golang publisher on TCP reaches an
// SSE subscriber; text payloads arrive as text, binary ones in base64 with
// the flag, MQTT 5 properties as JSON, retained messages first with
// retain set [MQTT-3.3.1-9].
func TestSSEGetsWhatPahoPublishes(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.b.Publish("sensor/old", []byte("retained"), 1, true); err != nil {
		t.Fatal(err)
	}
	s := openSSE(t, e.base+"/subscribe?filter=sensor/%23&qos=1", nil)
	open, id := s.opened(t)
	if open.Resumed || open.Filter != "sensor/#" || open.QoS != 1 || id != open.Stream+"-0" {
		t.Errorf("open event %+v id %q", open, id)
	}
	m := s.nextMessage(t)
	if m.Topic != "sensor/old" || m.Payload != "retained" || !m.Retain || m.ID != open.Stream+"-1" {
		t.Errorf("retained message %+v", m)
	}

	p := dialPaho(t, e.mqtt, "pub", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmtUTF8 := byte(1)
	expiry := uint32(300)
	if _, err := p.Publish(ctx, &paho.Publish{Topic: "sensor/1", QoS: 1, Payload: []byte("21.5 °C"), Properties: &paho.PublishProperties{
		PayloadFormat:   &fmtUTF8,
		MessageExpiry:   &expiry,
		ContentType:     "text/plain",
		ResponseTopic:   "sensor/reply",
		CorrelationData: []byte{0xff, 0x00},
		User:            paho.UserProperties{{Key: "unit", Value: "C"}, {Key: "unit", Value: "K"}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, &paho.Publish{Topic: "sensor/2", QoS: 0, Payload: []byte{0, 1, 0xff}}); err != nil {
		t.Fatal(err)
	}

	m = s.nextMessage(t)
	if m.Properties.MessageExpiry < 298 || m.Properties.MessageExpiry > 300 {
		t.Errorf("message expiry %d, want about 300", m.Properties.MessageExpiry)
	}
	m.Properties.MessageExpiry = 0
	want := message{ID: open.Stream + "-2", Topic: "sensor/1", Payload: "21.5 °C", QoS: 1, Properties: properties{
		PayloadFormatIndicator: 1,
		ContentType:            "text/plain",
		ResponseTopic:          "sensor/reply",
		CorrelationData:        base64.StdEncoding.EncodeToString([]byte{0xff, 0x00}),
		CorrelationDataBase64:  true,
		UserProperties:         []kv{{"unit", "C"}, {"unit", "K"}},
	}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	m = s.nextMessage(t)
	want = message{ID: open.Stream + "-3", Topic: "sensor/2", Payload: base64.StdEncoding.EncodeToString([]byte{0, 1, 0xff}), PayloadBase64: true}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("binary message (-want +got):\n%s", diff)
	}
}

// TestSSEResume: a client that reconnects with the id of the last event it
// got in Last-Event-ID, as EventSource does, gets every event published
// while it was away, in order, then live ones; the same with a stream id
// whose events are no longer buffered starts a new stream.
func TestSSEResume(t *testing.T) {
	e := newEnv(t, nil, httpbridge.WithLimits(httpbridge.Limits{StreamBufferMessages: 8}))
	url := e.base + "/subscribe?filter=r/%2B"
	s := openSSE(t, url, nil)
	open, _ := s.opened(t)
	publish := func(from, to int) {
		for i := from; i <= to; i++ {
			if err := e.b.Publish("r/x", []byte(strconv.Itoa(i)), 0, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(1, 2)
	s.nextMessage(t)
	last := s.nextMessage(t).ID
	s.close()
	// The stream waits to be resumed; what comes meanwhile is buffered.
	checkFor(t, 5*time.Second, func() error {
		if n := e.http.Stats().Streams; n != 1 {
			return fmt.Errorf("%d streams", n)
		}
		return nil
	})
	publish(3, 5)

	s = openSSE(t, url, http.Header{"Last-Event-ID": {last}})
	again, id := s.opened(t)
	if !again.Resumed || again.Stream != open.Stream || id != last {
		t.Fatalf("open %+v id %s, want stream %s resumed at %s", again, id, open.Stream, last)
	}
	publish(6, 6)
	for i := 3; i <= 6; i++ {
		m := s.nextMessage(t)
		if m.Payload != strconv.Itoa(i) || m.ID != open.Stream+"-"+strconv.Itoa(i) {
			t.Fatalf("got %s (%s), want %d", m.Payload, m.ID, i)
		}
	}
	if got := e.http.Stats().Resumed; got != 1 {
		t.Errorf("Stats.Resumed = %d", got)
	}

	t.Run("too old", func(t *testing.T) {
		s.close()
		before := e.b.Stats().MessagesDelivered
		publish(7, 20) // more than the buffer's 8 events
		// In-process subscribers get messages on a goroutine of their
		// own: resume only once all 14 reached the stream, or overflowed
		// it (which ends its subscription). Either way 7 is gone: if the
		// server had not yet seen the close, it sent them to it.
		checkFor(t, 5*time.Second, func() error {
			d := e.b.Stats().MessagesDelivered - before
			if n := e.http.Stats().Streams; n != 0 && d < 14 {
				return fmt.Errorf("%d streams, %d of 14 delivered", n, d)
			}
			return nil
		})
		s := openSSE(t, url, http.Header{"Last-Event-ID": {open.Stream + "-6"}})
		fresh, _ := s.opened(t)
		if fresh.Resumed || fresh.Stream == open.Stream {
			t.Errorf("open %+v: want a new stream", fresh)
		}
	})

	t.Run("another filter", func(t *testing.T) {
		s := openSSE(t, url, nil)
		o, _ := s.opened(t)
		s.close()
		s = openSSE(t, e.base+"/subscribe?filter=other", http.Header{"Last-Event-ID": {o.Stream + "-0"}})
		if fresh, _ := s.opened(t); fresh.Resumed {
			t.Errorf("resumed %+v with another filter", fresh)
		}
	})
}

// TestStreamBelongsToItsOwner: only the credentials that opened a stream
// resume it; others, knowing its id, get a stream of their own.
func TestStreamBelongsToItsOwner(t *testing.T) {
	e, _ := authEnv(t)
	url := e.base + "/subscribe?filter=public/%23"
	s := openSSE(t, url, basic("alice", "secret"))
	open, id := s.opened(t)
	s.close()
	for name, hdr := range map[string]http.Header{
		"another user":            basic("bob", "hunter2"),
		"anonymous":               nil,
		"same user, other secret": bearer("tok-alice"),
	} {
		t.Run(name, func(t *testing.T) {
			h := http.Header{"Last-Event-ID": {id}}
			for k, v := range hdr {
				h[k] = v
			}
			s := openSSE(t, url, h)
			if o, _ := s.opened(t); o.Resumed || o.Stream == open.Stream {
				t.Errorf("open %+v: resumed another's stream", o)
			}
		})
	}
	s = openSSE(t, url, http.Header{"Last-Event-ID": {id}, "Authorization": basic("alice", "secret")["Authorization"]})
	if o, _ := s.opened(t); !o.Resumed || o.Stream != open.Stream {
		t.Errorf("open %+v: the owner could not resume", o)
	}
}

// TestLongPoll: GET /subscribe with wait answers with the messages that
// arrived, up to max, and the id to continue from; the next poll with
// last_event_id gets the rest, nothing lost between polls.
func TestLongPoll(t *testing.T) {
	e := newEnv(t, nil)
	type poll struct {
		Stream      string    `json:"stream"`
		Resumed     bool      `json:"resumed"`
		LastEventID string    `json:"last_event_id"`
		Messages    []message `json:"messages"`
		Closed      string    `json:"closed"`
	}
	get := func(query string) poll {
		t.Helper()
		status, body, _ := do(t, http.MethodGet, e.base+"/subscribe?filter=lp/%23&"+query, "", nil)
		if status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
		return decode[poll](t, body)
	}

	first := get("wait=0")
	if len(first.Messages) != 0 || first.Resumed || first.LastEventID != first.Stream+"-0" {
		t.Fatalf("empty poll %+v", first)
	}
	go func() {
		for i := range 5 {
			_ = e.b.Publish("lp/"+strconv.Itoa(i), []byte("m"+strconv.Itoa(i)), 0, false)
		}
	}()
	var got []message
	next := first.LastEventID
	for len(got) < 5 {
		p := get("wait=5s&max=2&last_event_id=" + next)
		if !p.Resumed || p.Stream != first.Stream || len(p.Messages) == 0 || len(p.Messages) > 2 {
			t.Fatalf("poll %+v", p)
		}
		got = append(got, p.Messages...)
		next = p.LastEventID
	}
	for i, m := range got {
		if m.Payload != "m"+strconv.Itoa(i) || m.ID != first.Stream+"-"+strconv.Itoa(i+1) {
			t.Errorf("message %d: %+v", i, m)
		}
	}

	t.Run("waits up to wait", func(t *testing.T) {
		start := time.Now()
		p := get("wait=300ms&last_event_id=" + next)
		if d := time.Since(start); len(p.Messages) != 0 || d < 300*time.Millisecond {
			t.Errorf("%+v after %v", p, d)
		}
	})
}

// TestStreamLimits: beyond MaxStreams the server is busy (503, 0x89);
// beyond MaxStreamsPerUser the user is over quota (429, 0x97).
func TestStreamLimits(t *testing.T) {
	e, _ := authEnv(t, httpbridge.WithLimits(httpbridge.Limits{MaxStreams: 3, MaxStreamsPerUser: 2}))
	url := e.base + "/subscribe?filter=public/%23"
	for range 2 {
		openSSE(t, url, basic("alice", "secret")).opened(t)
	}
	_, status, body := tryOpenSSE(t, url, basic("alice", "secret"))
	if a := decode[errorAnswer](t, body); status != http.StatusTooManyRequests || a.ReasonCode == nil || *a.ReasonCode != 0x97 {
		t.Errorf("third stream of alice: %d %s, want 429 with 0x97", status, body)
	}
	openSSE(t, url, basic("bob", "hunter2")).opened(t)
	_, status, body = tryOpenSSE(t, url, basic("bob", "hunter2"))
	if a := decode[errorAnswer](t, body); status != http.StatusServiceUnavailable || a.ReasonCode == nil || *a.ReasonCode != 0x89 {
		t.Errorf("fourth stream: %d %s, want 503 with 0x89", status, body)
	}
	if st := e.http.Stats(); st.Refused != 2 || st.Streams != 3 {
		t.Errorf("Stats %+v", st)
	}
}

// TestShutdownEndsStreams: Shutdown closes the bridge first: open streams
// end, the broker's subscriptions for them go, and Shutdown returns.
func TestShutdownEndsStreams(t *testing.T) {
	e := newEnv(t, nil)
	s := openSSE(t, e.base+"/subscribe?filter=a", nil)
	s.opened(t)
	var events []sseEvent
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for ev := range s.events {
		events = append(events, ev)
	}
	if len(events) > 1 || len(events) == 1 && events[0].Event != "close" {
		t.Errorf("events after shutdown: %+v", events)
	}
	if n := e.http.Stats().Streams; n != 0 {
		t.Errorf("%d streams after shutdown", n)
	}
	if _, err := http.Get(e.base + "/retained?topic=a"); err == nil {
		t.Error("the bridge still answers after shutdown")
	}
}
