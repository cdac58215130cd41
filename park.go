package broker

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/ternmq/broker/packets"
)

// Idle connections wait without a goroutine.
//
// A connection's goroutine reads and handles its packets (conn.readLoop).
// Blocked in a read, that goroutine holds a stack of 8 KiB, most of what an
// idle connection costs. So a connection on a plain TCP or Unix socket that
// has sent nothing for a while is parked: its goroutine returns and the
// socket waits in the broker's poller (epoll on Linux, poller_linux.go);
// when bytes arrive, or the connection must end, a new goroutine resumes
// the read loop where it stopped. Deliveries to a parked connection go out
// as before: the writer goroutine never depended on the reader.
//
// A connection parks right after its CONNECT (most clients then wait), and
// later when a sweep finds it idle: every parkAfter, a connection that read no
// packet since the previous sweep has its read deadline set to the past
// (a kick); its reader, woken by the timeout, parks unless a packet arrived
// meanwhile. Busy connections are never parked, and pay for this a flag
// set per packet and one kick per sweep at most. The sweep also enforces
// the keep alive of parked connections, whose read deadline no longer runs
// [MQTT-3.1.2-24].
//
// One goroutine owns a connection at a time. Its state moves running →
// parking → parked under the owner, and back to running by a waker (the
// poller on readiness, a close, a keep alive expiry): a waker that finds
// the connection parked starts the new owner; one that finds it parking
// leaves the owner running.

// Connection states for parking (conn.state).
const (
	connRunning int32 = iota // a goroutine owns the connection
	connParking              // its owner is registering it with the poller
	connParked               // no goroutine: the poller waits for it
)

// defaultParkAfter is how long a connection reads nothing before it is
// parked (between one and two sweeps).
const defaultParkAfter = time.Second

// errParked ends a read loop whose connection was parked: not an end of
// the connection.
var errParked = errors.New("broker: connection parked")

// parkable reports whether nc is a socket the poller can wait on: only a
// plain TCP or Unix connection, whose bytes the read loop reads as they
// arrive (a TLS or WebSocket connection buffers them out of the poller's
// sight).
func parkable(nc net.Conn) bool {
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		return pollerSupported
	}
	return false
}

// tryPark parks c if it read no packet since the last sweep. It runs on
// c's goroutine, right after CONNECT or after a sweep's kick; true means c
// is parked (or already owned by a new goroutine) and the caller must
// return without touching c.
func (c *conn) tryPark() bool {
	if c.active.Load() || c.lingering.Load() {
		return false
	}
	p := c.b.parker()
	if p == nil {
		return false
	}
	// Nothing may wait on this goroutine: replies are written (or left
	// to the writer), the read buffer goes back to its pool.
	c.flush()
	s := c.sess
	s.mu.Lock()
	s.queue.Trim() // the arrays of a burst, kept while busy
	s.inflight.Trim()
	s.mu.Unlock()
	c.r.Release()
	if c.r.Buffered() > 0 {
		// Part of a packet came: the reader keeps it (and the batch).
	} else if len(c.pending)+len(c.pendingAcks)+len(c.acked) == 0 {
		c.r, c.batch = nil, nil // made again when the connection wakes
	}
	if c.keep > 0 {
		c.parkDeadline.Store(c.deadline)
		// The sweep keeps time while parked: no runtime timer per socket.
		_ = c.nc.SetReadDeadline(time.Time{})
	} else {
		c.parkDeadline.Store(0)
	}
	c.state.Store(connParking)
	if !p.arm(c) {
		c.state.Store(connRunning)
		c.ensureReader()
		return false
	}
	if c.state.CompareAndSwap(connParking, connParked) {
		c.b.stats.parked.Add(1)
		return true
	}
	// Woken while parking: this goroutine stays the owner.
	c.ensureReader()
	return false
}

// ensureReader gives c back the reader and batch it parked without.
func (c *conn) ensureReader() {
	if c.r == nil {
		c.r = packets.NewReader(c.nc, c.b.limits.MaxPacketSize)
		c.batch = new(batch)
	}
}

// wake gives a parked connection a goroutine again: the poller saw bytes or
// a hang-up, the connection was closed, or its keep alive expired.
func (c *conn) wake() {
	for {
		switch c.state.Load() {
		case connRunning:
			return
		case connParking:
			if c.state.CompareAndSwap(connParking, connRunning) {
				return
			}
		case connParked:
			if c.state.CompareAndSwap(connParked, connRunning) {
				c.b.stats.parked.Add(-1)
				go c.run()
				return
			}
		}
	}
}

// markActive records that c read a packet since the last sweep.
func (c *conn) markActive() {
	if !c.active.Load() {
		c.active.Store(true)
	}
}

// sweep kicks the readers of connections that read nothing since the last
// sweep, and ends parked connections whose keep alive expired.
func (b *Broker) sweep(now time.Time, buf []*conn) []*conn {
	buf = buf[:0]
	b.mu.Lock()
	for c := range b.conns {
		if c.parkable {
			buf = append(buf, c)
		}
	}
	b.mu.Unlock()
	past := now.Add(-time.Hour)
	for _, c := range buf {
		switch c.state.Load() {
		case connParked:
			if d := c.parkDeadline.Load(); d != 0 && now.UnixNano() >= d {
				c.keepExpired.Store(true)
				c.wake()
			}
		case connRunning:
			if c.active.Swap(false) {
				continue
			}
			c.parkReq.Store(true)
			_ = c.nc.SetReadDeadline(past)
		}
	}
	clear(buf)
	return buf[:0]
}

// parker returns the broker's poller, starting it on first use; nil where
// there is none or it cannot be had (then connections are not parked).
func (b *Broker) parker() *poller {
	b.pollOnce.Do(func() {
		b.mu.Lock()
		closing := b.closing
		b.mu.Unlock()
		if closing {
			return
		}
		p, err := newPoller(b)
		if err != nil {
			b.log.Warn("idle connections keep their goroutines: no poller", "err", err)
			return
		}
		b.poll = p
		go p.loop()
	})
	return b.poll
}

// stopPoller stops the poller once every connection is gone.
func (b *Broker) stopPoller() {
	b.pollOnce.Do(func() {}) // no poller may start after this
	if b.poll != nil {
		b.poll.close()
	}
}

// pollState is the poller's part of the broker.
type pollState struct {
	pollOnce  sync.Once
	poll      *poller
	parkAfter time.Duration
}

// keepAliveExpired ends a connection woken because its keep alive ran out
// while it was parked.
func (c *conn) keepAliveExpired() error {
	c.disconnect(packets.KeepAliveTimeout)
	return packets.KeepAliveTimeout
}

// isTimeout reports whether err is a deadline's timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
