package httpbridge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/ternmq/broker"
	httpbridge "github.com/ternmq/broker/listeners/http"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/packets"
)

// env is a broker serving MQTT on TCP and the HTTP bridge, on random
// loopback ports.
type env struct {
	b    *broker.Broker
	http *httpbridge.Listener
	mqtt string // host:port of the TCP listener
	base string // http://host:port of the bridge
}

// newEnv starts a broker with the bridge; it is shut down at the end of
// the test.
func newEnv(t *testing.T, bopts []broker.Option, hopts ...httpbridge.Option) *env {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	hl, err := httpbridge.New("web", "127.0.0.1:0", append([]httpbridge.Option{httpbridge.WithLogger(quiet)}, hopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]broker.Option{broker.WithListener(hl), broker.WithListener(tl), broker.WithSysInterval(-1), broker.WithLogger(quiet)}, bopts...)
	b, err := broker.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Shutdown(ctx)
	})
	return &env{b: b, http: hl, mqtt: tl.Addr().String(), base: "http://" + hl.Addr().String()}
}

// checkFor polls cond every 10 ms until it returns nil or timeout passes.
func checkFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// client is an HTTP client with keep-alive and a bound on every request.
var client = &http.Client{Timeout: 10 * time.Second}

// do sends a request and returns the status and body.
func do(t *testing.T, method, url string, body string, hdr http.Header) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// errorAnswer is the JSON of an error.
type errorAnswer struct {
	Error      string `json:"error"`
	ReasonCode *int   `json:"reason_code"`
}

// message is the JSON of a message, as the bridge sends it.
type message struct {
	ID            string     `json:"id,omitempty"`
	Topic         string     `json:"topic"`
	Payload       string     `json:"payload"`
	PayloadBase64 bool       `json:"payload_base64,omitempty"`
	QoS           byte       `json:"qos"`
	Retain        bool       `json:"retain"`
	Properties    properties `json:"properties"`
}

type properties struct {
	PayloadFormatIndicator byte   `json:"payload_format_indicator,omitempty"`
	MessageExpiry          uint32 `json:"message_expiry,omitempty"`
	ContentType            string `json:"content_type,omitempty"`
	ResponseTopic          string `json:"response_topic,omitempty"`
	CorrelationData        string `json:"correlation_data,omitempty"`
	CorrelationDataBase64  bool   `json:"correlation_data_base64,omitempty"`
	UserProperties         []kv   `json:"user_properties,omitempty"`
}

type kv struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return v
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	Event, ID, Data string
}

// sse is an open Server-Sent Events response read on a goroutine.
type sse struct {
	resp   *http.Response
	events chan sseEvent
	done   chan struct{} // closed when the response has ended
	cancel context.CancelFunc
}

// openSSE opens GET url as an event stream, failing the test unless the
// answer is 200 text/event-stream. It is closed at the end of the test.
func openSSE(t *testing.T, url string, hdr http.Header) *sse {
	t.Helper()
	s, status, body := tryOpenSSE(t, url, hdr)
	if s == nil {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
	return s
}

// tryOpenSSE opens GET url as an event stream; on an answer other than
// 200 it returns nil with the status and body.
func tryOpenSSE(t *testing.T, url string, hdr http.Header) (*sse, int, []byte) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode, b
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q, want text/event-stream", ct)
	}
	s := &sse{resp: resp, events: make(chan sseEvent, 1024), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.done)
		defer close(s.events)
		r := bufio.NewReader(resp.Body)
		var ev sseEvent
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
			default:
				k, v, _ := strings.Cut(line, ":")
				v = strings.TrimPrefix(v, " ")
				switch k {
				case "event":
					ev.Event = v
				case "id":
					ev.ID = v
				case "data":
					ev.Data += v
				}
			}
		}
	}()
	t.Cleanup(s.close)
	return s, 0, nil
}

func (s *sse) close() {
	s.cancel()
	s.resp.Body.Close()
	<-s.done
}

// next returns the next event, failing the test after 10 s.
func (s *sse) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return sseEvent{}
}

// nextMessage returns the next "message" event's message and id.
func (s *sse) nextMessage(t *testing.T) message {
	t.Helper()
	ev := s.next(t)
	if ev.Event != "message" {
		t.Fatalf("event %q (%s), want message", ev.Event, ev.Data)
	}
	m := decode[message](t, []byte(ev.Data))
	m.ID = ev.ID
	return m
}

// openEvent is the data of a stream's "open" event.
type openEvent struct {
	Stream  string `json:"stream"`
	Resumed bool   `json:"resumed"`
	Filter  string `json:"filter"`
	QoS     byte   `json:"qos"`
}

// opened reads the stream's "open" event.
func (s *sse) opened(t *testing.T) (openEvent, string) {
	t.Helper()
	ev := s.next(t)
	if ev.Event != "open" {
		t.Fatalf("first event %q, want open", ev.Event)
	}
	return decode[openEvent](t, []byte(ev.Data)), ev.ID
}

// paho5 is a paho.golang MQTT 5 client on TCP that records what it gets.
type paho5 struct {
	*paho.Client
	mu   sync.Mutex
	msgs []*paho.Publish
}

func dialPaho(t *testing.T, addr, id string, cp *paho.Connect) *paho5 {
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
	cp.ClientID, cp.KeepAlive, cp.CleanStart = id, 30, true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pc.Connect(ctx, cp); err != nil {
		t.Fatalf("paho connect: %v", err)
	}
	t.Cleanup(func() { _ = pc.Disconnect(&paho.Disconnect{}) })
	return pc
}

func (p *paho5) waitFor(t *testing.T, n int) []*paho.Publish {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.msgs) < n {
			return fmt.Errorf("paho has %d messages, want %d", len(p.msgs), n)
		}
		return nil
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*paho.Publish(nil), p.msgs...)
}

func (p *paho5) subscribe(t *testing.T, filter string, qos byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := p.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.Reasons) != 1 || ack.Reasons[0] >= 0x80 {
		t.Fatalf("SUBACK %v", ack.Reasons)
	}
}

// users is the test's Authenticator: user names with passwords, bearer
// tokens that name a user, and anonymous clients when allowed.
type users struct {
	passwords map[string]string
	tokens    map[string]string
	anonymous bool
}

func (u *users) Authenticate(_ context.Context, c *broker.Credentials) error {
	switch {
	case c.Username == "" && c.Password == nil:
		if !u.anonymous {
			return packets.NotAuthorized
		}
	case c.Username == "":
		user, ok := u.tokens[string(c.Password)]
		if !ok {
			return packets.BadUserNameOrPassword
		}
		c.Username = user
	default:
		if p, ok := u.passwords[c.Username]; !ok || p != string(c.Password) {
			return packets.BadUserNameOrPassword
		}
	}
	return nil
}

// acl is the test's TopicAuthorizer: each user publishes and subscribes
// under its own name and under public/; nobody else may publish.
type acl struct{}

func (acl) CanPublish(c *broker.ClientInfo, topic string) bool {
	return c.Username != "" && (strings.HasPrefix(topic, c.Username+"/") || strings.HasPrefix(topic, "public/"))
}

func (acl) CanSubscribe(c *broker.ClientInfo, filter string) bool {
	return strings.HasPrefix(filter, "public/") || (c.Username != "" && strings.HasPrefix(filter, c.Username+"/"))
}

// authEnv is a broker with users alice (password "secret", token
// "tok-alice") and bob ("hunter2"), anonymous readers, and acl.
func authEnv(t *testing.T, hopts ...httpbridge.Option) (*env, *users) {
	u := &users{
		passwords: map[string]string{"alice": "secret", "bob": "hunter2"},
		tokens:    map[string]string{"tok-alice": "alice"},
		anonymous: true,
	}
	return newEnv(t, []broker.Option{broker.WithAuthenticator(u), broker.WithAuthorizer(broker.SimpleAuthorizer(acl{}))}, hopts...), u
}

func basic(user, pass string) http.Header {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return http.Header{"Authorization": r.Header["Authorization"]}
}

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

// collector gathers what an in-process subscription receives.
type collector struct {
	mu   sync.Mutex
	msgs []*broker.Message
}

func (c *collector) add(m *broker.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *collector) waitFor(t *testing.T, n int) []*broker.Message {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.msgs) < n {
			return errors.New("not yet")
		}
		return nil
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*broker.Message(nil), c.msgs...)
}
