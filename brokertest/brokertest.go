package brokertest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/topics"
)

// Broker is a broker running for one test.
type Broker struct {
	*broker.Broker
	// Addr is the TCP listener's address, "127.0.0.1:port".
	Addr string
	// URL is Addr as "mqtt://127.0.0.1:port" (paho.mqtt.golang also
	// takes "tcp://" + Addr).
	URL string

	id  string
	rec *recorder
}

var instances atomic.Uint64 // labels each broker's goroutines apart

// New starts a broker configured by opts on a random loopback port and
// closes it when the test ends. Its logs go to t.Log at warning level and
// above; pass broker.WithLogger to change that.
func New(t testing.TB, opts ...broker.Option) *Broker {
	t.Helper()
	l, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	rec := &recorder{}
	all := append([]broker.Option{
		broker.WithListener(l),
		broker.WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		broker.WithSysInterval(-1),
	}, opts...)
	all = append(all, broker.WithHooks(rec)) // last: sees what earlier hooks made of a message
	b, err := broker.New(all...)
	if err != nil {
		_ = l.Close()
		t.Fatalf("brokertest: %v", err)
	}
	tb := &Broker{Broker: b, Addr: l.Addr().String(), rec: rec, id: fmt.Sprint(instances.Add(1))}
	tb.URL = "mqtt://" + tb.Addr
	var serr error
	// Goroutines started from here (listeners, connections, writers)
	// carry the label, so that cleanup can find the ones left.
	pprof.Do(context.Background(), pprof.Labels("tern-brokertest", tb.id), func(ctx context.Context) {
		serr = b.Start(ctx)
	})
	if serr != nil {
		_ = b.Close()
		t.Fatalf("brokertest: start: %v", serr)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("brokertest: close: %v", err)
		}
		tb.checkGoroutines(t)
	})
	return tb
}

// Dial returns the client end of an in-memory connection that the broker
// serves (listener name "pipe"): for MQTT clients that take a net.Conn,
// such as paho.golang. A client must write each packet in one Write or
// from one goroutine at a time: paho.golang v0.23 does not, when its
// keep alive is on (its pinger sends a PINGREQ at once, which can land
// between the Writes of another packet on any connection but TCP), so
// connect it with KeepAlive 0 here, or dial Addr.
func (b *Broker) Dial() net.Conn {
	client, server := net.Pipe()
	pprof.Do(context.Background(), pprof.Labels("tern-brokertest", b.id), func(context.Context) {
		go b.ServeConn("pipe", server)
	})
	return client
}

// Published returns a copy of every message published to the broker so
// far (by clients, wills and the host), in the order they were accepted,
// as they were routed.
func (b *Broker) Published() []*broker.Message { return b.rec.all() }

// Await waits until n messages whose topics match filter have been
// published (counting from the broker's start) and returns the first n;
// the test fails when timeout passes first.
func (b *Broker) Await(t testing.TB, filter string, n int, timeout time.Duration) []*broker.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := b.rec.matching(filter, 0)
		if len(got) >= n {
			return got[:n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("brokertest: %d messages on %q after %v, want %d", len(got), filter, timeout, n)
			return nil
		}
		b.rec.wait(50 * time.Millisecond)
	}
}

// AssertNoMessage fails the test if a message whose topic matches filter
// is published within d from now.
func (b *Broker) AssertNoMessage(t testing.TB, filter string, d time.Duration) {
	t.Helper()
	from := b.rec.len()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if got := b.rec.matching(filter, from); len(got) > 0 {
			t.Fatalf("brokertest: unexpected message on %q: topic %q payload %q", filter, got[0].Topic, got[0].Payload)
		}
		b.rec.wait(min(50*time.Millisecond, time.Until(deadline)))
	}
	if got := b.rec.matching(filter, from); len(got) > 0 {
		t.Fatalf("brokertest: unexpected message on %q: topic %q payload %q", filter, got[0].Topic, got[0].Payload)
	}
}

// checkGoroutines fails t if goroutines started by this broker are still
// running five seconds after Close.
func (b *Broker) checkGoroutines(t testing.TB) {
	t.Helper()
	label := fmt.Sprintf("%q:%q", "tern-brokertest", b.id)
	var left string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		left = ""
		for _, g := range strings.Split(buf.String(), "\n\n") {
			if strings.Contains(g, label) {
				left += g + "\n\n"
			}
		}
		if left == "" {
			return
		}
	}
	t.Errorf("brokertest: goroutines left after Close:\n%s", left)
}

// recorder is the PublishHook behind Published.
type recorder struct {
	mu     sync.Mutex
	msgs   []*broker.Message
	signal chan struct{} // closed and replaced at each message
}

// OnPublish records a copy of m.
func (r *recorder) OnPublish(_ *broker.ClientInfo, m *broker.Message) error {
	cp := *m
	cp.Payload = bytes.Clone(m.Payload)
	r.mu.Lock()
	r.msgs = append(r.msgs, &cp)
	if r.signal != nil {
		close(r.signal)
		r.signal = nil
	}
	r.mu.Unlock()
	return nil
}

func (r *recorder) all() []*broker.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*broker.Message(nil), r.msgs...)
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// matching returns the messages from index from on whose topics match
// filter.
func (r *recorder) matching(filter string, from int) []*broker.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*broker.Message
	for _, m := range r.msgs[min(from, len(r.msgs)):] {
		if topics.Match(filter, m.Topic) {
			out = append(out, m)
		}
	}
	return out
}

// wait returns when a message is recorded or d has passed.
func (r *recorder) wait(d time.Duration) {
	r.mu.Lock()
	if r.signal == nil {
		r.signal = make(chan struct{})
	}
	ch := r.signal
	r.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(d):
	}
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
