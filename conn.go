package broker

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/topics"
)

// errClientDisconnect ends the read loop after a client DISCONNECT.
var errClientDisconnect = errors.New("client sent DISCONNECT")

// conn is one network connection. Its goroutine (the one that called
// ServeConn) reads and handles packets; a writer goroutine runs only while
// there is something to send (see writer.go).
type conn struct {
	b       *Broker
	nc      net.Conn
	r       *packets.Reader
	version packets.Version
	info    ClientInfo
	sess    *session
	keep    time.Duration // 1.5 times the keep alive; 0: none
	maxOut  int           // client's Maximum Packet Size (v5); 0: no limit
	aliases *topics.AliasesIn
	pubRate *rate // Limits.PublishRate
	// aliasesOut: topic aliases towards a v5 client that allows them; used
	// by the writer only (one writer at a time).
	aliasesOut *topics.AliasesOut
	// Enhanced authentication (reader goroutine only).
	auth *enhancedAuth  // nil without MQTT 5 enhanced authentication
	done sync.WaitGroup // done when the connection is fully torn down

	// Guarded by sess.mu.
	ctrl    []byte // encoded control packets waiting for the writer
	writing bool   // a writer goroutine is running
	dead    bool   // torn down: the writer must stop

	// Reader goroutine only.
	*batch                    // nil while parked
	expiry0     bool          // CONNECT had session expiry 0 [MQTT-3.14.2-2]
	willOnClose bool          // publish the will on teardown
	hadWill     bool          // CONNECT carried a will (stored until the connection ends)
	connectedAt int64         // when CONNACK 0 was queued, Unix ns
	samples     uint32        // PUBLISHes read, to sample timings
	slot        bool          // holds a Limits.MaxConnections slot (reader goroutine only)
	ctrlTaken   chan struct{} // signalled when the writer takes ctrl; made by backpressure, under sess.mu
	closeOnce   sync.Once
	movedAway   atomic.Bool // another broker took the client: leave storage alone
	connackMu   sync.Mutex  // held while CONNACK is written, so a DISCONNECT waits for it
	connacked   bool        // CONNACK 0 is written: a DISCONNECT may follow it; guarded by connackMu
	lingering   atomic.Bool // DISCONNECT sent: input is discarded until the close

	// Parking (park.go).
	parkable     bool         // a plain socket the poller can wait on
	registered   bool         // its socket is in the poller's epoll set (owner only)
	fd           int32        // that socket (owner only)
	deadline     int64        // the keep alive's read deadline, Unix ns; 0: none (owner only)
	fresh        bool         // CONNECT handled, nothing read since (owner only)
	state        atomic.Int32 // connRunning, connParking or connParked
	active       atomic.Bool  // read a packet since the last sweep
	parkReq      atomic.Bool  // kicked by a sweep: park if idle
	keepExpired  atomic.Bool  // the keep alive ran out while parked
	parkDeadline atomic.Int64 // the keep alive's deadline while parked (Unix ns); 0: none
}

// enhancedAuth is a connection's MQTT 5 enhanced authentication (reader
// goroutine only): the method of CONNECT and a re-authentication in
// progress.
type enhancedAuth struct {
	method string
	reauth AuthExchange
}

// batch is what the reader gathers while it reads a burst of packets; a
// parked connection does without it.
type batch struct {
	pending     []target              // deferred deliveries (pipeline.go)
	pendingAcks []pendingAck          // deferred PUBACK/PUBREC, in order
	entries     []storage.QueueAppend // scratch of flushPending
	entryIdx    []int                 // scratch of flushPending
	acked       []uint64              // stored deliveries acknowledged in this read batch
	wakes       []*session            // writers to wake at the end of flushPending
	unflushed   int                   // packets read since replies were last flushed
	// readAt is when the packets now buffered were read (the broker's
	// clock, read once per read: a clock read per PUBLISH of a burst was
	// 4% of a fan-in's CPU); zero: not read yet.
	readAt time.Time
}

// readDeadline is the keep alive's read deadline; the zero time without
// keep alive.
func (c *conn) readDeadline() time.Time {
	if c.deadline == 0 {
		return time.Time{}
	}
	return time.Unix(0, c.deadline)
}

// receivedAt is when the packet being handled was received: the broker's
// clock at the read that brought it. A fake clock (tests) is read for each
// packet, since it may be advanced between packets a read brings together.
func (c *conn) receivedAt() time.Time {
	if _, real := c.b.clock.(systemClock); !real {
		return c.b.now()
	}
	if c.readAt.IsZero() {
		c.readAt = time.Now()
	}
	return c.readAt
}

func newConn(b *Broker, listener string, nc net.Conn) *conn {
	c := &conn{
		b:           b,
		nc:          nc,
		info:        ClientInfo{Listener: listener},
		r:           packets.NewReader(nc, b.limits.MaxPacketSize),
		willOnClose: true,
		parkable:    b.parkAfter > 0 && parkable(nc),
		batch:       new(batch),
	}
	c.done.Add(1)
	return c
}

// serve runs the connection: CONNECT, then packets until the end.
func (c *conn) serve() {
	b := c.b
	b.stats.ConnectionsTotal.Add(1)
	_ = c.nc.SetReadDeadline(time.Now().Add(b.limits.ConnectTimeout))
	fh, body, err := c.r.Next()
	if err != nil {
		b.connected(c)
		c.fail(err, "reading CONNECT")
		c.end()
		return
	}
	if fh.Type != packets.CONNECT {
		// The first packet must be CONNECT [MQTT-3.1.0-1].
		b.connected(c)
		c.fail(&packets.Error{Packet: fh.Type, Field: "packet type", Reason: "first packet is not CONNECT", Code: packets.ProtocolError}, "handshake")
		c.end()
		return
	}
	b.stats.BytesReceived.Add(int64(fh.Remaining + 2))
	b.metrics.PacketReceived(c.info.Listener, packets.CONNECT, fh.Remaining+2)
	b.connected(c) // it sent CONNECT: no longer pending
	if !c.connect(fh, body) {
		c.releaseSlot()
		c.end()
		return
	}
	if c.parkable {
		c.b.parker() // its sweeps find idle connections
		c.fresh = true
	}
	c.run()
}

// end closes a connection that never became a client.
func (c *conn) end() {
	_ = c.nc.Close()
	c.done.Done()
	c.r.Release()
	c.b.wg.Done()
}

// run reads and handles packets until the connection ends, or parks: then
// it returns at once and a new goroutine runs it again when the connection
// wakes (park.go).
func (c *conn) run() {
	c.ensureReader()
	err := c.readLoop()
	if err == errParked {
		return
	}
	c.teardown(err)
	c.r.Release()
	c.b.wg.Done()
}

// readLoop handles packets until the connection ends or parks (errParked).
func (c *conn) readLoop() error {
	b := c.b
	if c.keep == 0 {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	kicked := false
	for {
		if c.lingering.Load() {
			return errLingering
		}
		if c.keepExpired.Load() {
			return c.keepAliveExpired()
		}
		if c.keep > 0 && !kicked && !c.r.HasPacket() {
			// Disconnect after 1.5 times the keep alive without a packet
			// [MQTT-3.1.2-24]. The deadline matters only for a read, and
			// restarts after the last whole packet: not once per packet of
			// a burst already buffered (a clock read and a timer update
			// each, 5% of the broker's CPU in a fan-in).
			d := time.Now().Add(c.keep)
			c.deadline = d.UnixNano()
			_ = c.nc.SetReadDeadline(d)
		}
		kicked = false
		if c.fresh {
			// Just connected: most clients send nothing more for a while
			// (and those that do wake it at once), so park now rather
			// than hold a goroutine through a connection storm.
			c.fresh = false
			if c.parkable && c.r.Buffered() == 0 && c.tryPark() {
				return errParked
			}
		}
		if !c.r.HasPacket() {
			c.readAt = time.Time{}
		}
		fh, body, err := c.r.Next()
		if err == nil && c.lingering.Load() {
			return errLingering // DISCONNECT sent: what follows is discarded
		}
		if err != nil {
			_ = c.flushPending() // what was read completely is still routed
			c.flushAcked()
			if c.parkReq.Swap(false) && isTimeout(err) && (c.keep == 0 || time.Now().UnixNano() < c.deadline) {
				// A sweep's kick, not the keep alive: park if idle (park.go).
				if c.tryPark() {
					return errParked
				}
				_ = c.nc.SetReadDeadline(c.readDeadline())
				kicked = true
				continue
			}
			if isTimeout(err) && c.keep > 0 {
				c.disconnect(packets.KeepAliveTimeout)
				return packets.KeepAliveTimeout
			}
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return err
			}
			c.fail(err, "reading")
			return err
		}
		c.markActive()
		b.stats.BytesReceived.Add(int64(fh.Remaining + 2))
		b.metrics.PacketReceived(c.info.Listener, fh.Type, fh.Remaining+2)
		if err := c.handle(fh, body); err != nil {
			// Messages already read are routed before the connection ends.
			ferr := c.flushPending()
			c.flushAcked()
			if err == errClientDisconnect {
				return ferr
			}
			c.fail(err, "handling "+fh.Type.String())
			return err
		}
		// Replies go out when the read buffer is drained, and at least
		// every flushEvery packets for a client that never pauses, so its
		// acknowledgements do not wait for a pause that may never come.
		c.unflushed++
		drained := c.r.Buffered() == 0
		if drained || c.unflushed >= flushEvery || len(c.pending) >= maxPending {
			if err := c.flushPending(); err != nil {
				c.fail(err, "storing")
				return err
			}
		}
		if drained || c.unflushed >= flushEvery {
			c.unflushed = 0
			c.flushAcked()
			c.flush()
			if err := c.backpressure(); err != nil {
				c.fail(err, "writing")
				return err
			}
		}
	}
}

// flushEvery bounds the packets read between two flushes of replies.
const flushEvery = 64

// maxCtrlBytes bounds the replies (acknowledgements, SUBACKs...) waiting
// for the writer: a client that sends and does not read stops being read
// once it has this much to read, instead of growing the broker's memory.
const maxCtrlBytes = 256 << 10

// errWriteStalled ends a connection whose replies could not be written
// within Limits.WriteTimeout.
var errWriteStalled = errors.New("broker: client does not read its replies")

// backpressure waits while more than maxCtrlBytes of replies wait for the
// writer, that is while the client does not read; it gives up after
// Limits.WriteTimeout.
func (c *conn) backpressure() error {
	s := c.sess
	var deadline <-chan time.Time
	for {
		s.mu.Lock()
		n, dead := len(c.ctrl), c.dead
		if c.ctrlTaken == nil && !dead && n > maxCtrlBytes {
			c.ctrlTaken = make(chan struct{}, 1) // made once, for a client that needs it
		}
		taken := c.ctrlTaken
		s.mu.Unlock()
		if dead || n <= maxCtrlBytes {
			return nil
		}
		if deadline == nil {
			t := time.NewTimer(c.b.limits.WriteTimeout)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-taken:
		case <-deadline:
			return errWriteStalled
		}
	}
}

// handle dispatches one packet.
func (c *conn) handle(fh packets.FixedHeader, body []byte) error {
	switch fh.Type {
	case packets.PUBLISH:
		return c.handlePublish(fh, body)
	case packets.PUBACK, packets.PUBREC, packets.PUBREL, packets.PUBCOMP:
		return c.handleAck(fh, body)
	case packets.SUBSCRIBE:
		return c.handleSubscribe(fh, body)
	case packets.UNSUBSCRIBE:
		return c.handleUnsubscribe(fh, body)
	case packets.PINGREQ:
		var p packets.Pingreq
		if err := p.Decode(fh.Flags, body, c.version); err != nil {
			return err
		}
		c.send(&packets.Pingresp{})
		return nil
	case packets.DISCONNECT:
		return c.handleDisconnect(fh, body)
	case packets.AUTH:
		return c.handleAuth(fh, body)
	case packets.CONNECT:
		// A second CONNECT is a protocol violation [MQTT-3.1.0-2].
		return &packets.Error{Packet: fh.Type, Field: "packet type", Reason: "second CONNECT", Code: packets.ProtocolError}
	}
	return &packets.Error{Packet: fh.Type, Field: "packet type", Reason: "not sent by clients", Code: packets.ProtocolError}
}

func (c *conn) handleDisconnect(fh packets.FixedHeader, body []byte) error {
	var p packets.Disconnect
	if err := p.Decode(fh.Flags, body, c.version); err != nil {
		return err
	}
	if v5(c.version) && p.Properties.Present.Has(packets.PropSessionExpiry) {
		if c.expiry0 && p.Properties.SessionExpiry != 0 {
			// Expiry 0 at CONNECT cannot be raised at DISCONNECT [MQTT-3.14.2-2].
			return &packets.Error{Packet: fh.Type, Field: "session expiry interval", Reason: "was 0 at CONNECT", Code: packets.ProtocolError}
		}
		s := c.sess
		s.mu.Lock()
		s.setExpiryLocked(min(p.Properties.SessionExpiry, c.b.limits.MaxSessionExpiry))
		s.mu.Unlock()
	}
	// A DISCONNECT discards the will [MQTT-3.14.4-3], unless v5 asks for it.
	c.willOnClose = v5(c.version) && p.ReasonCode == packets.DisconnectWithWill
	return errClientDisconnect
}

// send appends a control packet for the writer. Reader goroutine only: the
// writer is woken by flush after the current read batch.
func (c *conn) send(p packets.Packet) {
	c.sendWith(p.Type(), func(b []byte) ([]byte, error) { return p.Append(b, c.version) })
}

// sendAckPacket is send for an acknowledgement, without boxing it into
// an interface (an allocation per PUBACK otherwise).
func (c *conn) sendAckPacket(a packets.Ack) {
	c.sendWith(a.Kind, func(b []byte) ([]byte, error) { return a.Append(b, c.version) })
}

// sendWith appends a control packet of type t, encoded by enc, to c.ctrl.
func (c *conn) sendWith(t packets.Type, enc func([]byte) ([]byte, error)) {
	s := c.sess
	s.mu.Lock()
	if !c.dead {
		n := len(c.ctrl)
		var err error
		if c.ctrl, err = enc(c.ctrl); err != nil {
			c.b.log.Error("encoding control packet", "client", c.info.ID, "type", t.String(), "err", err)
		} else {
			c.b.metrics.PacketSent(c.info.Listener, t, len(c.ctrl)-n)
		}
	}
	s.mu.Unlock()
}

// flush sends what the reader left for its client. Replies alone (the
// acknowledgements of a read batch) are written by the reader itself: a
// writer goroutine started and scheduled for each batch of PUBACKs cost
// more than the write. Deliveries wake the writer.
func (c *conn) flush() {
	s := c.sess
	s.mu.Lock()
	if c.writing || c.dead || len(c.ctrl) == 0 || s.queue.Len() > 0 {
		if len(c.ctrl) > 0 || s.queue.Len() > 0 {
			c.kickLocked()
		}
		s.mu.Unlock()
		return
	}
	c.writing = true // the writer's role, for this write
	bp := writeBufs.Get().(*[]byte)
	buf := append((*bp)[:0], c.ctrl...)
	c.ctrlTakenLocked()
	s.mu.Unlock()
	err := c.write(buf)
	*bp = buf[:0]
	if cap(buf) <= 1<<20 {
		writeBufs.Put(bp)
	}
	if err != nil {
		c.close()
	}
	s.mu.Lock()
	c.writing = false
	if err != nil {
		c.writeFailedLocked()
	} else if len(c.ctrl) > 0 || s.queue.Len() > 0 {
		c.kickLocked() // came while it wrote
	}
	s.mu.Unlock()
}

// fail logs a connection-ending error at debug level and counts protocol
// violations. For MQTT 5 it sends DISCONNECT with the error's reason code
// before closing [MQTT-4.13.1-1].
func (c *conn) fail(err error, during string) {
	var pe *packets.Error
	isProto := errors.As(err, &pe)
	if rc, ok := err.(packets.ReasonCode); ok && rc.IsError() {
		isProto = true
	}
	if isProto {
		c.b.stats.ProtocolViolations.Add(1)
		c.b.metrics.ProtocolError(c.info.Listener, packets.CodeOf(err))
		if c.sess != nil {
			c.disconnect(packets.CodeOf(err))
		}
	}
	c.b.log.Debug("connection closed", "client", c.info.ID, "remote", remoteString(c.nc), "during", during, "err", err)
}

// disconnect sends DISCONNECT with code to an MQTT 5 client (nothing to
// older ones, which have no server DISCONNECT) and closes the connection.
// Safe from any goroutine; bounded by a one-second write deadline.
func (c *conn) disconnect(code packets.ReasonCode) { c.disconnectRef(code, "") }

// disconnectRef is disconnect with a Server Reference (v5), for 0x9C Use
// another server and 0x9D Server moved [MQTT-4.11].
func (c *conn) disconnectRef(code packets.ReasonCode, ref string) {
	defer c.wake() // a parked connection needs its goroutine to end
	c.closeOnce.Do(func() {
		// Nothing but CONNACK may come first [MQTT-3.2.0-1]: a connection
		// taken over before its CONNACK went out is closed without a word;
		// one whose CONNACK is being written gets DISCONNECT after it.
		c.connackMu.Lock()
		connacked := c.connacked
		c.connackMu.Unlock()
		if v5(c.version) && c.sess != nil && connacked {
			p := packets.Disconnect{ReasonCode: code}
			if ref != "" {
				p.Properties.ServerReference = []byte(ref)
				p.Properties.Present.Add(packets.PropServerReference)
			}
			buf, err := p.Append(nil, c.version)
			if err != nil {
				// Not a DISCONNECT reason code (0x86, 0x8C, ...): say
				// "not authorized" for those, "unspecified" for the rest.
				p.ReasonCode = packets.UnspecifiedError
				if code == packets.BadUserNameOrPassword || code == packets.BadAuthenticationMethod {
					p.ReasonCode = packets.NotAuthorized
				}
				buf, err = p.Append(nil, c.version)
			}
			if err == nil {
				_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := c.nc.Write(buf); err == nil {
					c.lingerClose()
					return
				}
			}
		}
		_ = c.nc.Close()
	})
}

// lingerTime bounds how long input is discarded after a DISCONNECT.
const lingerTime = time.Second

// errLingering ends the reader once a DISCONNECT has been sent.
var errLingering = errors.New("broker: connection closing")

// lingerClose closes a connection after a DISCONNECT so that the client
// reads the reason code: closing a socket with unread input makes the
// kernel send a reset, and the client loses what it had not read. So the
// write side is closed first, input is discarded until the client closes
// or lingerTime passes, and only then is the socket closed. During
// shutdown the connection is closed at once.
func (c *conn) lingerClose() {
	cw, ok := c.nc.(interface{ CloseWrite() error })
	b := c.b
	b.mu.Lock()
	if !ok || b.closing {
		b.mu.Unlock()
		_ = c.nc.Close()
		return
	}
	b.wg.Add(1)
	b.mu.Unlock()
	c.lingering.Store(true)
	_ = cw.CloseWrite()
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	go func() {
		defer b.wg.Done()
		var buf [512]byte
		for {
			if _, err := c.nc.Read(buf[:]); err != nil {
				break
			}
		}
		_ = c.nc.Close()
	}()
}

// close closes the network connection without a DISCONNECT.
func (c *conn) close() {
	c.closeOnce.Do(func() { _ = c.nc.Close() })
	c.wake() // a parked connection needs its goroutine to end
}

// teardown detaches the connection from its session after the read loop
// ended: the session ends or starts its expiry, the will goes out.
func (c *conn) teardown(cause error) {
	b := c.b
	c.close()
	if c.registered {
		b.poll.forget(c)
	}
	s := c.sess
	b.mu.Lock()
	delete(b.conns, c)
	s.mu.Lock()
	c.dead = true
	c.ctrl = nil
	c.aliases = nil // what the client's topic aliases held goes with the connection
	if s.conn == c {
		s.conn = nil
	}
	if s.info.Load() == &c.info {
		// The session outlives the connection: it keeps a copy of the
		// client's facts, not a pointer that would keep the whole
		// connection (and its buffers) reachable.
		info := c.info
		s.info.Store(&info)
	}
	w := s.will
	s.will = nil
	if !c.willOnClose {
		w = nil
	}
	destroy := s.expiry == 0 && s.conn == nil && !s.ended
	var reshare []sessions.Delivery
	if s.conn == nil && !s.ended && !b.closing {
		reshare = s.takeSharedLocked()
	}
	var delayed bool
	if destroy {
		s.endLocked()
		if b.sessions[s.id] == s {
			delete(b.sessions, s.id)
		}
		b.forgettingLocked(s.id)
	} else if s.conn == nil && !s.ended {
		if s.expiry != 0xFFFFFFFF && !b.closing {
			s.expiryTimer = b.clock.AfterFunc(time.Duration(s.expiry)*time.Second, s.expire)
		}
		if w != nil && w.delay > 0 && !b.closing {
			// Will delay: published later unless the session resumes first [MQTT-3.1.3-9].
			delayed = true
			s.will = w
			s.willTimer = b.clock.AfterFunc(time.Duration(w.delay)*time.Second, s.fireWill)
		}
	}
	s.mu.Unlock()
	b.mu.Unlock()
	b.reshare(s, reshare)
	if destroy {
		b.metrics.Sessions(-1)
		b.forgetSession(s)
	}
	if w != nil && !delayed {
		b.publishWill(w)
	}
	if c.hadWill && !delayed && !c.movedAway.Load() {
		b.forgetWill(s.id)
	}
	b.stats.Connected.Add(-1)
	c.releaseSlot()
	b.metrics.ClientDisconnected(c.info.Listener, time.Since(time.Unix(0, c.connectedAt)))
	for _, h := range b.hooks.disconnect {
		h.OnDisconnect(&c.info, cause)
	}
	if !c.movedAway.Load() {
		b.saveSession(s)
	}
	c.done.Done()
}

func remoteString(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// takeSlot reserves one of Limits.MaxConnections for c; reserving and
// checking are one atomic step, so concurrent CONNECTs cannot exceed it.
func (c *conn) takeSlot() bool {
	b := c.b
	n := b.stats.slots.Add(1)
	c.slot = true
	if max := b.limits.MaxConnections; max > 0 && n > int64(max) {
		c.releaseSlot()
		return false
	}
	return true
}

// releaseSlot gives c's slot back, once.
func (c *conn) releaseSlot() {
	if c.slot {
		c.slot = false
		c.b.stats.slots.Add(-1)
	}
}
