package packets

import (
	"io"
	"strconv"
	"sync"
)

// Buffer size classes of the Reader. A packet larger than the largest class
// gets a buffer of exactly its size, which is not pooled.
var bufClasses = [...]int{4 << 10, 64 << 10}

// bufPools hold *[]byte of the sizes in bufClasses.
var bufPools [len(bufClasses)]sync.Pool

func init() {
	for i, size := range bufClasses {
		bufPools[i].New = func() any { b := make([]byte, size); return &b }
	}
}

// smallSize is the inline buffer a Reader waits in: enough for a fixed
// header and a few small packets (acks, PINGREQ), so an idle connection
// holds no pooled buffer.
const smallSize = 16

// Reader cuts MQTT packets out of a byte stream, usually a net.Conn.
//
// While waiting for a packet it reads into a small inline array. Once bytes
// arrive and do not fit there, it takes a buffer from a pool and reads as
// much as the connection has ready, so that several packets are served from
// one Read; when that buffer is drained it goes back to the pool. The
// maximum packet size is enforced from the fixed header, before the body
// is read or a buffer allocated for it; below the maximum, the buffer of a
// large packet grows with the bytes that arrive, not with the length the
// peer claims. A Reader must not be copied and is
// not safe for concurrent use.
type Reader struct {
	r        io.Reader
	max      int
	buf      []byte  // small[:], a pooled buffer (pooled != nil) or an exact-size one
	pooled   *[]byte // the pool entry buf comes from
	class    int     // index of pooled in bufPools
	pos, end int     // unread bytes are buf[pos:end]
	full     bool    // the last Read filled buf: more bytes probably wait
	err      error   // a Read error kept until the bytes before it are used
	small    [smallSize]byte
}

// NewReader returns a Reader of packets from r, refusing packets larger
// than maxPacketSize bytes (fixed header included); maxPacketSize <= 0
// means MaxPacketSize, the protocol's limit.
func NewReader(r io.Reader, maxPacketSize int) *Reader {
	rd := &Reader{r: r}
	rd.buf = rd.small[:]
	rd.SetMaxPacketSize(maxPacketSize)
	return rd
}

// SetMaxPacketSize changes the largest packet Next accepts, fixed header
// included; n <= 0 means MaxPacketSize. A v5 broker sets it to the Maximum
// Packet Size it announced in CONNACK.
func (r *Reader) SetMaxPacketSize(n int) {
	if n <= 0 || n > MaxPacketSize {
		n = MaxPacketSize
	}
	r.max = n
}

// Buffered returns the number of bytes read from the connection and not yet
// returned by Next.
func (r *Reader) Buffered() int { return r.end - r.pos }

// HasPacket reports whether a whole packet is buffered: the next call to
// Next returns it without reading from the connection.
func (r *Reader) HasPacket() bool {
	fh, n, err := ReadFixedHeader(r.buf[r.pos:r.end])
	return err == nil && r.end-r.pos >= n+fh.Remaining
}

// Next returns the next packet's fixed header and body. The body aliases
// the Reader's buffer and is valid until the next call to Next or Release.
// Errors: io.EOF when the stream ends between packets, io.ErrUnexpectedEOF
// when it ends inside one, a MalformedPacket *Error for packet type 0 or a
// bad remaining length, a PacketTooLarge *Error for a packet over the
// maximum size (nothing of its body is read), or the connection's error.
// After an error other than a connection timeout the stream cannot be
// resynchronised; close it.
func (r *Reader) Next() (FixedHeader, []byte, error) {
	if r.pos == r.end {
		r.drained()
	}
	var fh FixedHeader
	var n int
	for {
		var err error
		fh, n, err = ReadFixedHeader(r.buf[r.pos:r.end])
		if err == nil {
			break
		}
		if err != ErrNeedMore {
			return fh, nil, err
		}
		if err = r.fill(r.end - r.pos + 1); err != nil {
			return fh, nil, err
		}
	}
	total := n + fh.Remaining
	if total > r.max {
		return fh, nil, newError(fh.Type, "remaining length",
			"packet of "+strconv.Itoa(total)+" bytes exceeds the maximum of "+strconv.Itoa(r.max), PacketTooLarge)
	}
	if r.end-r.pos < total {
		if err := r.fill(total); err != nil {
			return fh, nil, err
		}
	}
	start, stop := r.pos+n, r.pos+total
	r.pos = stop
	return fh, r.buf[start:stop:stop], nil
}

// drained is called when every buffered byte has been returned: a pooled
// buffer goes back to the pool unless the last Read filled it (then more
// bytes are probably waiting and will be read into it); an exact-size
// buffer is dropped.
func (r *Reader) drained() {
	r.pos, r.end = 0, 0
	if r.pooled != nil && r.full {
		return
	}
	r.toSmall()
}

// toSmall gives back any pooled buffer and returns to the inline array.
func (r *Reader) toSmall() {
	if r.pooled != nil {
		bufPools[r.class].Put(r.pooled)
		r.pooled = nil
	}
	r.buf = r.small[:]
}

// fill reads until at least need bytes are buffered from pos on, moving to
// a bigger buffer whenever need does not fit.
func (r *Reader) fill(need int) error {
	for empty := 0; r.end-r.pos < need; {
		if r.err != nil {
			return r.readErr()
		}
		if need > len(r.buf)-r.pos || (r.isSmall() && r.full) {
			r.grow(need)
		}
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		r.full = r.end == len(r.buf)
		r.err = err
		if n > 0 {
			empty = 0
		} else if empty++; empty == 100 && err == nil {
			r.err = io.ErrNoProgress
		}
	}
	return nil
}

// isSmall reports whether r reads into its inline array.
func (r *Reader) isSmall() bool { return r.pooled == nil && len(r.buf) == smallSize }

// readErr turns a Read error into the error of Next: io.EOF at a packet
// boundary, io.ErrUnexpectedEOF inside a packet.
func (r *Reader) readErr() error {
	err := r.err
	if err == io.EOF && r.end > r.pos {
		return io.ErrUnexpectedEOF
	}
	if err != io.EOF && !isTimeout(err) {
		return err
	}
	// EOF at a boundary and timeouts are not sticky: a deadline may be
	// extended and Next called again.
	r.err = nil
	return err
}

// isTimeout reports whether err is a net.Error timeout (or any error with
// a Timeout method returning true).
func isTimeout(err error) bool {
	t, ok := err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

// grow moves the buffered bytes to the start of a buffer for a packet of
// need bytes: the current buffer when it is large enough, otherwise one
// from the smallest fitting pool class, or an allocation of exactly need
// bytes. An allocation grows at most to twice what has arrived (and 128 KiB
// at first), so a peer that claims a huge packet and sends nothing does not
// make the Reader allocate the size it claims. After the inline array
// filled up, more bytes probably wait: grow to a pooled buffer even when
// need is small.
func (r *Reader) grow(need int) {
	have := r.end - r.pos
	size := need
	upgrade := r.isSmall() && r.full
	if last := bufClasses[len(bufClasses)-1]; size > last {
		size = min(size, 2*max(have, last))
	}
	if size <= len(r.buf) && !upgrade {
		r.compact()
		return
	}
	var nb []byte
	var np *[]byte
	class := 0
	for class < len(bufClasses) && bufClasses[class] < size {
		class++
	}
	if class < len(bufClasses) {
		np = bufPools[class].Get().(*[]byte)
		nb = *np
	} else {
		nb = make([]byte, size)
	}
	n := copy(nb, r.buf[r.pos:r.end])
	if r.pooled != nil {
		bufPools[r.class].Put(r.pooled)
	}
	r.buf, r.pooled, r.class = nb, np, class
	r.pos, r.end = 0, n
	r.full = false
}

// compact moves the buffered bytes to the start of buf.
func (r *Reader) compact() {
	if r.pos > 0 {
		r.end = copy(r.buf, r.buf[r.pos:r.end])
		r.pos = 0
	}
}

// Release gives the Reader's pooled buffer back; call it when a connection
// goes idle for long or closes. Bytes already buffered are kept (copied to
// the inline array, or to an exact-size buffer when they do not fit), so
// Next works afterwards. The last body returned by Next becomes invalid.
func (r *Reader) Release() {
	r.full = false
	if r.pooled == nil {
		// The inline array or an exact-size buffer: nothing to give back.
		// An exact-size buffer is dropped once drained.
		if r.pos == r.end {
			r.pos, r.end = 0, 0
			r.buf = r.small[:]
		}
		return
	}
	n := r.end - r.pos
	nb := r.small[:]
	if n > smallSize {
		nb = make([]byte, n)
	}
	copy(nb, r.buf[r.pos:r.end])
	bufPools[r.class].Put(r.pooled)
	r.pooled = nil
	r.buf, r.pos, r.end = nb, 0, n
}
