package httpbridge

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"time"
)

// sseBatch is how many events one SSE write carries at most.
const sseBatch = 64

// defaultPollMax is a long poll's max when the request names none.
const defaultPollMax = 100

// subscribe serves GET /subscribe: Server-Sent Events, or a long poll when
// the query has wait or max. Both read a stream, new or resumed from
// Last-Event-ID (or the last_event_id query parameter).
func (l *Listener) subscribe(w http.ResponseWriter, r *http.Request, filter string) {
	q := r.URL.Query()
	qos, err := parseQoS(q.Get("qos"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	poll := q.Has("wait") || q.Has("max")
	var (
		wait time.Duration
		max  = defaultPollMax
	)
	if poll {
		if wait, err = parseWait(q.Get("wait")); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		wait = min(wait, l.limits.MaxWait)
		if s := q.Get("max"); s != "" {
			if max, err = strconv.Atoi(s); err != nil || max < 1 {
				writeError(w, http.StatusBadRequest, malformed("max must be a positive number of messages"))
				return
			}
		}
		max = min(max, l.limits.StreamBufferMessages)
	}
	lastID := r.Header.Get("Last-Event-ID")
	if q.Has("last_event_id") {
		lastID = q.Get("last_event_id")
	}

	c, secret, ok := l.client(w, r)
	if !ok {
		return
	}
	own := owner(c.Info(), secret)
	var (
		s    *stream
		gen  uint64
		kick <-chan struct{}
	)
	if lastID != "" {
		s, gen, kick = l.streams.resume(lastID, own, filter, qos)
	}
	resumed := s != nil
	if resumed {
		c.Close() // the stream acts as the Client that opened it
	} else {
		if s, err = l.streams.open(c, own, filter, qos); err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		gen, kick = s.attach()
	}
	defer s.detach(gen)
	if poll {
		l.poll(w, r, s, gen, kick, resumed, wait, max)
	} else {
		l.sse(w, r, s, gen, kick, resumed)
	}
}

// parseWait reads a long poll's wait: a Go duration ("30s", "1m") or a
// number of seconds.
func parseWait(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if secs, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(secs) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, malformed("wait must be a duration such as 30s, or a number of seconds")
	}
	return d, nil
}

// openJSON is the data of a stream's first SSE event.
type openJSON struct {
	Stream  string `json:"stream"`
	Resumed bool   `json:"resumed"`
	Filter  string `json:"filter"`
	QoS     byte   `json:"qos"`
}

// sse streams s's events as Server-Sent Events (WHATWG HTML, section
// 9.2): an "open" event naming the stream, then "message" events with the
// id "<stream>-<seq>", comment lines when quiet, and a "close" event with
// the reason when the stream ends on the server's side.
func (l *Listener) sse(w http.ResponseWriter, r *http.Request, s *stream, gen uint64, kick <-chan struct{}, resumed bool) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // no buffering in nginx
	w.WriteHeader(http.StatusOK)

	_, last, _, _, _ := s.take(gen, 0)
	open, _ := json.Marshal(openJSON{Stream: s.id, Resumed: resumed, Filter: s.filter, QoS: s.qos})
	buf := appendEvent(nil, "open", s.eventID(last), open)
	if !l.write(w, rc, buf) {
		return
	}
	keep := time.NewTicker(l.limits.KeepAlive)
	defer keep.Stop()
	for {
		evs, _, closed, reason, kicked := s.take(gen, sseBatch)
		if kicked {
			return
		}
		if closed && reason == "overflow" {
			// The reader fell a whole buffer behind: cut it now rather
			// than trickle the backlog to it.
			data, _ := json.Marshal(map[string]string{"reason": reason})
			l.write(w, rc, appendEvent(buf[:0], "close", "", data))
			abort(rc)
			return
		}
		if len(evs) > 0 {
			buf = buf[:0]
			for _, e := range evs {
				buf = appendEvent(buf, "message", s.eventID(e.seq), e.data)
			}
			if !l.write(w, rc, buf) {
				return
			}
			keep.Reset(l.limits.KeepAlive)
			if len(evs) == sseBatch {
				continue
			}
		}
		if closed {
			data, _ := json.Marshal(map[string]string{"reason": reason})
			l.write(w, rc, appendEvent(buf[:0], "close", "", data))
			return
		}
		select {
		case <-s.wake:
		case <-keep.C:
			if !l.write(w, rc, append(buf[:0], ": keep-alive\n\n"...)) {
				return
			}
		case <-kick:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// abort resets the connection of an overflowed stream: the backlog
// already in its socket's send buffer (megabytes, on a reader that has
// just opened its window) is discarded rather than trickled to it, and
// the connection is not kept for another request.
func abort(rc *http.ResponseController) {
	c, _, err := rc.Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS
		c = tc.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST and drops unsent data
	}
	_ = c.Close()
}

// appendEvent appends one SSE event; data is one line of JSON.
func appendEvent(dst []byte, name, id string, data []byte) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	if id != "" {
		dst = append(dst, "\nid: "...)
		dst = append(dst, id...)
	}
	dst = append(dst, "\ndata: "...)
	dst = append(dst, data...)
	return append(dst, "\n\n"...)
}

// write sends b and flushes it, within WriteTimeout.
func (l *Listener) write(w http.ResponseWriter, rc *http.ResponseController, b []byte) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(l.limits.WriteTimeout))
	if _, err := w.Write(b); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// pollJSON is the answer to a long poll.
type pollJSON struct {
	Stream      string            `json:"stream"`
	Resumed     bool              `json:"resumed"`
	LastEventID string            `json:"last_event_id"` // pass it back as last_event_id
	Messages    []json.RawMessage `json:"messages"`      // each a message with its "id"
	Closed      string            `json:"closed,omitempty"`
}

// poll answers with the events of s the client has not received, waiting
// up to wait for the first one.
func (l *Listener) poll(w http.ResponseWriter, r *http.Request, s *stream, gen uint64, kick <-chan struct{}, resumed bool, wait time.Duration, max int) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var (
		evs    []event
		last   uint64
		closed bool
		reason string
	)
loop:
	for {
		var kicked bool
		evs, last, closed, reason, kicked = s.take(gen, max)
		if len(evs) > 0 || closed || kicked {
			break
		}
		select {
		case <-s.wake:
		case <-timer.C:
			break loop
		case <-kick:
		case <-r.Context().Done():
			return
		}
	}
	out := pollJSON{Stream: s.id, Resumed: resumed, LastEventID: s.eventID(last), Messages: make([]json.RawMessage, len(evs))}
	if closed {
		out.Closed = reason
	}
	for i, e := range evs {
		// {"id":"<stream>-<seq>", then the message's own fields.
		m := make([]byte, 0, len(e.data)+len(s.id)+32)
		m = append(m, `{"id":"`...)
		m = append(m, s.eventID(e.seq)...)
		m = append(m, `",`...)
		out.Messages[i] = append(m, e.data[1:]...)
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(l.limits.RequestTimeout))
	writeJSON(w, http.StatusOK, out)
}
