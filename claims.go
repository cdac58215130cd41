package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
)

// Takeover across brokers. With a store shared by several brokers that
// implements storage.Claimer (etcd), a broker claims each client id it
// accepts, and watches the claims of the others: when another broker
// claims a client this one serves, its connection is closed with
// DISCONNECT 0x8E [MQTT-3.1.4-3] and the local copy of the session is
// dropped (its state stays in storage, where the new broker loaded it).

// newBrokerID names this broker instance in claims.
func newBrokerID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// startClaims watches other brokers' claims until Shutdown.
func (b *Broker) startClaims() {
	cl, ok := b.store.(storage.Claimer)
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.claimStop = cancel
	b.wg.Go(func() {
		for ctx.Err() == nil {
			err := cl.WatchClaims(ctx, b.id, b.release)
			if ctx.Err() != nil {
				return
			}
			b.log.Warn("watching client claims; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
}

// claim records that this broker serves clientID.
func (b *Broker) claim(clientID string) {
	cl, ok := b.store.(storage.Claimer)
	if !ok {
		return
	}
	ctx, cancel := b.storeCtx()
	defer cancel()
	if err := cl.Claim(ctx, clientID, b.id); err != nil {
		b.log.Error("claiming client", "client", clientID, "err", err)
	}
}

// release gives up a client that another broker claimed.
func (b *Broker) release(clientID string) {
	b.mu.Lock()
	s := b.sessions[clientID]
	b.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		c.movedAway.Store(true) // the new broker owns the stored state now
		c.disconnect(packets.SessionTakenOver)
		c.done.Wait()
	}
	b.mu.Lock()
	s.mu.Lock()
	if b.sessions[clientID] == s && s.conn == nil && !s.ended {
		b.dropSessionLocked(s)
	}
	s.mu.Unlock()
	b.mu.Unlock()
}

// dropSessionLocked forgets a disconnected session here without touching
// its stored state (another broker holds it now): no will, no expiry, no
// subscriptions. Called with b.mu and s.mu held.
func (b *Broker) dropSessionLocked(s *session) {
	if s.willTimer != nil {
		s.willTimer.Stop()
	}
	s.will = nil
	s.endLocked()
	delete(b.sessions, s.id)
	b.metrics.Sessions(-1)
}
