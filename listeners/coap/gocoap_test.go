package coap_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/client"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/coap"
	"github.com/ternmq/broker/packets"
)

// Tests with go-coap's client (github.com/plgd-dev/go-coap/v3).

func query(q string) message.Option { return message.Option{ID: message.URIQuery, Value: []byte(q)} }

// notes records the notifications of an observation.
type notes struct {
	mu   sync.Mutex
	msgs []note
}

type note struct {
	code     codes.Code
	observe  uint32
	cf       message.MediaType
	hasCF    bool
	location string
	payload  string
}

func (n *notes) add(m *pool.Message) {
	nt := note{code: m.Code()}
	nt.observe, _ = m.Observe()
	if cf, err := m.ContentFormat(); err == nil {
		nt.cf, nt.hasCF = cf, true
	}
	nt.location, _ = m.Options().LocationPath()
	if b, err := m.ReadBody(); err == nil {
		nt.payload = string(b)
	}
	n.mu.Lock()
	n.msgs = append(n.msgs, nt)
	n.mu.Unlock()
}

func (n *notes) wait(t *testing.T, count int) []note {
	t.Helper()
	checkFor(t, 20*time.Second, func() error { // a lost CON notification is resent after 2, 4, 8 s
		n.mu.Lock()
		defer n.mu.Unlock()
		if len(n.msgs) < count {
			return errorf("%d notifications, want %d", len(n.msgs), count)
		}
		return nil
	})
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]note(nil), n.msgs...)
}

// observe registers an observation of path whose notifications go to n,
// and waits until the registration response has reached n: go-coap calls
// the observer on goroutines of its own, so a notification sent right
// after Observe returns can overtake the response, which the client then
// drops as stale (RFC 7641 §3.4).
func observe(t *testing.T, ctx context.Context, co *udpclient.Conn, path string, n *notes, opts ...message.Option) client.Observation {
	t.Helper()
	obs, err := co.Observe(ctx, path, n.add, opts...)
	if err != nil {
		t.Fatal(err)
	}
	n.wait(t, 1)
	return obs
}

// subscriptions waits until the broker holds want subscriptions.
func (e *env) subscriptions(t *testing.T, want int) {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		if n := e.b.Stats().Subscriptions; n != want {
			return errorf("%d subscriptions, want %d", n, want)
		}
		return nil
	})
}

// TestPublish: POST and PUT publish the payload to the topic of the path
// with the query's QoS and retain flag, CON and NON alike; the response is
// 2.04 once routed; Content-Format becomes the MQTT 5 Content Type.
func TestPublish(t *testing.T) {
	e := start(t, nil)
	got := subscribe(t, e.b, "pub/#")
	co := dial(t, e.coapAddr)
	tests := []struct {
		name    string
		code    codes.Code
		typ     message.Type
		path    string
		query   []string
		cf      message.MediaType
		payload string
		want    broker.Message
	}{
		{"POST CON qos 1 text", codes.POST, message.Confirmable, "/ps/pub/a", []string{"qos=1"}, message.TextPlain, "21.5",
			broker.Message{Topic: "pub/a", Payload: []byte("21.5"), QoS: 1, ContentType: "text/plain;charset=utf-8", PayloadUTF8: true}},
		{"POST NON qos 0 json", codes.POST, message.NonConfirmable, "/ps/pub/b/c", nil, message.AppJSON, `{"t":1}`,
			broker.Message{Topic: "pub/b/c", Payload: []byte(`{"t":1}`), ContentType: "application/json"}},
		{"PUT retained octets", codes.PUT, message.Confirmable, "/ps/pub/d", []string{"retain=1", "qos=2"}, message.AppOctets, "\x00\x01",
			broker.Message{Topic: "pub/d", Payload: []byte{0, 1}, QoS: 2, ContentType: "application/octet-stream"}},
		{"POST cbor", codes.POST, message.Confirmable, "/ps/pub/e", nil, message.AppCBOR, "\xa1\x61\x74\x01",
			broker.Message{Topic: "pub/e", Payload: []byte("\xa1\x61\x74\x01"), ContentType: "application/cbor"}},
		{"POST unregistered content format", codes.POST, message.Confirmable, "/ps/pub/f", nil, message.MediaType(65000), "x",
			broker.Message{Topic: "pub/f", Payload: []byte("x")}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := co.AcquireMessage(ctx10(t))
			defer co.ReleaseMessage(req)
			var err error
			if tt.code == codes.POST {
				err = req.SetupPost(tt.path, nil, tt.cf, strings.NewReader(tt.payload))
			} else {
				err = req.SetupPut(tt.path, nil, tt.cf, strings.NewReader(tt.payload))
			}
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := co.GetToken()
			req.SetToken(tok)
			req.SetType(tt.typ)
			for _, q := range tt.query {
				req.AddQuery(q)
			}
			resp, err := co.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Code() != codes.Changed {
				t.Fatalf("response %v, want 2.04 Changed", resp.Code())
			}
			m := got.wait(t, i+1)[i]
			// Live deliveries carry Retain=false [MQTT-3.3.1-9].
			if diff := cmp.Diff(&tt.want, m, cmpMessage); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpMessage compares what the bridge sets, not the broker's own fields.
var cmpMessage = cmp.FilterPath(func(p cmp.Path) bool {
	switch p.Last().String() {
	case ".ClientID", ".Received", ".SubscriptionIDs", ".Retain", ".CorrelationData", ".UserProperties":
		return true
	}
	return false
}, cmp.Ignore())

// TestGetRetained: GET returns the retained message with its Content
// Type as Content-Format, 4.04 when there is none; DELETE clears it
// (an empty retained publish [MQTT-3.3.1-10]); GET of a filter lists the
// matching topics in link format.
func TestGetRetained(t *testing.T) {
	e := start(t, nil)
	co := dial(t, e.coapAddr)
	ctx := ctx10(t)
	if _, err := e.b.PublishMessage(ctx, &broker.Message{Topic: "r/one", Payload: []byte(`{"v":1}`), Retain: true, ContentType: "application/json", Expiry: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := e.b.Publish("r/two", []byte("2"), 0, true); err != nil {
		t.Fatal(err)
	}
	resp, err := co.Get(ctx, "/ps/r/one")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := resp.ReadBody()
	cf, _ := resp.ContentFormat()
	maxAge, _ := resp.GetOptionUint32(message.MaxAge)
	if resp.Code() != codes.Content || string(body) != `{"v":1}` || cf != message.AppJSON || maxAge < 3590 || maxAge > 3600 {
		t.Errorf("GET = %v %q cf %v max-age %d, want 2.05 {\"v\":1} application/json ~3600", resp.Code(), body, cf, maxAge)
	}

	resp, err = co.Get(ctx, "/ps/r/+")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = resp.ReadBody()
	if want := "</ps/r/one>;ct=50,</ps/r/two>"; resp.Code() != codes.Content || string(body) != want {
		t.Errorf("GET filter = %v %q, want 2.05 %q", resp.Code(), body, want)
	}

	resp, err = co.Delete(ctx, "/ps/r/one")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.Deleted {
		t.Errorf("DELETE = %v, want 2.02", resp.Code())
	}
	resp, err = co.Get(ctx, "/ps/r/one")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.NotFound {
		t.Errorf("GET after DELETE = %v, want 4.04", resp.Code())
	}
}

// TestObserve: a GET with Observe=0 subscribes (RFC 7641 §3.1): the
// registration response carries the retained message and an Observe
// number, each matching publish is a notification with a larger one and
// its Content Type as Content-Format; a wildcard observation gets the
// topic of each notification as Location-Path; Observe=1 deregisters
// (§3.6), ending the broker subscription.
func TestObserve(t *testing.T) {
	e := start(t, nil)
	co := dial(t, e.coapAddr)
	ctx := ctx10(t)
	if _, err := e.b.PublishMessage(ctx, &broker.Message{Topic: "o/t", Payload: []byte("old"), Retain: true, ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	var plain, wild notes
	obs := observe(t, ctx, co, "/ps/o/t", &plain)
	observe(t, ctx, co, "/ps/o/#", &wild, query("qos=1"))
	e.subscriptions(t, 2)
	// The wildcard observation gets the retained message as a notification.
	wild.wait(t, 2)
	for _, m := range []*broker.Message{
		{Topic: "o/t", Payload: []byte("new"), ContentType: "application/json"},
		{Topic: "o/t", Payload: []byte{0xff}, QoS: 1, ContentType: "application/cbor"},
		{Topic: "o/t", Payload: []byte("x"), ContentType: "application/x-unknown"},
	} {
		if _, err := e.b.PublishMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	got := plain.wait(t, 4)
	want := []note{
		{code: codes.Content, cf: message.TextPlain, hasCF: true, payload: "old"},
		{code: codes.Content, cf: message.AppJSON, hasCF: true, payload: "new"},
		{code: codes.Content, cf: message.AppCBOR, hasCF: true, payload: "\xff"},
		{code: codes.Content, payload: "x"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(note{}), cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".observe" }, cmp.Ignore())); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].observe <= got[i-1].observe {
			t.Errorf("Observe %d after %d: not increasing (RFC 7641 §4.4)", got[i].observe, got[i-1].observe)
		}
	}
	w := wild.wait(t, 5)
	for _, n := range w[1:] {
		if n.location != "/ps/o/t" {
			t.Errorf("wildcard notification Location-Path %q, want /ps/o/t", n.location)
		}
	}
	if err := obs.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	e.subscriptions(t, 1)
}

// TestObserverOutlivesInactivity: with an inactivity timeout of 1 s, an
// observer that stays silent for 3 s is still registered (the listener
// pings it instead of forgetting it, as go-coap's default 16 s timeout
// would) and gets the next notification.
func TestObserverOutlivesInactivity(t *testing.T) {
	e := start(t, nil, coap.WithInactivityTimeout(time.Second), coap.WithTransmission(100*time.Millisecond, 2))
	co := dial(t, e.coapAddr)
	var n notes
	observe(t, ctx10(t), co, "/ps/quiet", &n)
	e.subscriptions(t, 1)
	// Waiting is the point: three inactivity timeouts without a request.
	time.Sleep(3 * time.Second)
	e.subscriptions(t, 1)
	if err := e.b.Publish("quiet", []byte("still here"), 0, false); err != nil {
		t.Fatal(err)
	}
	if got := n.wait(t, 2); got[1].payload != "still here" {
		t.Errorf("notification %q, want \"still here\"", got[1].payload)
	}
}

// TestBlockwise: payloads larger than a block travel block-wise (RFC
// 7959) both ways: a POST (Block1), a GET of the retained message and a
// notification (Block2).
func TestBlockwise(t *testing.T) {
	e := start(t, nil, coap.WithBlockSize(64))
	co := dial(t, e.coapAddr)
	ctx := ctx10(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 300) // 4800 bytes
	got := subscribe(t, e.b, "big")
	var n notes
	observe(t, ctx, co, "/ps/big2", &n)
	e.subscriptions(t, 2)

	resp, err := co.Post(ctx, "/ps/big", message.AppOctets, bytes.NewReader(big), query("retain=1"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.Changed {
		t.Fatalf("POST = %v, want 2.04", resp.Code())
	}
	if m := got.wait(t, 1)[0]; !bytes.Equal(m.Payload, big) {
		t.Errorf("published %d bytes, want %d", len(m.Payload), len(big))
	}
	resp, err = co.Get(ctx, "/ps/big")
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := resp.ReadBody(); !bytes.Equal(body, big) {
		t.Errorf("GET returned %d bytes, want %d", len(body), len(big))
	}
	if err := e.b.Publish("big2", big, 0, false); err != nil {
		t.Fatal(err)
	}
	if nt := n.wait(t, 2)[1]; nt.payload != string(big) {
		t.Errorf("notification of %d bytes, want %d", len(nt.payload), len(big))
	}
}

// TestTooLarge: a payload above the limit is refused with 4.13 and the
// limit in Size1 (RFC 7959 §2.9.3), whether it comes in one datagram or
// block-wise.
func TestTooLarge(t *testing.T) {
	e := start(t, nil, coap.WithMaxPayload(1000), coap.WithBlockSize(256))
	co := dial(t, e.coapAddr)
	for _, size := range []int{200 + 1000, 5000} {
		resp, err := co.Post(ctx10(t), "/ps/x", message.AppOctets, bytes.NewReader(make([]byte, size)))
		if err != nil {
			t.Fatal(err)
		}
		size1, _ := resp.GetOptionUint32(message.Size1)
		if resp.Code() != codes.RequestEntityTooLarge || size1 != 1000 {
			t.Errorf("POST %d bytes = %v Size1 %d, want 4.13 Size1 1000", size, resp.Code(), size1)
		}
	}
}

// TestRefusals: the broker's refusals come back as CoAP codes with the
// reason code in the diagnostic payload (RFC 7252 §5.5.2); requests the
// listener cannot parse get 4.00.
func TestRefusals(t *testing.T) {
	authz := broker.SimpleAuthorizer(topicACL{"open/#"})
	e := start(t, []broker.Option{broker.WithAuthorizer(authz)})
	co := dial(t, e.coapAddr)
	tests := []struct {
		name string
		do   func(ctx context.Context) (*pool.Message, error)
		code codes.Code
		diag string
	}{
		{"publish denied", func(ctx context.Context) (*pool.Message, error) {
			return co.Post(ctx, "/ps/closed/a", message.TextPlain, strings.NewReader("x"))
		}, codes.Forbidden, "0x87"},
		{"observe denied", func(ctx context.Context) (*pool.Message, error) {
			return co.Get(ctx, "/ps/closed/a", message.Option{ID: message.Observe, Value: []byte{}})
		}, codes.Forbidden, "0x87"},
		{"publish to a filter", func(ctx context.Context) (*pool.Message, error) {
			return co.Post(ctx, "/ps/open/+", message.TextPlain, strings.NewReader("x"))
		}, codes.BadRequest, "0x90"},
		{"invalid filter", func(ctx context.Context) (*pool.Message, error) {
			return co.Get(ctx, "/ps/open/#/a")
		}, codes.BadRequest, "0x8F"},
		{"bad qos", func(ctx context.Context) (*pool.Message, error) {
			return co.Post(ctx, "/ps/open/a", message.TextPlain, strings.NewReader("x"), query("qos=3"))
		}, codes.BadRequest, "qos"},
		{"unknown parameter", func(ctx context.Context) (*pool.Message, error) {
			return co.Post(ctx, "/ps/open/a", message.TextPlain, strings.NewReader("x"), query("qso=1"))
		}, codes.BadRequest, "qso"},
		{"credentials not enabled", func(ctx context.Context) (*pool.Message, error) {
			return co.Post(ctx, "/ps/open/a", message.TextPlain, strings.NewReader("x"), query("u=a"))
		}, codes.BadRequest, "not enabled"},
		{"no topic", func(ctx context.Context) (*pool.Message, error) {
			return co.Post(ctx, "/ps", message.TextPlain, strings.NewReader("x"))
		}, codes.BadRequest, "no topic"},
		{"outside /ps", func(ctx context.Context) (*pool.Message, error) {
			return co.Get(ctx, "/other")
		}, codes.NotFound, ""},
		{"method", func(ctx context.Context) (*pool.Message, error) {
			return co.Fetch(ctx, "/ps/open/a", message.TextPlain, strings.NewReader("x"))
		}, codes.MethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.do(ctx10(t))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := resp.ReadBody()
			if resp.Code() != tt.code || !strings.Contains(string(body), tt.diag) {
				t.Errorf("= %v %q, want %v with %q", resp.Code(), body, tt.code, tt.diag)
			}
		})
	}
}

// topicACL allows publishing and subscribing under one filter prefix.
type topicACL struct{ prefix string }

func (a topicACL) allowed(topic string) bool {
	return strings.HasPrefix(topic, strings.TrimSuffix(a.prefix, "#"))
}

func (a topicACL) CanPublish(_ *broker.ClientInfo, topic string) bool    { return a.allowed(topic) }
func (a topicACL) CanSubscribe(_ *broker.ClientInfo, filter string) bool { return a.allowed(filter) }

// TestDiscovery: GET /.well-known/core lists the pub-sub root (RFC 6690).
func TestDiscovery(t *testing.T) {
	e := start(t, nil)
	co := dial(t, e.coapAddr)
	resp, err := co.Get(ctx10(t), "/.well-known/core")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := resp.ReadBody()
	if resp.Code() != codes.Content || !strings.Contains(string(body), `</ps/>;rt="core.ps"`) {
		t.Errorf("= %v %q", resp.Code(), body)
	}
}

// TestShutdownEndsObservations: Close tells each observer with a 5.03
// without Observe (RFC 7641 §3.2), ends the broker subscriptions and
// leaves no goroutine (checked by start).
func TestShutdownEndsObservations(t *testing.T) {
	e := start(t, nil)
	co := dial(t, e.coapAddr)
	var n notes
	observe(t, ctx10(t), co, "/ps/s/#", &n)
	e.subscriptions(t, 1)
	if err := e.b.Close(); err != nil {
		t.Fatal(err)
	}
	last := n.wait(t, 2)[1]
	if last.code != codes.ServiceUnavailable {
		t.Errorf("last notification %v, want 5.03", last.code)
	}
	if s := e.b.Stats().Subscriptions; s != 0 {
		t.Errorf("%d subscriptions after Close", s)
	}
	if err := e.l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

var _ = packets.NotAuthorized

// TestMaxObservers: beyond its maximum of observations a peer's GET with
// Observe is answered as a plain GET, without Observe, which tells it it
// is not registered (RFC 7641 §4.1).
func TestMaxObservers(t *testing.T) {
	e := start(t, nil, coap.WithMaxObservers(1))
	co := dial(t, e.coapAddr)
	ctx := ctx10(t)
	if err := e.b.Publish("m/b", []byte("kept"), 0, true); err != nil {
		t.Fatal(err)
	}
	var n notes
	observe(t, ctx, co, "/ps/m/a", &n)
	resp, err := co.Get(ctx, "/ps/m/b", message.Option{ID: message.Observe, Value: []byte{}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := resp.ReadBody()
	if resp.Code() != codes.Content || resp.HasOption(message.Observe) || string(body) != "kept" {
		t.Errorf("second observation = %v %q, Observe option %v; want 2.05 kept without Observe", resp.Code(), body, resp.HasOption(message.Observe))
	}
	e.subscriptions(t, 1)
}

// TestServeNeedsBroker: Serve refuses a handler that cannot make clients.
func TestServeNeedsBroker(t *testing.T) {
	noLeaks(t)
	l, err := coap.New("", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Name() != "coap" {
		t.Errorf("Name() = %q, want coap", l.Name())
	}
	if err := l.Serve(connHandler{}); err == nil || !strings.Contains(err.Error(), "NewClient") {
		t.Errorf("Serve(connHandler) = %v, want an error naming NewClient", err)
	}
	if _, err := coap.New("x", "127.0.0.1:0", coap.WithBlockSize(100)); err == nil {
		t.Error("New accepted a block size of 100")
	}
}

type connHandler struct{}

func (connHandler) ServeConn(string, net.Conn) {}
