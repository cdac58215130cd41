package broker

import (
	"sync/atomic"
	"time"
)

// counters are the broker's running counters; (*Broker).Stats copies them.
type counters struct {
	ConnectionsTotal   atomic.Int64 // connections accepted since start
	Connected          atomic.Int64 // clients connected now
	MaxConnected       atomic.Int64 // most clients connected at once
	MessagesReceived   atomic.Int64 // PUBLISH packets received (and in-process publishes)
	MessagesDelivered  atomic.Int64 // PUBLISH packets sent to clients and callbacks
	MessagesDropped    atomic.Int64 // deliveries dropped (queue full, expired, too large)
	BytesReceived      atomic.Int64
	BytesSent          atomic.Int64
	ProtocolViolations atomic.Int64 // connections closed for malformed or invalid packets
	authzErrors        atomic.Int64 // authorization decisions that failed (Failed)
}

// Stats is a copy of the broker's counters at one moment.
type Stats struct {
	Uptime                                       time.Duration
	ConnectionsTotal, Connected, MaxConnected    int64
	MessagesReceived, MessagesDelivered, Dropped int64
	BytesReceived, BytesSent                     int64
	ProtocolViolations                           int64
	Sessions, Subscriptions, Retained            int
}

// Stats returns a snapshot of the broker's counters.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	nsess := len(b.sessions)
	b.mu.Unlock()
	return Stats{
		Uptime:             time.Since(b.startAt),
		ConnectionsTotal:   b.stats.ConnectionsTotal.Load(),
		Connected:          b.stats.Connected.Load(),
		MaxConnected:       b.stats.MaxConnected.Load(),
		MessagesReceived:   b.stats.MessagesReceived.Load(),
		MessagesDelivered:  b.stats.MessagesDelivered.Load(),
		Dropped:            b.stats.MessagesDropped.Load(),
		BytesReceived:      b.stats.BytesReceived.Load(),
		BytesSent:          b.stats.BytesSent.Load(),
		ProtocolViolations: b.stats.ProtocolViolations.Load(),
		Sessions:           nsess,
		Subscriptions:      b.subs.Count(),
		Retained:           b.retained.Len(),
	}
}
