// Package prometheus exports the broker's metric events (broker.Metrics)
// as Prometheus metrics, under the names of the architecture document
// (mqtt_connections_total, mqtt_messages_published_total, ...) plus what an
// operator needs beyond them: dropped messages by reason, bytes and packets
// in and out, storage latency and errors, refused connections and
// authentication failures, and the Go runtime and process collectors.
//
//	m := prometheus.New()
//	b, err := broker.New(broker.WithMetrics(m), ...)
//	http.Handle("/metrics", m.Handler())
//
// New registers on a registry of its own (etcd's client registers on
// Prometheus's default registry; a broker embedded beside it must not
// collide with it); NewOn registers on a registry the host supplies.
//
// # Cost
//
// The methods run on the broker's hot paths. Every labelled child is
// resolved once and cached: per listener in a copy-on-write snapshot read
// without a lock, per reason code in arrays of atomic pointers. The
// per-message series (messages published and delivered, packets and bytes
// in and out, deliveries in flight and queued) are sharded counters of
// our own (shards.go): a goroutine adds to cache lines that no other
// goroutine writes, and a scrape adds the shards up, so the cores do not
// fight over one counter on every message. An event is then a short scan
// and an uncontended atomic add, with no allocation
// (BenchmarkMetricsHotPath, TestMetricsHotPathAllocatesNothing).
//
// # Labels
//
// Metrics of events that carry a listener name have a "listener" label
// (the name given in mqttd's configuration; "local" for the host's
// in-process publishes). Histograms of per-packet timings
// (mqtt_packet_parse_duration_seconds, mqtt_message_route_duration_seconds)
// are fed one event in 64 by the broker: their _count is a sample, not a
// total.
package prometheus
