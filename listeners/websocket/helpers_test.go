package websocket_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// logBuffer collects log output for tests that check what was logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// authRecorder is an Authenticator that accepts everyone and records what
// each client presented.
type authRecorder struct {
	mu   sync.Mutex
	seen map[string]broker.Credentials
}

func (a *authRecorder) Authenticate(_ context.Context, c *broker.Credentials) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = make(map[string]broker.Credentials)
	}
	a.seen[c.ID] = *c
	return nil
}

func (a *authRecorder) get(id string) (broker.Credentials, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.seen[id]
	return c, ok
}

// startBroker serves the listeners with a broker until the test ends.
func startBroker(t testing.TB, ls []listeners.Listener, opts ...broker.Option) *broker.Broker {
	t.Helper()
	all := []broker.Option{broker.WithLogger(quiet())}
	for _, l := range ls {
		all = append(all, broker.WithListener(l))
	}
	b, err := broker.New(append(all, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// checkFor polls fn until it returns nil or the timeout passes.
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

// inbox collects messages a client receives.
type inbox struct {
	mu   sync.Mutex
	msgs []string // "topic payload qos"
}

func (b *inbox) add(topic string, payload []byte, qos byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, fmt.Sprintf("%s %s %d", topic, payload, qos))
}

func (b *inbox) waitFor(t testing.TB, n int) []string {
	t.Helper()
	checkFor(t, 15*time.Second, func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.msgs) < n {
			return fmt.Errorf("%d messages received, want %d: %q", len(b.msgs), n, b.msgs)
		}
		return nil
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.msgs...)
}

// dialAutopaho connects paho.golang's autopaho to serverURL (ws:// or
// wss://) and returns the connection with its inbox.
func dialAutopaho(t testing.TB, serverURL, id string, cfg autopaho.ClientConfig) (*autopaho.ConnectionManager, *inbox) {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	in := &inbox{}
	cfg.ServerUrls = []*url.URL{u}
	// No keep alive: paho.golang sends its first PINGREQ at once from a
	// goroutine of its own, which can land between the WebSocket messages
	// of another packet (see brokertest.Dial).
	cfg.KeepAlive = 0
	cfg.CleanStartOnInitialConnection = true
	cfg.ConnectTimeout = 10 * time.Second
	cfg.ReconnectBackoff = func(int) time.Duration { return 50 * time.Millisecond }
	cfg.ClientID = id
	cfg.OnPublishReceived = append(cfg.OnPublishReceived, func(r paho.PublishReceived) (bool, error) {
		in.add(r.Packet.Topic, r.Packet.Payload, r.Packet.QoS)
		return true, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		_ = cm.Disconnect(dctx)
		cancel()
		<-cm.Done()
	})
	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	if err := cm.AwaitConnection(actx); err != nil {
		t.Fatalf("autopaho connect to %s: %v", serverURL, err)
	}
	return cm, in
}
