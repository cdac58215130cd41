package broker

import (
	"sync"
	"time"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
)

// Outbound I/O. A connection has no writer goroutine while idle: kickLocked
// starts one when there is something to send, and it exits when it finds
// nothing left. Each round takes, under the session lock, the pending control
// packets and a batch of deliveries (assigning packet identifiers and
// recording them in flight), then encodes and writes them outside the lock
// with one Write call. Publishers never block on a slow client: they only
// append to its bounded queue.

const (
	maxBatch      = 256      // deliveries per write round
	maxBatchBytes = 64 << 10 // soft limit of bytes per write round
)

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

var batchPool = sync.Pool{New: func() any { b := make([]sessions.Delivery, 0, maxBatch); return &b }}

// kickLocked starts the writer if it is not running. Called with sess.mu held.
func (c *conn) kickLocked() {
	if c.writing || c.dead {
		return
	}
	c.writing = true
	// Counted in the broker's WaitGroup, so that Close returns after the
	// writer (which may call storage). The connection's reader holds a
	// count meanwhile (c is not dead), so this Add never starts from zero.
	c.b.wg.Add(1)
	go c.writeLoop()
}

// writeLoop sends until there is nothing left, then exits.
func (c *conn) writeLoop() {
	s := c.sess
	b := c.b
	defer b.wg.Done()
	bp := writeBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	bt := batchPool.Get().(*[]sessions.Delivery)
	batch := (*bt)[:0]
	defer func() {
		*bp = buf[:0]
		if cap(buf) <= 1<<20 {
			writeBufs.Put(bp)
		}
		clear(batch[:cap(batch)])
		*bt = batch[:0]
		batchPool.Put(bt)
	}()
	var expired []uint64                // stored sequence numbers of expired deliveries
	var expiredMsgs []*sessions.Message // reported after s.mu is released
	for {
		now := b.now() // message expiry; deadlines use the real time
		s.mu.Lock()
		if c.dead {
			c.writing = false
			s.mu.Unlock()
			return
		}
		if len(c.ctrl) > 0 {
			buf = append(buf, c.ctrl...)
			c.ctrlTakenLocked()
		}
		s.refillLocked()
		size := 0
		for len(batch) < maxBatch && size < maxBatchBytes {
			d, ok := s.queue.Peek()
			if !ok {
				break
			}
			if d.QoS > 0 && s.inflight.Len() >= s.window {
				break // flow control [MQTT-4.9.0-2]
			}
			if !d.Release && d.Msg.Expired(now) {
				dd, _ := s.queue.Pop()
				if dd.ID != 0 {
					s.inflight.Free(dd.ID)
				}
				expired = append(expired, dd.Seq)
				expiredMsgs = append(expiredMsgs, dd.Msg)
				continue
			}
			dd, _ := s.queue.Pop()
			if dd.QoS > 0 {
				id, err := s.inflight.Add(dd)
				if err != nil {
					s.queue.PushFront(dd)
					break
				}
				dd.ID = id
			}
			if dd.Msg != nil {
				size += len(dd.Msg.Payload) + len(dd.Msg.Topic)
			}
			batch = append(batch, dd)
		}
		if len(buf) == 0 && len(batch) == 0 {
			c.writing = false
			s.mu.Unlock()
			c.unstoreAll(expired)
			b.droppedAll(s.id, expiredMsgs, DropExpired)
			return
		}
		s.mu.Unlock()
		expired = c.unstoreAll(expired)
		expiredMsgs = b.droppedAll(s.id, expiredMsgs, DropExpired)
		for i := range batch {
			// A stored QoS 2 delivery keeps its packet identifier across a
			// restart, so the client can recognise the resend.
			if d := &batch[i]; d.Seq != 0 && d.QoS == 2 && !d.Release && !d.Dup {
				b.updateStored(s, &storage.Queued{Seq: d.Seq, PacketID: d.ID, State: storage.StateSent})
			}
		}

		delivered := 0
		for i := range batch {
			var ok bool
			before := len(buf)
			buf, ok = c.appendDelivery(buf, &batch[i], now)
			if !ok {
				batch[i].Msg = nil // dropped: not delivered below
				continue
			}
			if !batch[i].Release {
				delivered++
				b.metrics.PacketSent(c.info.Listener, packets.PUBLISH, len(buf)-before)
				if batch[i].Dup {
					b.metrics.MessageRetried(batch[i].QoS)
				}
			}
		}
		if len(buf) > 0 {
			if err := c.write(buf); err != nil {
				c.close()
				s.mu.Lock()
				c.writing = false
				c.writeFailedLocked()
				s.mu.Unlock()
				return
			}
		}
		for i := range batch {
			// QoS 0 is delivered once written; QoS 1 and 2 when acknowledged (acks.go).
			if d := &batch[i]; d.Msg != nil && !d.Release && d.QoS == 0 {
				b.delivered(&c.info, d)
			}
		}
		clear(batch)
		batch = batch[:0]
		b.stats.MessagesDelivered.Add(int64(delivered))
		buf = buf[:0]
	}
}

// ctrlTakenLocked empties c.ctrl, whose bytes the caller copied to write
// them, and tells a reader waiting in backpressure. Called with sess.mu held.
func (c *conn) ctrlTakenLocked() {
	c.ctrl = c.ctrl[:0]
	if cap(c.ctrl) > 64<<10 {
		c.ctrl = nil // a burst is over: do not keep its buffer
	}
	select {
	case c.ctrlTaken <- struct{}{}:
	default:
	}
}

// write writes buf under the write timeout.
func (c *conn) write(buf []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.b.limits.WriteTimeout))
	n, err := c.nc.Write(buf)
	c.b.stats.BytesSent.Add(int64(n))
	return err
}

// writeFailedLocked marks a connection that could not be written (and
// was closed) dead: nothing more will be written, and a reader waiting in
// backpressure stops waiting. Called with sess.mu held.
func (c *conn) writeFailedLocked() {
	c.dead = true
	select {
	case c.ctrlTaken <- struct{}{}:
	default:
	}
}

// appendDelivery encodes one delivery. A message is encoded once per
// variant and shared; only the packet identifier and DUP are patched into
// this connection's copy. ok is false when the delivery was dropped.
func (c *conn) appendDelivery(buf []byte, d *sessions.Delivery, now time.Time) ([]byte, bool) {
	if d.Release {
		p := packets.Ack{Kind: packets.PUBREL, PacketID: d.ID}
		out, err := p.Append(buf, c.version)
		if err != nil {
			return buf, false
		}
		return out, true
	}
	start := len(buf)
	var err error
	if d.Msg.Cacheable() && len(d.SubIDs) == 0 && c.aliasesOut == nil {
		var enc []byte
		enc, err = d.Msg.Encoded(c.version, d.QoS, d.Retain)
		if err == nil {
			buf = append(buf, enc...)
			if d.QoS > 0 {
				sessions.PatchPublish(buf[start:], d.ID, d.Dup)
			}
		}
	} else {
		var p packets.Publish
		d.Msg.Publish(&p, d.QoS, d.Retain, now)
		p.PacketID = d.ID
		p.Dup = d.Dup
		if v5(c.version) && len(d.SubIDs) > 0 {
			p.Properties.SubscriptionIDs = d.SubIDs
			p.Properties.Present.Add(packets.PropSubscriptionID)
		}
		if c.aliasesOut != nil {
			// Topic aliases towards the client save bytes (section 3.3.2.3.4):
			// after the first use of a topic, only the alias is sent.
			if alias, known := c.aliasesOut.Lookup(d.Msg.Topic); alias != 0 {
				p.Properties.TopicAlias = alias
				p.Properties.Present.Add(packets.PropTopicAlias)
				if known {
					p.Topic = nil
				}
			}
		}
		buf, err = p.Append(buf, c.version)
	}
	if err == nil && c.maxOut > 0 && len(buf)-start > c.maxOut {
		err = packets.PacketTooLarge // [MQTT-3.1.2-25]
	}
	if err != nil {
		buf = buf[:start]
		if d.QoS > 0 {
			s := c.sess
			s.mu.Lock()
			s.inflight.Remove(d.ID)
			s.mu.Unlock()
		}
		c.b.unstore(c.sess, d.Seq)
		c.b.dropped(c.info.ID, d.Msg, DropTooLarge)
		return buf, false
	}
	return buf, true
}

// unstoreAll removes the stored deliveries seqs and returns seqs emptied.
func (c *conn) unstoreAll(seqs []uint64) []uint64 {
	for _, seq := range seqs {
		c.b.unstore(c.sess, seq)
	}
	return seqs[:0]
}
