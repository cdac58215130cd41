package broker

import (
	"errors"
	"fmt"

	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
)

// Deliveries are handled per read batch. While a connection's reader
// handles the PUBLISH packets of one read, their deliveries are collected
// in c.pending and their acknowledgements in c.pendingAcks. When the read
// buffer is drained (or every flushEvery packets, or at maxPending),
// flushPending stores the durable ones (QoS>0 to a persistent session) in
// one commit (storage.QueueBatcher), queues every delivery in order, one
// lock per run of one subscriber, wakes each subscriber's writer once,
// waits for the PublishHooks' AcceptLater, then sends the acknowledgements
// in order [MQTT-4.6.0-2]: a PUBACK or PUBREC still goes out only once the
// message is stored for every persistent subscriber.

// maxPending bounds the deliveries deferred by one connection.
const maxPending = 1024

// pendingAck is a deferred acknowledgement of one PUBLISH.
type pendingAck struct {
	qos    byte
	id     uint16
	code   packets.ReasonCode
	failed bool         // a delivery of this message could not be stored
	wait   func() error // a PublishHook's AcceptLater: called before acknowledging
}

// deferTargets defers the deliveries of a PUBLISH read from c to
// flushPending, which runs when the read batch is handled (or every
// flushEvery packets): the durable ones are stored in one commit, and
// every subscriber's deliveries are queued before its writer is woken,
// once, so that it writes the batch's messages in one system call. One
// by one, a fan-out woke each subscriber's writer for every message (a
// write per delivery), and ten publishers of a fan-in contended for the
// subscriber's lock with its writer for every message.
func (c *conn) deferTargets(tg []target) {
	for _, t := range tg {
		t.ack = len(c.pendingAcks)
		c.pending = append(c.pending, t)
	}
}

// wakeLater notes that s got deliveries whose writer flushPending wakes
// at its end. Runs of one session and the last few sessions are noted
// once; a wider fan-out may note one twice, which costs a second look.
func (c *conn) wakeLater(s *session) {
	for i := len(c.wakes) - 1; i >= 0 && i >= len(c.wakes)-8; i-- {
		if c.wakes[i] == s {
			return
		}
	}
	c.wakes = append(c.wakes, s)
}

// wakeAll wakes the writers wakeLater noted.
func (c *conn) wakeAll() {
	for _, s := range c.wakes {
		s.mu.Lock()
		if sc := s.conn; sc != nil && s.queue.Len() > 0 {
			sc.kickLocked()
		}
		s.mu.Unlock()
	}
	clear(c.wakes)
	c.wakes = c.wakes[:0]
}

// flushPending stores, queues and acknowledges what deferTargets collected.
// The error (for a 3.1.x client whose message could not be stored) ends
// the connection.
func (c *conn) flushPending() error {
	if len(c.pending) == 0 && len(c.pendingAcks) == 0 {
		return nil
	}
	b := c.b
	batchFailed := false
	if qb, ok := b.store.(storage.QueueBatcher); ok {
		c.entries = c.entries[:0]
		c.entryIdx = c.entryIdx[:0]
		for i := range c.pending {
			p := &c.pending[i]
			if !p.durable() {
				continue
			}
			sm := toStoredDelivery(&p.d)
			c.entries = append(c.entries, storage.QueueAppend{ClientID: p.to.(*session).id, Message: sm})
			c.entryIdx = append(c.entryIdx, i)
		}
		if len(c.entries) > 0 {
			ctx, cancel := b.storeCtx()
			seqs, err := qb.AppendBatch(ctx, c.entries)
			cancel()
			if err != nil {
				// One failure for the batch: not one timeout per delivery
				// retried alone (a lost store would cost minutes).
				b.log.Error("storing deliveries", "publisher", c.info.ID, "err", err)
				batchFailed = true
			} else {
				for j, i := range c.entryIdx {
					c.pending[i].d.Seq = seqs[j]
				}
			}
			clear(c.entries)
		}
	}
	single := 0 // pending[:single] not taken by a run go one by one
	for i := 0; i < len(c.pending); i++ {
		p := &c.pending[i]
		if batchFailed && p.durable() {
			if p.ack < len(c.pendingAcks) {
				c.pendingAcks[p.ack].failed = true // not stored: not delivered, not acknowledged
			}
			continue
		}
		if s, ok := p.to.(*session); ok && i >= single && !p.unstored() {
			// A run of deliveries to one session, none left to store,
			// is queued at once, its writer woken at the end; what it
			// did not take (a drop, a full queue) goes the way of single
			// deliveries.
			j := i + 1
			for j < len(c.pending) && c.pending[j].to == p.to && !c.pending[j].unstored() {
				j++
			}
			k := s.deliverRun(c.pending[i:j])
			if k > 0 {
				c.wakeLater(s)
			}
			if i += k; i == j {
				i--
				continue
			}
			single = j
			p = &c.pending[i]
		}
		// deliver stores what no batch did (no QueueBatcher); an error
		// there means it is not safe.
		if err := p.to.deliver(p.d); err != nil && p.ack < len(c.pendingAcks) {
			c.pendingAcks[p.ack].failed = true
		}
	}
	c.wakeAll()
	clear(c.pending)
	c.pending = c.pending[:0]
	var err error
	for i, a := range c.pendingAcks {
		code := a.code
		if a.wait != nil {
			// The waits of a batch run together (their work was started
			// when each message was read): this waits about the longest.
			if werr := a.wait(); werr != nil && !a.failed {
				if errors.Is(werr, ErrNotAccepted) {
					if !v5(c.version) {
						err = fmt.Errorf("publish hook: %w", werr)
						c.abandonWaits(c.pendingAcks[i+1:])
						break
					}
					code = codeOr(werr, packets.UnspecifiedError)
				} else {
					code = codeOr(werr, packets.NotAuthorized)
				}
			}
		}
		if a.failed {
			if !v5(c.version) {
				// 3.1.x has no failure code: disconnect without acknowledging.
				err = fmt.Errorf("storing a message from %s failed", c.info.ID)
				c.abandonWaits(c.pendingAcks[i+1:])
				break
			}
			code = packets.ImplementationSpecificError
		}
		c.sendAck(a.qos, a.id, code)
	}
	clear(c.pendingAcks)
	c.pendingAcks = c.pendingAcks[:0]
	return err
}

// abandonWaits lets the AcceptLater waits of acknowledgements that will
// not be sent (the connection ends) finish: a hook may hold resources
// until its wait is called.
func (c *conn) abandonWaits(rest []pendingAck) {
	for _, a := range rest {
		if a.wait != nil {
			_ = a.wait()
		}
	}
}

// flushAcked removes the stored deliveries acknowledged during a read
// batch, in one write when the store can (QueueBatcher), off the client's
// path: losing a removal in a crash only means a redelivery with DUP.
func (c *conn) flushAcked() {
	if len(c.acked) == 0 {
		return
	}
	b, s := c.b, c.sess
	qb, ok := b.store.(storage.QueueBatcher)
	if !ok {
		for _, seq := range c.acked {
			b.unstoreAsync(s, seq)
		}
		c.acked = c.acked[:0]
		return
	}
	seqs := append([]uint64(nil), c.acked...)
	c.acked = c.acked[:0]
	remove := func() {
		ctx, cancel := b.storeCtx()
		defer cancel()
		if err := qb.RemoveBatch(ctx, s.id, seqs); err != nil {
			b.log.Error("removing acknowledged deliveries", "client", s.id, "err", err)
		}
	}
	select {
	case b.removers <- struct{}{}:
		b.wg.Go(func() {
			remove()
			<-b.removers
		})
	default:
		remove()
	}
}
