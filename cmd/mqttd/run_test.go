package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/cmd/mqttd/internal/config"
)

// connect311 is an MQTT 3.1.1 CONNECT: clean session, keep alive 60 s,
// client identifier "t1".
var connect311 = []byte{
	0x10, 14, // CONNECT, remaining length
	0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name and level 4 (3.1.1)
	0x02,  // connect flags: clean session
	0, 60, // keep alive
	0, 2, 't', '1', // client identifier
}

// connackAccepted is the CONNACK that accepts connect311: no session
// present, return code 0 [MQTT-3.2.2-1].
var connackAccepted = []byte{0x20, 2, 0, 0}

// listeningLine matches the one line mqttd logs once it listens.
var listeningLine = regexp.MustCompile(`level=INFO msg="tern listening" addr=(\S+) auth=(\S+) storage=(\S+) config=(\S+)`)

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond every 10 ms until it returns nil or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() error) {
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

// handshake sends connect311 on a new connection to addr and checks the
// broker accepts it; it returns the open connection.
func handshake(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(connect311); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(connackAccepted))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading CONNACK: %v", err)
	}
	if !bytes.Equal(got, connackAccepted) {
		t.Fatalf("CONNACK = % x, want % x", got, connackAccepted)
	}
	return c
}

func TestDefaultLimitsAreTheBrokers(t *testing.T) {
	c, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(broker.DefaultLimits(), brokerLimits(c.Limits)); diff != "" {
		t.Errorf("default.yaml limits differ from broker.DefaultLimits() (-broker +default.yaml):\n%s", diff)
	}
}

// TestRunDefaultConfig runs the default configuration in-process, on a
// random port instead of 1883: it serves MQTT, says so in one line, and
// returns nil once ctx is cancelled.
func TestRunDefaultConfig(t *testing.T) {
	cfg, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listeners[0].Address = "127.0.0.1:0"
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, cfg.Log.Logger(&logs)) }()

	var m []string
	waitFor(t, 5*time.Second, func() error {
		if m = listeningLine.FindStringSubmatch(logs.String()); m == nil {
			return fmt.Errorf("no %q line in the log:\n%s", "tern listening", logs.String())
		}
		return nil
	})
	if want := []string{"anonymous", "memory", "default"}; !cmp.Equal(m[2:], want) {
		t.Errorf("auth, storage, config = %q, want %q", m[2:], want)
	}
	if !strings.HasPrefix(m[1], "127.0.0.1:") || m[1] == "127.0.0.1:0" {
		t.Errorf("addr = %s, want 127.0.0.1 and the port listened on", m[1])
	}
	if n := strings.Count(logs.String(), "tern listening"); n != 1 {
		t.Errorf("%d listening lines, want 1", n)
	}
	handshake(t, m[1])

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v, want nil", err)
		}
	case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(logs.String(), `msg="tern stopped"`) {
		t.Errorf("no stop line in the log:\n%s", logs.String())
	}
}

func TestRunListenError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg, err := config.Parse("busy.yaml", []byte(fmt.Sprintf(
		"listeners:\n  - {type: tcp, name: free, address: \"127.0.0.1:0\"}\n  - {type: tcp, name: busy, address: %q}\n",
		busy.Addr().String())), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), cfg, config.Log{Level: "error", Format: "text"}.Logger(io.Discard))
	if err == nil || !strings.Contains(err.Error(), `listener "busy"`) || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("run = %v, want an error naming the busy listener and its address", err)
	}
}

// TestMainExit runs main's logic in-process for the exits that do not
// need a signal.
func TestMainExit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	unknownKey := write("unknown.yaml", "limits:\n  max_inflight: 10\n  max_infligth: 20\n")
	badDuration := write("duration.yaml", "limits:\n  connect_timeout: 10\n")
	badType := write("type.yaml", "listeners:\n  - type: tcp\n    address: \":0\"\n  - type: quic\n    name: q\n    address: \":0\"\n")
	busyConf := write("busy.yaml", fmt.Sprintf("listeners:\n  - {type: tcp, address: %q}\n", busy.Addr().String()))

	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderr     []string
		stderrNone string
	}{
		{"version", []string{"-version"}, 0, "mqttd (Tern MQTT broker) ", nil, ""},
		{"help", []string{"-h"}, 0, "", []string{"-config file", "-version"}, ""},
		{"bad flag", []string{"-port", "1"}, 2, "", []string{"flag provided but not defined: -port"}, ""},
		{"argument", []string{"tern.yaml"}, 2, "", []string{`mqttd: unexpected argument "tern.yaml" (the configuration goes in -config FILE)`}, ""},
		{"missing file", []string{"-config", filepath.Join(dir, "nope.yaml")}, 2, "", []string{"mqttd: open ", "nope.yaml: no such file"}, ""},
		{"unknown key", []string{"-config", unknownKey}, 2, "", []string{"mqttd: " + unknownKey + `: line 3: unknown key "max_infligth" in limits`}, "tern listening"},
		{"bad duration", []string{"-config", badDuration}, 2, "", []string{badDuration + `: line 2: limits.connect_timeout: invalid duration "10"`}, ""},
		{"unknown listener type", []string{"-config", badType}, 2, "", []string{badType + `: line 4: listeners[1].type: unknown listener type "quic"`}, ""},
		{"address in use", []string{"-config", busyConf}, 1, "", []string{`mqttd: listener "tcp": listen tcp ` + busy.Addr().String()}, "tern listening"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := mainExit(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if !strings.HasPrefix(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q, want it to start with %q", stdout.String(), tt.stdout)
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr\n%s\ndoes not contain %q", stderr.String(), w)
				}
			}
			if tt.stderrNone != "" && strings.Contains(stderr.String(), tt.stderrNone) {
				t.Errorf("stderr\n%s\ncontains %q", stderr.String(), tt.stderrNone)
			}
		})
	}
}
