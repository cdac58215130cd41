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
	pendingRefused     atomic.Int64 // connections closed at once: too many had not sent CONNECT
	slots              atomic.Int64 // connections holding a MaxConnections slot
	parked             atomic.Int64 // connections waiting in the poller, without a goroutine
	heldBytes          atomic.Int64 // queued and in-flight bytes, as last summed (budget.go)
}

// Stats is a copy of the broker's counters at one moment.
type Stats struct {
	Uptime                                       time.Duration
	ConnectionsTotal, Connected, MaxConnected    int64
	MessagesReceived, MessagesDelivered, Dropped int64
	BytesReceived, BytesSent                     int64
	ProtocolViolations                           int64
	AuthorizationErrors                          int64 // decisions that could not be made (Failed)
	Pending                                      int   // connections that have not sent CONNECT yet
	Parked                                       int64 // idle connections waiting without a goroutine (Linux, plain TCP and Unix sockets)
	PendingRefused                               int64 // connections closed at once: Limits.MaxPendingConnections had not sent CONNECT
	Sessions, Subscriptions, Retained            int
	Inflight, Queued                             int   // deliveries sent and unacknowledged; waiting in session queues
	HeldBytes                                    int64 // bytes queued and in flight, as last summed for the memory budget
	Shedding                                     bool  // above Limits.MaxQueuedBytesTotal: shedding load
}

// Stats returns a snapshot of the broker's counters. It visits every
// session for Inflight and Queued: cheap enough for a scrape every few
// seconds, not for every message.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	nsess, npending := len(b.sessions), len(b.pending)
	all := make([]*session, 0, nsess)
	for _, s := range b.sessions {
		all = append(all, s)
	}
	b.mu.Unlock()
	inflight, queued := 0, 0
	for _, s := range all {
		s.mu.Lock()
		inflight += s.inflight.Len()
		queued += s.queue.Len()
		s.mu.Unlock()
	}
	return Stats{
		Uptime:              time.Since(b.startAt),
		ConnectionsTotal:    b.stats.ConnectionsTotal.Load(),
		Connected:           b.stats.Connected.Load(),
		MaxConnected:        b.stats.MaxConnected.Load(),
		MessagesReceived:    b.stats.MessagesReceived.Load(),
		MessagesDelivered:   b.stats.MessagesDelivered.Load(),
		Dropped:             b.stats.MessagesDropped.Load(),
		BytesReceived:       b.stats.BytesReceived.Load(),
		BytesSent:           b.stats.BytesSent.Load(),
		ProtocolViolations:  b.stats.ProtocolViolations.Load(),
		AuthorizationErrors: b.stats.authzErrors.Load(),
		Pending:             npending,
		PendingRefused:      b.stats.pendingRefused.Load(),
		Inflight:            inflight,
		HeldBytes:           b.stats.heldBytes.Load(),
		Shedding:            b.overBudget.Load(),
		Parked:              b.stats.parked.Load(),
		Queued:              queued,
		Sessions:            nsess,
		Subscriptions:       b.subs.Count(),
		Retained:            b.retained.Len(),
	}
}
