package opcua

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/tcp"
)

// testLogger logs to the test output with -v and OPCUA_TEST_LOG=1, else
// nowhere.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("OPCUA_TEST_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// checkFor polls fn every 10 ms until it returns nil, failing the test
// with fn's last error after timeout.
func checkFor(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startBroker starts a broker with a TCP listener on a random port and
// the given extra listeners and options; it returns the broker and the
// TCP address. The broker is shut down when the test ends, after which no
// goroutine of gopcua's may be left.
func startBroker(t testing.TB, extra []listeners.Listener, opts ...broker.Option) (*broker.Broker, string) {
	t.Helper()
	l, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, broker.WithListener(l), broker.WithLogger(testLogger(t)))
	for _, x := range extra {
		opts = append(opts, broker.WithListener(x))
	}
	b, err := broker.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		checkNoLeaks(t)
	})
	return b, l.Addr().String()
}

// checkNoLeaks fails when goroutines of this package or of gopcua's
// server outlive the broker (gopcua's client may take a moment to wind
// down).
func checkNoLeaks(t testing.TB) {
	t.Helper()
	checkFor(t, 5*time.Second, func() error {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "testing.tRunner") {
				continue
			}
			if strings.Contains(g, "gopcua/opcua") || strings.Contains(g, "listeners/opcua.(*") {
				return fmt.Errorf("goroutine left behind:\n%s", g)
			}
		}
		return nil
	})
}

// mqttClient connects a paho MQTT 3.1.1 client to addr.
func mqttClient(t testing.TB, addr, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetProtocolVersion(4).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("paho connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// publish publishes with paho and waits for the acknowledgement.
func publish(t testing.TB, c paho.Client, topic string, qos byte, retain bool, payload string) {
	t.Helper()
	if tok := c.Publish(topic, qos, retain, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("paho publish %s: %v", topic, tok.Error())
	}
}

// received collects the messages of a paho subscription.
type received struct {
	ch chan paho.Message
}

// subscribe subscribes c to filter and returns the collector.
func subscribe(t testing.TB, c paho.Client, filter string, qos byte) *received {
	t.Helper()
	r := &received{ch: make(chan paho.Message, 10000)}
	if tok := c.Subscribe(filter, qos, func(_ paho.Client, m paho.Message) { r.ch <- m }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("paho subscribe %s: %v", filter, tok.Error())
	}
	return r
}

// next waits for a message matching pred, skipping others.
func (r *received) next(t testing.TB, timeout time.Duration, pred func(paho.Message) bool) paho.Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-r.ch:
			if pred == nil || pred(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no matching message within %v", timeout)
			return nil
		}
	}
}

// onTopic matches messages on topic.
func onTopic(topic string) func(paho.Message) bool {
	return func(m paho.Message) bool { return m.Topic() == topic }
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
