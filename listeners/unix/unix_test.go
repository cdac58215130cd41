package unix_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/unix"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// socketPath returns a short socket path (sun_path holds 108 bytes, and
// t.TempDir can be longer).
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tern")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "mqtt.sock")
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

func start(t *testing.T, l *unix.Listener) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.WithListener(l), broker.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestPahoOverUnixSocket: paho.golang (5.0, given the dialled net.Conn) and
// paho.mqtt.golang (3.1.1, unix:// URL) exchange a message through the
// socket; the socket file has the configured mode and is gone after the
// broker closes.
func TestPahoOverUnixSocket(t *testing.T) {
	path := socketPath(t)
	l, err := unix.New("local", path, unix.WithMode(0o660), unix.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	b := start(t, l)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket file mode %v, want a socket with 0660", fi.Mode())
	}

	var mu sync.Mutex
	var got []string
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	v5 := paho.NewClient(paho.ClientConfig{
		Conn: nc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			mu.Lock()
			got = append(got, r.Packet.Topic+" "+string(r.Packet.Payload))
			mu.Unlock()
			return true, nil
		}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := v5.Connect(ctx, &paho.Connect{ClientID: "v5", KeepAlive: 30, CleanStart: true}); err != nil {
		t.Fatalf("paho.golang over the socket: %v", err)
	}
	defer v5.Disconnect(&paho.Disconnect{})
	if _, err := v5.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "local/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}

	v3 := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("unix://" + path).SetClientID("v3").SetProtocolVersion(4).SetAutoReconnect(false))
	if tok := v3.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("paho.mqtt.golang over unix://: %v", tok.Error())
	}
	if tok := v3.Publish("local/x", 1, false, "over a socket file"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	v3.Disconnect(100)
	checkFor(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 {
			return errors.New("nothing received")
		}
		return nil
	})
	mu.Lock()
	if len(got) != 1 || got[0] != "local/x over a socket file" {
		t.Errorf("paho.golang received %q", got)
	}
	mu.Unlock()

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the socket file is still there after Close: %v", err)
	}
}

// TestStartReplacesOnlyStaleSockets: a socket file nobody listens on (left
// by a process that died) is replaced; one that is served, and a file that
// is not a socket, are left alone and New fails.
func TestStartReplacesOnlyStaleSockets(t *testing.T) {
	t.Run("stale socket", func(t *testing.T) {
		path := socketPath(t)
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ln.SetUnlinkOnClose(false) // as a process that died leaves it
		ln.Close()
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("no stale socket to test with: %v", err)
		}
		l, err := unix.New("", path)
		if err != nil {
			t.Fatalf("New over a stale socket: %v", err)
		}
		l.Close()
	})
	t.Run("socket in use", func(t *testing.T) {
		path := socketPath(t)
		first, err := unix.New("", path)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		if _, err := unix.New("", path); err == nil || !strings.Contains(err.Error(), "another process is listening") {
			t.Errorf("New over a served socket: %v, want an error saying it is in use", err)
		}
		if c, err := net.Dial("unix", path); err != nil {
			t.Errorf("the first listener's socket was disturbed: %v", err)
		} else {
			c.Close()
		}
	})
	t.Run("regular file", func(t *testing.T) {
		path := socketPath(t)
		if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.New("", path); err == nil || !strings.Contains(err.Error(), "not a socket") {
			t.Errorf("New over a regular file: %v, want an error", err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
			t.Errorf("the regular file was touched: %q, %v", b, err)
		}
	})
}
