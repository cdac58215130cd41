package jwt

import (
	"sync"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// Expirer disconnects clients when their token expires. Register it as a
// broker hook (broker.WithHooks): OnConnect arms a timer for each client
// whose Token has an expiry, OnDisconnect disarms it, and at expiry it
// calls disconnect(clientID, packets.NotAuthorized) — the broker's
// "disconnect this client" (v5 clients get DISCONNECT 0x87).
//
// A client whose token has already expired when it connects is refused.
type Expirer struct {
	disconnect func(clientID string, code packets.ReasonCode)
	now        func() time.Time

	mu     sync.Mutex
	timers map[*Token]*time.Timer
	closed bool
}

var (
	_ broker.ConnectHook    = (*Expirer)(nil)
	_ broker.DisconnectHook = (*Expirer)(nil)
)

// NewExpirer returns an Expirer that ends connections with disconnect.
func NewExpirer(disconnect func(clientID string, code packets.ReasonCode)) *Expirer {
	return &Expirer{disconnect: disconnect, now: time.Now, timers: make(map[*Token]*time.Timer)}
}

// OnConnect arms the timer of a client with an expiring token.
func (e *Expirer) OnConnect(c *broker.ClientInfo) error {
	tok := TokenOf(c)
	if tok == nil || tok.Expires.IsZero() {
		return nil
	}
	left := tok.Expires.Sub(e.now())
	if left <= 0 {
		return packets.NotAuthorized
	}
	id := c.ID
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	if old := e.timers[tok]; old != nil {
		old.Stop()
	}
	e.timers[tok] = time.AfterFunc(left, func() {
		e.mu.Lock()
		_, armed := e.timers[tok]
		delete(e.timers, tok)
		e.mu.Unlock()
		if armed {
			e.disconnect(id, packets.NotAuthorized)
		}
	})
	return nil
}

// OnDisconnect disarms the client's timer.
func (e *Expirer) OnDisconnect(c *broker.ClientInfo, _ error) {
	tok := TokenOf(c)
	if tok == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if t := e.timers[tok]; t != nil {
		t.Stop()
		delete(e.timers, tok)
	}
}

// Armed returns the number of connections waiting for their token to
// expire.
func (e *Expirer) Armed() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.timers)
}

// Close disarms every timer; no disconnect is called after it returns,
// except one already running.
func (e *Expirer) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for tok, t := range e.timers {
		t.Stop()
		delete(e.timers, tok)
	}
}
