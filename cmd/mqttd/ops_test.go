//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/cmd/mqttd/internal/config"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/metrics/prometheus"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/memory"
)

// metricsLine matches the line mqttd logs once its metrics endpoint listens.
var metricsLine = regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)

// loopbackClient talks to servers on loopback: no proxy from the
// environment, a short timeout.
var loopbackClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}

// httpGet fetches url and returns the status code and body.
func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	res, err := loopbackClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// TestOpsEndpoint runs mqttd in-process with metrics enabled: /healthz
// answers, /readyz turns ready once the broker serves and unready as soon
// as the shutdown starts, and /metrics counts a real connection.
func TestOpsEndpoint(t *testing.T) {
	cfg, err := config.Parse("ops.yaml", []byte(`
listeners:
  - {type: tcp, name: main, address: "127.0.0.1:0"}
metrics: {enabled: true, address: "127.0.0.1:0"}
shutdown_timeout: 10s
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, cfg.Log.Logger(&logs)) }()
	var addr, ops string
	waitFor(t, 5*time.Second, func() error {
		m, o := listeningLine.FindStringSubmatch(logs.String()), metricsLine.FindStringSubmatch(logs.String())
		if m == nil || o == nil {
			return fmt.Errorf("not listening yet:\n%s", logs.String())
		}
		addr, ops = m[1], "http://"+o[1]
		return nil
	})

	if code, body := httpGet(t, ops+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	waitFor(t, 5*time.Second, func() error {
		if code, body := httpGet(t, ops+"/readyz"); code != 200 || body != "ready\n" {
			return fmt.Errorf("/readyz = %d %q", code, body)
		}
		return nil
	})

	// A QoS 1 delivery left unacknowledged holds the shutdown in its
	// drain, long enough to see /readyz turn.
	sub := dialMQTT(t, addr, "sub", true, nil)
	sub.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("t"), QoS: 1}}})
	sub.want(packets.SUBACK)
	pub := dialMQTT(t, addr, "pub", true, nil)
	pub.send(&packets.Publish{QoS: 1, PacketID: 1, Topic: []byte("t"), Payload: []byte("x")})
	pub.want(packets.PUBACK)
	held := sub.publish(t)

	_, metrics := httpGet(t, ops+"/metrics")
	for _, want := range []string{
		`mqtt_connections_current{listener="main"} 2`,
		`mqtt_messages_published_total{listener="main"} 1`,
		`mqtt_subscriptions_current 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	if promtool, err := exec.LookPath("promtool"); err == nil {
		// Prometheus's linter on what mqttd serves; the one finding allowed
		// is the architecture document's name for the retained gauge.
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(metrics)
		out, _ := cmd.CombinedOutput()
		for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
			if line != "" && !strings.HasPrefix(line, "mqtt_messages_retained_total non-counter metrics should not have \"_total\" suffix") {
				t.Errorf("promtool check metrics: %s", line)
			}
		}
	} else {
		t.Log("promtool not installed (Debian package prometheus; run make deps): exposition not linted")
	}

	cancel()
	waitFor(t, 5*time.Second, func() error {
		if code, body := httpGet(t, ops+"/readyz"); code != http.StatusServiceUnavailable || body != "shutting down\n" {
			return fmt.Errorf("/readyz during shutdown = %d %q", code, body)
		}
		return nil
	})
	sub.send(&packets.Ack{Kind: packets.PUBACK, PacketID: held.PacketID})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(ops, "http://"), time.Second); err == nil {
		t.Error("metrics endpoint still listening after run returned")
	}
}

// TestReadyzSaysWhatIsWrong: each condition /readyz checks, alone, on a
// real broker (its Ready).
func TestReadyzSaysWhatIsWrong(t *testing.T) {
	tests := []struct {
		name  string
		state int32
		spoil func(l *tcp.Listener, st storage.Store) // what goes wrong
		want  string
	}{
		{"ready", opsServing, nil, ""},
		{"starting", opsStarting, nil, "starting"},
		{"shutting down", opsStopping, nil, "shutting down"},
		{"listener not accepting", opsServing, func(l *tcp.Listener, _ storage.Store) { _ = l.Close() }, "listener tcp: not accepting"},
		{"storage closed", opsServing, func(_ *tcp.Listener, st storage.Store) { _ = st.Close() }, "storage: storage: store is closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tcp.New("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			st := memory.New()
			b, err := broker.New(broker.WithListener(l), broker.WithStorage(st), broker.WithSysInterval(-1))
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			o := &opsServer{metrics: prometheus.New()}
			o.serving(b.Ready)
			o.state.Store(tt.state)
			if tt.spoil != nil {
				tt.spoil(l, st)
			}
			waitFor(t, 5*time.Second, func() error {
				if got := strings.Join(o.check(context.Background()), "|"); got != tt.want {
					return fmt.Errorf("check = %q, want %q", got, tt.want)
				}
				return nil
			})
		})
	}
}
