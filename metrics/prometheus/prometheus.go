package prometheus

import (
	"net/http"
	"sync/atomic"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// Metrics implements broker.Metrics with Prometheus collectors. Create it
// with New or NewOn; it is safe for concurrent use.
type Metrics struct {
	broker.NoMetrics // events added to broker.Metrics later do nothing here

	gatherer prom.Gatherer
	stats    atomic.Pointer[func() broker.Stats] // set by the broker (ObserveStats)

	// Vectors whose children are cached in listeners, drops and storage.
	connections, authFailures, refused, protoErrors *prom.CounterVec
	connected                                       *prom.GaugeVec
	duration                                        *prom.HistogramVec
	dropped, storageErrors                          *prom.CounterVec
	storageDuration                                 *prom.HistogramVec

	// Per-message counters, sharded (shards.go).
	hot    *hotDescs
	global [nShards]globalShard

	listeners cowMap[*listenerMetrics]
	drops     cowMap[prom.Counter]
	storage   cowMap[*storageMetrics]

	retries                           [3]prom.Counter // [1] and [2]; [0] unused
	subsNow, sessNow, retained        prom.Gauge
	subsTotal, sessTotal, sessExpired prom.Counter
	parseDuration, routeDuration      prom.Histogram
}

// listenerMetrics are the series of one listener's label value.
type listenerMetrics struct {
	name                 string
	connections          prom.Counter
	connected            prom.Gauge
	duration             prom.Observer
	authFailures         prom.Counter
	refused, protoErrors [256]counterSlot // by reason code
	shards               [nShards]listenerShard
}

// storageMetrics are the children of one storage operation.
type storageMetrics struct {
	duration prom.Observer
	errors   prom.Counter
}

// Histogram buckets, in seconds.
var (
	// A connection lives from a second to weeks.
	connectionBuckets = []float64{1, 10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600}
	// Decoding one packet: a microsecond to tens of milliseconds.
	parseBuckets = prom.ExponentialBuckets(1e-6, 4, 9)
	// Routing one message to its subscribers: up to a quarter second.
	routeBuckets = prom.ExponentialBuckets(1e-6, 4, 10)
	// A storage call: 50 µs (memory, bolt without fsync) to seconds (etcd
	// under load, bolt fsync on a slow disk).
	storageBuckets = prom.ExponentialBuckets(50e-6, 4, 9)
)

// New returns Metrics registered on a registry of their own, together with
// the Go runtime and process collectors; Handler serves it.
func New() *Metrics {
	reg := prom.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := NewOn(reg)
	if err != nil {
		panic(err) // a new registry holds nothing that could collide
	}
	m.gatherer = reg
	return m
}

// NewOn returns Metrics registered on reg, without the runtime and process
// collectors (a host with a registry of its own registers those itself).
// It fails if reg already holds metrics of the same names. Handler serves
// reg when it is also a prom.Gatherer.
func NewOn(reg prom.Registerer) (*Metrics, error) {
	m := &Metrics{}
	if g, ok := reg.(prom.Gatherer); ok {
		m.gatherer = g
	}
	counterVec := func(name, help string, labels ...string) *prom.CounterVec {
		return prom.NewCounterVec(prom.CounterOpts{Name: name, Help: help}, labels)
	}
	counter := func(name, help string) prom.Counter {
		return prom.NewCounter(prom.CounterOpts{Name: name, Help: help})
	}
	gauge := func(name, help string) prom.Gauge {
		return prom.NewGauge(prom.GaugeOpts{Name: name, Help: help})
	}

	// Connections.
	m.connections = counterVec("mqtt_connections_total", "Client connections accepted (CONNACK success) since start.", "listener")
	m.connected = prom.NewGaugeVec(prom.GaugeOpts{Name: "mqtt_connections_current", Help: "Clients connected now."}, []string{"listener"})
	m.duration = prom.NewHistogramVec(prom.HistogramOpts{
		Name:    "mqtt_connection_duration_seconds",
		Help:    "How long connections stayed connected, observed when they end.",
		Buckets: connectionBuckets,
	}, []string{"listener"})
	m.refused = counterVec("mqtt_connections_refused_total", "CONNECTs (and in-process clients) refused, by reason code.", "listener", "reason")
	m.authFailures = counterVec("mqtt_auth_failures_total", "CONNECTs refused for bad credentials or as not authorized (reason codes 0x86 and 0x87).", "listener")
	m.protoErrors = counterVec("mqtt_protocol_errors_total", "Connections closed for a malformed or invalid packet, by reason code.", "listener", "reason")

	// Messages (the per-message series, bytes and packets are in shards.go).
	m.hot = newHotDescs()
	m.retained = gauge("mqtt_messages_retained_total", "Retained messages held (a gauge: the name is the architecture document's).")
	m.dropped = counterVec("mqtt_messages_dropped_total", "Deliveries dropped, by reason (queue_full, expired, too_large, offline_qos0).", "reason")
	m.retries[1] = counter("mqtt_qos1_retries_total", "QoS 1 deliveries sent again with DUP set.")
	m.retries[2] = counter("mqtt_qos2_retries_total", "QoS 2 deliveries sent again with DUP set.")

	// Subscriptions and sessions.
	m.subsTotal = counter("mqtt_subscriptions_total", "Subscriptions made (and restored from storage) since start.")
	m.subsNow = gauge("mqtt_subscriptions_current", "Subscriptions held now.")
	m.sessTotal = counter("mqtt_sessions_total", "Sessions created (and restored from storage) since start.")
	m.sessNow = gauge("mqtt_sessions_current", "Sessions held now, connected or not.")
	m.sessExpired = counter("mqtt_sessions_expired_total", "Sessions removed because their expiry interval passed.")

	// Performance.
	m.parseDuration = prom.NewHistogram(prom.HistogramOpts{
		Name:    "mqtt_packet_parse_duration_seconds",
		Help:    "Time to decode one packet; the broker samples one packet in 64.",
		Buckets: parseBuckets,
	})
	m.routeDuration = prom.NewHistogram(prom.HistogramOpts{
		Name:    "mqtt_message_route_duration_seconds",
		Help:    "Time to match one message and hand it to its subscribers; the broker samples one message in 64.",
		Buckets: routeBuckets,
	})

	// Storage.
	m.storageDuration = prom.NewHistogramVec(prom.HistogramOpts{
		Name:    "mqtt_storage_call_duration_seconds",
		Help:    "Duration of calls to the storage backend, by operation.",
		Buckets: storageBuckets,
	}, []string{"op"})
	m.storageErrors = counterVec("mqtt_storage_errors_total", "Calls to the storage backend that failed, by operation.", "op")

	for _, c := range []prom.Collector{
		m.connections, m.connected, m.duration, m.refused, m.authFailures, m.protoErrors,
		hotCollector{m}, m.retained, m.dropped, m.retries[1], m.retries[2],
		m.subsTotal, m.subsNow, m.sessTotal, m.sessNow, m.sessExpired,
		m.parseDuration, m.routeDuration,
		m.storageDuration, m.storageErrors,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}

	m.listeners.make = m.newListener
	m.drops.make = func(reason string) prom.Counter { return m.dropped.WithLabelValues(reason) }
	m.storage.make = func(op string) *storageMetrics {
		return &storageMetrics{duration: m.storageDuration.WithLabelValues(op), errors: m.storageErrors.WithLabelValues(op)}
	}
	// The drop reasons the broker knows appear at 0 from the start.
	for _, r := range []broker.DropReason{broker.DropQueueFull, broker.DropExpired, broker.DropTooLarge, broker.DropOfflineQoS0} {
		m.drops.get(string(r))
	}
	return m, nil
}

var qosLabels = [3]string{"0", "1", "2"}

func (m *Metrics) newListener(name string) *listenerMetrics {
	return &listenerMetrics{
		name:         name,
		connections:  m.connections.WithLabelValues(name),
		connected:    m.connected.WithLabelValues(name),
		duration:     m.duration.WithLabelValues(name),
		authFailures: m.authFailures.WithLabelValues(name),
	}
}

// Handler serves the registry in the Prometheus exposition format (nil
// when the registry given to NewOn cannot be gathered).
func (m *Metrics) Handler() http.Handler {
	if m.gatherer == nil {
		return nil
	}
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}

// Gatherer returns the registry the metrics are registered on, for tests
// and for hosts that serve it themselves (nil as for Handler).
func (m *Metrics) Gatherer() prom.Gatherer { return m.gatherer }

// ClientConnected counts a connection accepted on listener.
func (m *Metrics) ClientConnected(listener string) {
	l := m.listeners.get(listener)
	l.connections.Inc()
	l.connected.Inc()
}

// ClientDisconnected records how long a connection on listener lasted.
func (m *Metrics) ClientDisconnected(listener string, d time.Duration) {
	l := m.listeners.get(listener)
	l.connected.Dec()
	l.duration.Observe(d.Seconds())
}

// ConnectRefused counts a refused CONNECT by reason code; bad credentials
// and not authorized also count as authentication failures.
func (m *Metrics) ConnectRefused(listener string, code packets.ReasonCode) {
	l := m.listeners.get(listener)
	l.refused[code].get(m.refused, l.name, code).Inc()
	if code == packets.BadUserNameOrPassword || code == packets.NotAuthorized {
		l.authFailures.Inc()
	}
}

// PacketReceived counts one packet of type t and its bytes.
func (m *Metrics) PacketReceived(listener string, t packets.Type, bytes int) {
	s := &m.listeners.get(listener).shards[shard()]
	s.packetsIn[t&15].Add(1)
	s.bytesIn.Add(uint64(bytes))
}

// PacketSent counts one packet of type t and its bytes.
func (m *Metrics) PacketSent(listener string, t packets.Type, bytes int) {
	s := &m.listeners.get(listener).shards[shard()]
	s.packetsOut[t&15].Add(1)
	s.bytesOut.Add(uint64(bytes))
}

// PacketDecoded observes the decoding time of a sampled packet.
func (m *Metrics) PacketDecoded(d time.Duration) { m.parseDuration.Observe(d.Seconds()) }

// ProtocolError counts a connection closed for an invalid packet.
func (m *Metrics) ProtocolError(listener string, code packets.ReasonCode) {
	l := m.listeners.get(listener)
	l.protoErrors[code].get(m.protoErrors, l.name, code).Inc()
}

// MessagePublished counts a message accepted for routing at qos.
func (m *Metrics) MessagePublished(listener string, qos byte) {
	s := &m.listeners.get(listener).shards[shard()]
	s.published.Add(1)
	if qos < 3 {
		s.qos[qos].Add(1)
	}
}

// MessageRouted observes the routing time of a sampled message.
func (m *Metrics) MessageRouted(d time.Duration) { m.routeDuration.Observe(d.Seconds()) }

// MessageDelivered counts a completed delivery at qos.
func (m *Metrics) MessageDelivered(qos byte) {
	if qos < 3 {
		m.global[shard()].delivered[qos].Add(1)
	}
}

// MessageRetried counts a QoS 1 or 2 delivery sent again.
func (m *Metrics) MessageRetried(qos byte) {
	if qos == 1 || qos == 2 {
		m.retries[qos].Inc()
	}
}

// MessageDropped counts a dropped delivery by reason.
func (m *Metrics) MessageDropped(reason broker.DropReason) { m.drops.get(string(reason)).Inc() }

// ObserveStats keeps the broker's Stats method (broker.StatsObserver):
// mqtt_messages_inflight and mqtt_messages_queued are read from it at
// each scrape.
func (m *Metrics) ObserveStats(stats func() broker.Stats) { m.stats.Store(&stats) }

// Subscriptions moves the gauge of subscriptions; a positive delta also
// counts in mqtt_subscriptions_total.
func (m *Metrics) Subscriptions(delta int) {
	m.subsNow.Add(float64(delta))
	if delta > 0 {
		m.subsTotal.Add(float64(delta))
	}
}

// Sessions moves the gauge of sessions; a positive delta also counts in
// mqtt_sessions_total.
func (m *Metrics) Sessions(delta int) {
	m.sessNow.Add(float64(delta))
	if delta > 0 {
		m.sessTotal.Add(float64(delta))
	}
}

// SessionExpired counts a session removed at its expiry.
func (m *Metrics) SessionExpired() { m.sessExpired.Inc() }

// Retained moves the gauge of retained messages.
func (m *Metrics) Retained(delta int) { m.retained.Add(float64(delta)) }

// StorageCall observes a storage call's duration and counts its failure.
func (m *Metrics) StorageCall(op string, d time.Duration, err error) {
	s := m.storage.get(op)
	s.duration.Observe(d.Seconds())
	if err != nil {
		s.errors.Inc()
	}
}

var _ broker.Metrics = (*Metrics)(nil)
