package prometheus

import (
	"github.com/ternmq/broker"
	"strings"
	"sync/atomic"
	"unsafe"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/ternmq/broker/packets"
)

// The per-message events (a PUBLISH received, routed, sent, delivered)
// come from every connection's goroutines at once. One shared counter per
// series would have both cores fight over its cache line on every message:
// in fan-in QoS 0 that cost a third of the broker's throughput. These
// counters are split in shards instead, each on cache lines of its own; a
// goroutine adds to the shard its stack address hashes to, so it keeps
// writing lines no other goroutine writes, and a scrape adds the shards
// up.

const (
	shardBits = 5
	nShards   = 1 << shardBits
)

// shard returns the shard of the calling goroutine: a hash of where its
// stack is. Stable while the goroutine runs (until its stack moves), and
// different goroutines rarely share one.
func shard() int {
	var marker byte
	sp := uintptr(unsafe.Pointer(&marker))
	return int(uint64(sp>>10) * 0x9E3779B97F4A7C15 >> (64 - shardBits))
}

// listenerShard is one shard of a listener's per-message counters.
type listenerShard struct {
	published             atomic.Uint64
	qos                   [3]atomic.Uint64
	bytesIn, bytesOut     atomic.Uint64
	packetsIn, packetsOut [16]atomic.Uint64 // by packets.Type
	_                     [16]byte          // to 320 bytes: five cache lines
}

// globalShard is one shard of the per-message counters without a
// listener: deliveries by QoS.
type globalShard struct {
	delivered [3]atomic.Uint64
	_         [40]byte // to 64 bytes: one cache line
}

// hotDescs describe the sharded series.
type hotDescs struct {
	published, bytesIn, bytesOut, packetsIn, packetsOut *prom.Desc
	qos                                                 [3]*prom.Desc
	delivered, inflight, queued                         *prom.Desc
}

func newHotDescs() *hotDescs {
	l := []string{"listener"}
	h := &hotDescs{
		published:  prom.NewDesc("mqtt_messages_published_total", "PUBLISH packets (and in-process publishes, listener \"local\") accepted for routing.", l, nil),
		bytesIn:    prom.NewDesc("mqtt_received_bytes_total", "Bytes of control packets received.", l, nil),
		bytesOut:   prom.NewDesc("mqtt_sent_bytes_total", "Bytes of control packets sent.", l, nil),
		packetsIn:  prom.NewDesc("mqtt_packets_received_total", "Control packets received, by type.", []string{"listener", "type"}, nil),
		packetsOut: prom.NewDesc("mqtt_packets_sent_total", "Control packets sent, by type.", []string{"listener", "type"}, nil),
		delivered:  prom.NewDesc("mqtt_messages_delivered_total", "Deliveries completed: QoS 0 written to the client, QoS 1 and 2 acknowledged by it (or handed to an in-process subscriber).", []string{"qos"}, nil),
		inflight:   prom.NewDesc("mqtt_messages_inflight", "QoS 1 and 2 deliveries sent and not yet acknowledged.", nil, nil),
		queued:     prom.NewDesc("mqtt_messages_queued", "Deliveries waiting in session queues.", nil, nil),
	}
	for q, name := range []string{"mqtt_qos0_messages_total", "mqtt_qos1_messages_total", "mqtt_qos2_messages_total"} {
		h.qos[q] = prom.NewDesc(name, "Messages published at QoS "+qosLabels[q]+".", l, nil)
	}
	return h
}

// hotCollector exports the sharded counters of m.
type hotCollector struct{ m *Metrics }

// Describe sends the descriptors of the sharded series.
func (c hotCollector) Describe(ch chan<- *prom.Desc) {
	d := c.m.hot
	for _, desc := range []*prom.Desc{d.published, d.bytesIn, d.bytesOut, d.packetsIn, d.packetsOut, d.qos[0], d.qos[1], d.qos[2], d.delivered, d.inflight, d.queued} {
		ch <- desc
	}
}

// Collect sums the shards of every listener and of the global counters.
func (c hotCollector) Collect(ch chan<- prom.Metric) {
	m, d := c.m, c.m.hot
	counter := func(desc *prom.Desc, v uint64, labels ...string) {
		ch <- prom.MustNewConstMetric(desc, prom.CounterValue, float64(v), labels...)
	}
	m.listeners.each(func(name string, l *listenerMetrics) {
		var sum listenerTotals
		for i := range l.shards {
			sum.add(&l.shards[i])
		}
		counter(d.published, sum.published, name)
		counter(d.bytesIn, sum.bytesIn, name)
		counter(d.bytesOut, sum.bytesOut, name)
		for q := range sum.qos {
			counter(d.qos[q], sum.qos[q], name)
		}
		for t := range sum.packetsIn {
			if sum.packetsIn[t] > 0 {
				counter(d.packetsIn, sum.packetsIn[t], name, typeLabel(packets.Type(t)))
			}
			if sum.packetsOut[t] > 0 {
				counter(d.packetsOut, sum.packetsOut[t], name, typeLabel(packets.Type(t)))
			}
		}
	})
	var delivered [3]uint64
	for i := range m.global {
		g := &m.global[i]
		for q := range delivered {
			delivered[q] += g.delivered[q].Load()
		}
	}
	for q := range delivered {
		counter(d.delivered, delivered[q], qosLabels[q])
	}
	// In flight and queued are the broker's own snapshot (ObserveStats):
	// a scrape every few seconds visits the sessions, no message pays.
	var st broker.Stats
	if stats := m.stats.Load(); stats != nil {
		st = (*stats)()
	}
	ch <- prom.MustNewConstMetric(d.inflight, prom.GaugeValue, float64(st.Inflight))
	ch <- prom.MustNewConstMetric(d.queued, prom.GaugeValue, float64(st.Queued))
}

// listenerTotals is a listener's shards added up.
type listenerTotals struct {
	published             uint64
	qos                   [3]uint64
	bytesIn, bytesOut     uint64
	packetsIn, packetsOut [16]uint64
}

func (t *listenerTotals) add(s *listenerShard) {
	t.published += s.published.Load()
	for q := range t.qos {
		t.qos[q] += s.qos[q].Load()
	}
	t.bytesIn += s.bytesIn.Load()
	t.bytesOut += s.bytesOut.Load()
	for i := range t.packetsIn {
		t.packetsIn[i] += s.packetsIn[i].Load()
		t.packetsOut[i] += s.packetsOut[i].Load()
	}
}

// typeLabel is the label value of a packet type: its name in lower case.
func typeLabel(t packets.Type) string { return strings.ToLower(t.String()) }
