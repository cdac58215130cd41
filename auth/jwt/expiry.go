package jwt

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// Disconnector is what an Expirer needs of the broker: *broker.Broker
// implements it (its admin API).
type Disconnector interface {
	Session(clientID string) (broker.SessionStatus, bool)
	Disconnect(clientID string, code packets.ReasonCode, serverRef string) error
}

// Expirer disconnects clients when their token expires. Register it as a
// broker hook (broker.WithHooks) and, once the broker exists, Attach it:
// OnConnect arms a timer for each client whose Token has an expiry,
// OnDisconnect disarms it, and at expiry the connection is closed with
// Not authorized (an MQTT 5 client gets DISCONNECT 0x87 first; a 3.1.1
// client is closed). If the client id has meanwhile been taken over by a
// connection with another token, that connection is left alone.
//
// A client whose token has already expired when it connects is refused.
// Before Attach, or with no broker to attach to, an expired connection
// stays open but the Authenticator refuses its publishes and deliveries.
type Expirer struct {
	d   atomic.Pointer[Disconnector]
	now func() time.Time
	log *slog.Logger

	mu     sync.Mutex
	timers map[*Token]*time.Timer
	closed bool
	wg     sync.WaitGroup // disconnects in progress
}

var (
	_ broker.ConnectHook    = (*Expirer)(nil)
	_ broker.DisconnectHook = (*Expirer)(nil)
)

// NewExpirer returns an Expirer; log (nil: slog.Default()) gets a line per
// connection ended.
func NewExpirer(log *slog.Logger) *Expirer {
	if log == nil {
		log = slog.Default()
	}
	return &Expirer{now: time.Now, log: log, timers: make(map[*Token]*time.Timer)}
}

// Attach gives the Expirer the broker whose clients it disconnects.
func (e *Expirer) Attach(d Disconnector) { e.d.Store(&d) }

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
	e.timers[tok] = time.AfterFunc(left, func() { e.expire(id, tok) })
	return nil
}

// expire ends the connection of id if it still holds tok.
func (e *Expirer) expire(id string, tok *Token) {
	e.mu.Lock()
	_, armed := e.timers[tok]
	delete(e.timers, tok)
	if !armed || e.closed {
		e.mu.Unlock()
		return
	}
	e.wg.Add(1)
	e.mu.Unlock()
	defer e.wg.Done()
	dp := e.d.Load()
	if dp == nil {
		return
	}
	d := *dp
	st, ok := d.Session(id)
	if !ok || !st.Connected || TokenOf(&st.Client.ClientInfo) != tok {
		return
	}
	err := d.Disconnect(id, packets.NotAuthorized, "")
	switch {
	case err == nil:
		e.log.Info("jwt: token expired, client disconnected", "client", id, "username", tok.Subject)
	case !errors.Is(err, broker.ErrNoSuchClient):
		e.log.Warn("jwt: token expired, disconnecting the client failed", "client", id, "err", err)
	}
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

// Close disarms every timer and waits for disconnects in progress.
func (e *Expirer) Close() {
	e.mu.Lock()
	e.closed = true
	for tok, t := range e.timers {
		t.Stop()
		delete(e.timers, tok)
	}
	e.mu.Unlock()
	e.wg.Wait()
}
