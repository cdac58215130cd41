package prometheus

import (
	"bytes"
	"errors"
	"github.com/ternmq/broker"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/broker/packets"
)

// knownLint is what promtool says about the architecture document's own
// name for the gauge of retained messages; nothing else may be reported.
const knownLint = `mqtt_messages_retained_total non-counter metrics should not have "_total" suffix`

// TestPromtoolChecksTheExposition scrapes Handler over HTTP after every
// kind of event and runs Prometheus's own linter on it (`promtool check
// metrics`, Debian package prometheus; make deps installs it).
func TestPromtoolChecksTheExposition(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus; run make deps)")
	}
	m := New()
	m.ClientConnected("tcp")
	m.ClientDisconnected("tcp", time.Second)
	m.ConnectRefused("tcp", packets.BadUserNameOrPassword)
	m.PacketReceived("tcp", packets.PUBLISH, 10)
	m.PacketSent("tcp", packets.PUBACK, 4)
	m.PacketDecoded(time.Microsecond)
	m.ProtocolError("tcp", packets.MalformedPacket)
	m.MessagePublished("tcp", 1)
	m.MessageRouted(time.Microsecond)
	m.MessageDelivered(1)
	m.MessageRetried(2)
	m.MessageDropped("queue_full")
	m.ObserveStats(func() broker.Stats { return broker.Stats{Inflight: 1, Queued: 1} })
	m.Subscriptions(1)
	m.Sessions(1)
	m.SessionExpired()
	m.Retained(1)
	m.StorageCall("append", time.Millisecond, errors.New("disk full"))

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %v %v", res.Status, err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	t.Logf("promtool check metrics: %v\n%s", err, out)
	var problems []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if line != "" && line != knownLint {
			problems = append(problems, line)
		}
	}
	if len(problems) > 0 {
		t.Errorf("promtool check metrics (%v):\n%s", err, strings.Join(problems, "\n"))
	}
	if !strings.Contains(string(body), "mqtt_connections_total{listener=\"tcp\"} 1") {
		t.Errorf("exposition lacks mqtt_connections_total{listener=\"tcp\"} 1:\n%s", body)
	}
}
