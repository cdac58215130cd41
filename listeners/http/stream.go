package httpbridge

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// Lock order: registry.mu before stream.mu. Neither is held while calling
// the broker (Subscribe, Client.Close): the broker calls stream.push from
// its delivery goroutine, and Client.Close waits for that call to return.

// event is one delivered message, encoded once, with its sequence number.
type event struct {
	seq  uint64
	data []byte // messageJSON
}

// stream is a broker subscription feeding a bounded buffer, read by one
// request at a time (an SSE response or a long poll) and resumable by its
// owner for Limits.ResumeWindow after that request ends.
type stream struct {
	id     string
	owner  string // see owner(): who may resume it
	user   string // user name, for MaxStreamsPerUser
	filter string
	qos    byte
	reg    *registry
	client *broker.Client

	mu       sync.Mutex
	buf      ring
	next     uint64 // sequence number of the next event (the first is 1)
	sent     uint64 // last sequence number handed to a reader
	gen      uint64 // attachment generation: a new reader takes over
	kick     chan struct{}
	attached bool
	closed   bool
	reason   string        // why it closed: "overflow", "expired", "shutdown"
	wake     chan struct{} // capacity 1: an event arrived or the stream closed
	expiry   *time.Timer   // while detached: closes it after ResumeWindow
	release  sync.Once
}

// push is the broker's callback: it buffers m and wakes the reader. It
// never waits for the reader. When the buffer holds only events the
// reader has not received, the stream is closed instead.
func (s *stream) push(m *broker.Message) {
	data := appendMessage(nil, m)
	lim := s.reg.limits
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	for s.buf.len() > 0 && (s.buf.len() >= lim.StreamBufferMessages || s.buf.bytes+len(data) > lim.StreamBufferBytes) {
		if s.buf.front().seq > s.sent {
			s.closeLocked("overflow")
			s.mu.Unlock()
			s.reg.slowClosed()
			s.reg.log.Info("http stream closed: its reader fell a whole buffer behind", "stream", s.id, "client", s.client.Info().ID, "filter", s.filter)
			s.reg.drop(s)
			return
		}
		s.buf.pop()
	}
	s.buf.push(event{seq: s.next, data: data})
	s.next++
	s.signalLocked()
	s.mu.Unlock()
}

func (s *stream) signalLocked() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns up to max events the reader of generation gen has not
// received yet and marks them received; last is the sequence number of
// the last event received, closed reports that the stream has ended and
// why. A reader that another has taken over from gets kicked and nothing.
func (s *stream) take(gen uint64, max int) (evs []event, last uint64, closed bool, reason string, kicked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		// The wake this reader consumed may have been meant for the new one.
		s.signalLocked()
		return nil, s.sent, s.closed, s.reason, true
	}
	evs = s.buf.after(s.sent, max)
	if n := len(evs); n > 0 {
		s.sent = evs[n-1].seq
	}
	return evs, s.sent, s.closed, s.reason, false
}

// eventID is the SSE id of the event seq.
func (s *stream) eventID(seq uint64) string { return s.id + "-" + strconv.FormatUint(seq, 10) }

// resumeFrom rewinds the stream to replay every event after seq and
// attaches the caller as its reader (see attach), in one step so that the
// stream cannot expire in between; it fails when some of those events are
// no longer buffered.
func (s *stream) resumeFrom(seq uint64) (gen uint64, kick <-chan struct{}, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldest := s.next
	if s.buf.len() > 0 {
		oldest = s.buf.front().seq
	}
	// seq must be an id handed out (at most sent) whose successors are
	// all still buffered.
	if s.closed || seq > s.sent || seq+1 < oldest {
		return 0, nil, false
	}
	s.sent = seq
	gen, kick = s.attachLocked()
	return gen, kick, true
}

// attach makes the caller the stream's reader; a previous reader is told
// to stop through its kick channel. It returns the generation to detach
// with and the caller's own kick channel.
func (s *stream) attach() (uint64, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attachLocked()
}

func (s *stream) attachLocked() (uint64, <-chan struct{}) {
	if s.kick != nil {
		close(s.kick)
	}
	s.gen++
	s.kick = make(chan struct{})
	s.attached = true
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	return s.gen, s.kick
}

// detach ends the reader of generation gen; unless another has taken
// over, the stream waits ResumeWindow for one, then ends.
func (s *stream) detach(gen uint64) {
	window := s.reg.limits.ResumeWindow
	s.mu.Lock()
	if s.gen != gen || s.closed {
		s.mu.Unlock()
		return
	}
	s.attached = false
	s.kick = nil
	if window > 0 {
		s.expiry = time.AfterFunc(window, func() { s.expire(gen) })
		s.mu.Unlock()
		return
	}
	s.closeLocked("expired")
	s.mu.Unlock()
	s.reg.drop(s)
}

// expire closes a stream nobody resumed in time.
func (s *stream) expire(gen uint64) {
	s.mu.Lock()
	if s.gen != gen || s.attached || s.closed {
		s.mu.Unlock()
		return
	}
	s.closeLocked("expired")
	s.mu.Unlock()
	s.reg.drop(s)
}

func (s *stream) closeLocked(reason string) {
	s.closed, s.reason = true, reason
	s.buf = ring{}
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	s.signalLocked()
}

// registry holds a Listener's streams.
type registry struct {
	limits *Limits
	log    *slog.Logger

	mu      sync.Mutex
	streams map[string]*stream
	perUser map[string]int
	closed  bool
	wg      sync.WaitGroup // releases in progress

	opened, resumed, slow, refused uint64 // under mu
}

func newRegistry(l *Limits, log *slog.Logger) *registry {
	return &registry{limits: l, log: log, streams: make(map[string]*stream), perUser: make(map[string]int)}
}

// Errors of open.
var (
	errTooManyStreams = &requestError{msg: "too many streams open on this server", code: packets.ServerBusy}
	errUserStreams    = &requestError{msg: "too many streams open for this user", code: packets.QuotaExceeded}
)

// open creates a stream subscribed to filter for c, which it takes
// ownership of (it closes c on failure and when the stream ends).
func (r *registry) open(c *broker.Client, own string, filter string, qos byte) (*stream, error) {
	info := c.Info()
	s := &stream{
		id:     newStreamID(),
		owner:  own,
		user:   info.Username,
		filter: filter,
		qos:    qos,
		reg:    r,
		client: c,
		next:   1,
		wake:   make(chan struct{}, 1),
	}
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		c.Close()
		return nil, errShuttingDown
	case len(r.streams) >= r.limits.MaxStreams:
		r.refused++
		r.mu.Unlock()
		c.Close()
		return nil, errTooManyStreams
	case r.limits.MaxStreamsPerUser > 0 && r.perUser[s.user] >= r.limits.MaxStreamsPerUser:
		r.refused++
		r.mu.Unlock()
		c.Close()
		return nil, errUserStreams
	}
	r.streams[s.id] = s
	r.perUser[s.user]++
	r.mu.Unlock()

	// The subscription lives as long as the Client: closing the Client
	// cancels it.
	if _, err := c.Subscribe(filter, qos, s.push); err != nil {
		s.mu.Lock()
		s.closeLocked("refused")
		s.mu.Unlock()
		r.drop(s)
		return nil, err
	}
	r.mu.Lock()
	r.opened++
	r.mu.Unlock()
	return s, nil
}

// resume finds the stream of lastEventID ("<stream>-<seq>"), rewinds it
// and attaches the caller as its reader, if own opened it with the same
// filter and QoS and every event after seq is still buffered. A stream of
// own's that cannot be resumed is closed: its client starts over.
func (r *registry) resume(lastEventID, own, filter string, qos byte) (s *stream, gen uint64, kick <-chan struct{}) {
	id, seqText, ok := strings.Cut(lastEventID, "-")
	if !ok {
		return nil, 0, nil
	}
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil {
		return nil, 0, nil
	}
	r.mu.Lock()
	s = r.streams[id]
	r.mu.Unlock()
	if s == nil || s.owner != own || s.filter != filter || s.qos != qos {
		return nil, 0, nil
	}
	gen, kick, ok = s.resumeFrom(seq)
	if !ok {
		s.mu.Lock()
		s.closeLocked("gap")
		s.mu.Unlock()
		r.drop(s)
		return nil, 0, nil
	}
	r.mu.Lock()
	r.resumed++
	r.mu.Unlock()
	return s, gen, kick
}

// drop forgets a closed stream and closes its Client. Before the
// registry closes, that happens on a goroutine of its own: drop may run on
// the broker's delivery goroutine for the stream (push), which
// Client.Close waits for. Once the registry is closed every stream is, so
// push no longer drops, and the release is done in place.
func (r *registry) drop(s *stream) {
	r.mu.Lock()
	if r.streams[s.id] == s {
		delete(r.streams, s.id)
		if r.perUser[s.user]--; r.perUser[s.user] <= 0 {
			delete(r.perUser, s.user)
		}
	}
	closed := r.closed
	if !closed {
		r.wg.Add(1)
	}
	r.mu.Unlock()
	if closed {
		s.release.Do(s.client.Close)
		return
	}
	go func() {
		defer r.wg.Done()
		s.release.Do(s.client.Close)
	}()
}

func (r *registry) slowClosed() {
	r.mu.Lock()
	r.slow++
	r.mu.Unlock()
}

// close ends every stream (at Close) and waits for their releases.
func (r *registry) close() {
	r.mu.Lock()
	r.closed = true
	all := make([]*stream, 0, len(r.streams))
	for _, s := range r.streams {
		all = append(all, s)
	}
	r.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		s.closeLocked("shutdown")
		s.mu.Unlock()
		r.drop(s)
	}
	r.wg.Wait()
}

func (r *registry) stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Streams: len(r.streams), StreamsOpened: r.opened, Resumed: r.resumed, SlowClosed: r.slow, Refused: r.refused}
}

// newStreamID returns 128 random bits in hex: unguessable, so that a
// stream's id is no way into it for another client.
func newStreamID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ring is a FIFO of events that tracks its size in bytes.
type ring struct {
	evs   []event
	head  int
	n     int
	bytes int
}

func (q *ring) len() int { return q.n }

func (q *ring) front() *event { return &q.evs[q.head] }

func (q *ring) push(e event) {
	if q.n == len(q.evs) {
		grown := make([]event, max(2*len(q.evs), 16))
		for i := range q.n {
			grown[i] = q.evs[(q.head+i)%len(q.evs)]
		}
		q.evs, q.head = grown, 0
	}
	q.evs[(q.head+q.n)%len(q.evs)] = e
	q.n++
	q.bytes += len(e.data)
}

func (q *ring) pop() {
	e := &q.evs[q.head]
	q.bytes -= len(e.data)
	*e = event{}
	q.head = (q.head + 1) % len(q.evs)
	q.n--
}

// after returns up to max events with a sequence number above seq, in
// order. Sequence numbers in the ring are consecutive.
func (q *ring) after(seq uint64, max int) []event {
	if q.n == 0 {
		return nil
	}
	start := 0
	if first := q.front().seq; seq >= first {
		start = int(min(seq-first+1, uint64(q.n)))
	}
	n := min(q.n-start, max)
	if n <= 0 {
		return nil
	}
	out := make([]event, n)
	for i := range out {
		out[i] = q.evs[(q.head+start+i)%len(q.evs)]
	}
	return out
}
