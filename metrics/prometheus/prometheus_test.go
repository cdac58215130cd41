package prometheus

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// sample returns the sum of the series name{labels...} in g (series with
// more labels included): counters' and gauges' values, histograms' sample
// counts; 0 when there is none. labels alternate names and values.
func sample(t testing.TB, g prom.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, labels []string) bool {
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// TestEveryEventMovesItsMetric calls each broker.Metrics method once and
// checks the series it must move, under the architecture document's names.
func TestEveryEventMovesItsMetric(t *testing.T) {
	tests := []struct {
		event  string
		call   func(m *Metrics)
		name   string
		labels []string
		want   float64
	}{
		{"ClientConnected counts", func(m *Metrics) { m.ClientConnected("tcp") }, "mqtt_connections_total", []string{"listener", "tcp"}, 1},
		{"ClientConnected raises current", func(m *Metrics) { m.ClientConnected("tcp") }, "mqtt_connections_current", []string{"listener", "tcp"}, 1},
		{"ClientDisconnected lowers current", func(m *Metrics) { m.ClientConnected("ws"); m.ClientDisconnected("ws", time.Minute) }, "mqtt_connections_current", []string{"listener", "ws"}, 0},
		{"ClientDisconnected observes duration", func(m *Metrics) { m.ClientDisconnected("tcp", time.Minute) }, "mqtt_connection_duration_seconds", []string{"listener", "tcp"}, 1},
		{"ConnectRefused by reason", func(m *Metrics) { m.ConnectRefused("tcp", packets.QuotaExceeded) }, "mqtt_connections_refused_total", []string{"listener", "tcp", "reason", "quota_exceeded"}, 1},
		{"bad credentials are auth failures", func(m *Metrics) { m.ConnectRefused("tcp", packets.BadUserNameOrPassword) }, "mqtt_auth_failures_total", []string{"listener", "tcp"}, 1},
		{"not authorized is an auth failure", func(m *Metrics) { m.ConnectRefused("tcp", packets.NotAuthorized) }, "mqtt_auth_failures_total", []string{"listener", "tcp"}, 1},
		{"quota is not an auth failure", func(m *Metrics) { m.ConnectRefused("tcp", packets.QuotaExceeded) }, "mqtt_auth_failures_total", []string{"listener", "tcp"}, 0},
		{"PacketReceived counts by type", func(m *Metrics) { m.PacketReceived("tcp", packets.PUBLISH, 10) }, "mqtt_packets_received_total", []string{"listener", "tcp", "type", "publish"}, 1},
		{"PacketReceived counts bytes", func(m *Metrics) { m.PacketReceived("tcp", packets.PUBLISH, 10) }, "mqtt_received_bytes_total", []string{"listener", "tcp"}, 10},
		{"PacketSent counts by type", func(m *Metrics) { m.PacketSent("tcp", packets.CONNACK, 4) }, "mqtt_packets_sent_total", []string{"listener", "tcp", "type", "connack"}, 1},
		{"PacketSent counts bytes", func(m *Metrics) { m.PacketSent("tcp", packets.CONNACK, 4) }, "mqtt_sent_bytes_total", []string{"listener", "tcp"}, 4},
		{"PacketDecoded observes", func(m *Metrics) { m.PacketDecoded(time.Microsecond) }, "mqtt_packet_parse_duration_seconds", nil, 1},
		{"ProtocolError by reason", func(m *Metrics) { m.ProtocolError("tcp", packets.MalformedPacket) }, "mqtt_protocol_errors_total", []string{"listener", "tcp", "reason", "malformed_packet"}, 1},
		{"MessagePublished counts", func(m *Metrics) { m.MessagePublished("tcp", 1) }, "mqtt_messages_published_total", []string{"listener", "tcp"}, 1},
		{"MessagePublished QoS 0", func(m *Metrics) { m.MessagePublished("tcp", 0) }, "mqtt_qos0_messages_total", []string{"listener", "tcp"}, 1},
		{"MessagePublished QoS 1", func(m *Metrics) { m.MessagePublished("tcp", 1) }, "mqtt_qos1_messages_total", []string{"listener", "tcp"}, 1},
		{"MessagePublished QoS 2", func(m *Metrics) { m.MessagePublished("local", 2) }, "mqtt_qos2_messages_total", []string{"listener", "local"}, 1},
		{"MessageRouted observes", func(m *Metrics) { m.MessageRouted(time.Microsecond) }, "mqtt_message_route_duration_seconds", nil, 1},
		{"MessageDelivered by QoS", func(m *Metrics) { m.MessageDelivered(2) }, "mqtt_messages_delivered_total", []string{"qos", "2"}, 1},
		{"MessageRetried QoS 1", func(m *Metrics) { m.MessageRetried(1) }, "mqtt_qos1_retries_total", nil, 1},
		{"MessageRetried QoS 2", func(m *Metrics) { m.MessageRetried(2) }, "mqtt_qos2_retries_total", nil, 1},
		{"MessageDropped by reason", func(m *Metrics) { m.MessageDropped(broker.DropQueueFull) }, "mqtt_messages_dropped_total", []string{"reason", "queue_full"}, 1},
		{"MessageDropped new reason", func(m *Metrics) { m.MessageDropped("future") }, "mqtt_messages_dropped_total", []string{"reason", "future"}, 1},
		{"Inflight from the broker's Stats", func(m *Metrics) { m.ObserveStats(func() broker.Stats { return broker.Stats{Inflight: 2, Queued: 5} }) }, "mqtt_messages_inflight", nil, 2},
		{"Queued from the broker's Stats", func(m *Metrics) { m.ObserveStats(func() broker.Stats { return broker.Stats{Inflight: 2, Queued: 5} }) }, "mqtt_messages_queued", nil, 5},
		{"Subscriptions current", func(m *Metrics) { m.Subscriptions(2); m.Subscriptions(-1) }, "mqtt_subscriptions_current", nil, 1},
		{"Subscriptions total counts positive deltas", func(m *Metrics) { m.Subscriptions(2); m.Subscriptions(-1) }, "mqtt_subscriptions_total", nil, 2},
		{"Sessions current", func(m *Metrics) { m.Sessions(1); m.Sessions(1); m.Sessions(-1) }, "mqtt_sessions_current", nil, 1},
		{"Sessions total", func(m *Metrics) { m.Sessions(1); m.Sessions(1); m.Sessions(-1) }, "mqtt_sessions_total", nil, 2},
		{"SessionExpired", func(m *Metrics) { m.SessionExpired() }, "mqtt_sessions_expired_total", nil, 1},
		{"Retained is a gauge", func(m *Metrics) { m.Retained(2); m.Retained(-1) }, "mqtt_messages_retained_total", nil, 1},
		{"StorageCall observes", func(m *Metrics) { m.StorageCall("append", time.Millisecond, nil) }, "mqtt_storage_call_duration_seconds", []string{"op", "append"}, 1},
		{"StorageCall counts errors", func(m *Metrics) { m.StorageCall("append", time.Millisecond, errors.New("disk")) }, "mqtt_storage_errors_total", []string{"op", "append"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			m := New()
			tt.call(m)
			if got := sample(t, m.Gatherer(), tt.name, tt.labels...); got != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
			}
		})
	}
}

// TestSeedNames: every metric name of the architecture document is
// exposed, from the start, with the type its name implies (the one
// exception, mqtt_messages_retained_total, is a gauge of what is held).
func TestSeedNames(t *testing.T) {
	m := New()
	// Series with a listener label exist once a listener is seen.
	m.ClientConnected("tcp")
	m.MessagePublished("tcp", 0)
	m.ClientDisconnected("tcp", time.Second)
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]dto.MetricType{}
	for _, f := range fams {
		types[f.GetName()] = f.GetType()
	}
	seed := map[string]dto.MetricType{
		"mqtt_connections_total":              dto.MetricType_COUNTER,
		"mqtt_connections_current":            dto.MetricType_GAUGE,
		"mqtt_connection_duration_seconds":    dto.MetricType_HISTOGRAM,
		"mqtt_messages_published_total":       dto.MetricType_COUNTER,
		"mqtt_messages_delivered_total":       dto.MetricType_COUNTER,
		"mqtt_messages_retained_total":        dto.MetricType_GAUGE,
		"mqtt_messages_inflight":              dto.MetricType_GAUGE,
		"mqtt_qos0_messages_total":            dto.MetricType_COUNTER,
		"mqtt_qos1_messages_total":            dto.MetricType_COUNTER,
		"mqtt_qos2_messages_total":            dto.MetricType_COUNTER,
		"mqtt_qos1_retries_total":             dto.MetricType_COUNTER,
		"mqtt_qos2_retries_total":             dto.MetricType_COUNTER,
		"mqtt_subscriptions_total":            dto.MetricType_COUNTER,
		"mqtt_subscriptions_current":          dto.MetricType_GAUGE,
		"mqtt_sessions_total":                 dto.MetricType_COUNTER,
		"mqtt_sessions_current":               dto.MetricType_GAUGE,
		"mqtt_sessions_expired_total":         dto.MetricType_COUNTER,
		"mqtt_packet_parse_duration_seconds":  dto.MetricType_HISTOGRAM,
		"mqtt_message_route_duration_seconds": dto.MetricType_HISTOGRAM,
	}
	var missing []string
	for name, typ := range seed {
		got, ok := types[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case got != typ:
			t.Errorf("%s is a %v, want %v", name, got, typ)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("not exposed: %s", strings.Join(missing, ", "))
	}
	for _, name := range []string{"go_goroutines", "process_open_fds"} {
		if _, ok := types[name]; !ok {
			t.Errorf("runtime/process metric %s not exposed", name)
		}
	}
}

// TestNewOnRegistersOnTheHostsRegistry: NewOn uses the registry given, and
// refuses a second registration of the same names.
func TestNewOnRegistersOnTheHostsRegistry(t *testing.T) {
	reg := prom.NewRegistry()
	m, err := NewOn(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.ClientConnected("tcp")
	if got := testutil.ToFloat64(m.connections.WithLabelValues("tcp")); got != 1 {
		t.Errorf("connections = %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(reg, "mqtt_connections_total"); err != nil || n != 1 {
		t.Errorf("host registry has %d mqtt_connections_total series (%v), want 1", n, err)
	}
	if n, _ := testutil.GatherAndCount(reg, "go_goroutines"); n != 0 {
		t.Error("NewOn registered the runtime collector on the host's registry")
	}
	if _, err := NewOn(reg); err == nil {
		t.Error("second NewOn on the same registry: no error")
	}
}

// TestListenersAreSeparateSeries: each listener name is a series of its
// own, created on first use and reused after, with few listeners (looked
// up by a scan) and many (by a map).
func TestListenersAreSeparateSeries(t *testing.T) {
	const n = scanMax + 4
	m := New()
	for i := range n {
		for j := 0; j <= i; j++ {
			name := fmt.Sprintf("l%d", i)
			m.ClientConnected(name)
			m.MessagePublished(name, 1)
		}
	}
	for i := range n {
		name := fmt.Sprintf("l%d", i)
		if got := testutil.ToFloat64(m.connections.WithLabelValues(name)); got != float64(i+1) {
			t.Errorf("%s: %v connections, want %d", name, got, i+1)
		}
		if got := sample(t, m.Gatherer(), "mqtt_qos1_messages_total", "listener", name); got != float64(i+1) {
			t.Errorf("%s: %v QoS 1 messages, want %d", name, got, i+1)
		}
	}
}

// TestShardsAddUp: counts made from many goroutines at once (each on the
// shard of its stack) are all in the exposed sum.
func TestShardsAddUp(t *testing.T) {
	m := New()
	const goroutines, each = 50, 1000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				m.PacketReceived("tcp", packets.PUBLISH, 3)
				m.MessageDelivered(0)
			}
		})
	}
	wg.Wait()
	g := m.Gatherer()
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mqtt_packets_received_total", []string{"listener", "tcp", "type", "publish"}, goroutines * each},
		{"mqtt_received_bytes_total", []string{"listener", "tcp"}, 3 * goroutines * each},
		{"mqtt_messages_delivered_total", []string{"qos", "0"}, goroutines * each},
	} {
		if got := sample(t, g, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}
