package broker

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/ternmq/broker/internal/sessions"
)

// countSink is a subscriber that only counts.
type countSink struct {
	n    int
	info ClientInfo
}

func (c *countSink) deliver(sessions.Delivery) error { c.n++; return nil }
func (c *countSink) client() *ClientInfo             { return &c.info }

func benchBroker(b *testing.B) *Broker {
	br, err := New(WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close() })
	return br
}

// BenchmarkRouterRoute routes one message among 10,000 subscriptions of
// which it matches 10 (exact, + and # filters).
func BenchmarkRouterRoute(b *testing.B) {
	br := benchBroker(b)
	for i := range 10000 {
		s := &countSink{info: ClientInfo{ID: fmt.Sprint(i)}}
		br.subs.Subscribe(fmt.Sprintf("site/%d/+/temp", i%1000), s, subscription{qos: 1})
	}
	m := sessions.NewMessage([]byte("site/7/kitchen/temp"), []byte("21.5"), 1, false, nil)
	b.ReportAllocs()
	for b.Loop() {
		if n, _ := br.route(m); n != 10 {
			b.Fatal("wrong fan-out")
		}
	}
}

// BenchmarkRouteFanout1000 routes one message to 1,000 subscribers.
func BenchmarkRouteFanout1000(b *testing.B) {
	br := benchBroker(b)
	for i := range 1000 {
		br.subs.Subscribe("fan/out", &countSink{info: ClientInfo{ID: fmt.Sprint(i)}}, subscription{qos: 0})
	}
	m := sessions.NewMessage([]byte("fan/out"), make([]byte, 64), 0, false, nil)
	b.ReportAllocs()
	for b.Loop() {
		br.route(m)
	}
}
