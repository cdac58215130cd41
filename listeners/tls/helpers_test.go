package tls_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners"
)

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

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// authRecorder is an Authenticator that accepts everyone and records what
// each client presented.
type authRecorder struct {
	mu   sync.Mutex
	seen map[string]broker.Credentials // by client identifier
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

// startBroker serves l with a broker until the test ends.
func startBroker(t *testing.T, l listeners.Listener, opts ...broker.Option) *broker.Broker {
	t.Helper()
	b, err := broker.New(append([]broker.Option{broker.WithListener(l), broker.WithLogger(quiet())}, opts...)...)
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
func checkFor(t *testing.T, timeout time.Duration, fn func() error) {
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

// handshakesRunning counts goroutines inside the listener's handshake.
func handshakesRunning() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "listeners/tls.(*Listener).handshake(")
}

// noHandshakeLeft waits until no handshake goroutine is left.
func noHandshakeLeft(t *testing.T) {
	t.Helper()
	checkFor(t, 5*time.Second, func() error {
		if n := handshakesRunning(); n > 0 {
			return fmt.Errorf("%d handshake goroutines still running", n)
		}
		return nil
	})
}
