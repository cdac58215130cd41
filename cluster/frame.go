package cluster

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ternmq/broker"
)

// Node links carry frames: a 4-byte big-endian length, a type byte, then
// the body. Integers in bodies are uvarints, strings and byte strings are
// a uvarint length then the bytes (nil byte strings are length 0 after a
// presence flag where nil and empty differ).

// Frame types.
const (
	frameHello byte = 1 // dialer → listener, first frame: protocol version, node id
	frameMsg   byte = 2 // a routed message
	frameAck   byte = 3 // listener → dialer: a message or sync accepted (or refused), with the shared groups it could not serve
	frameSync  byte = 4 // dialer → listener: acknowledge once routes up to a revision are applied
)

// linkVersion is the version of the frame format, sent in hello.
const linkVersion = 1

// maxFrame bounds one frame: a message of the broker's largest packet
// size plus its properties fits.
const maxFrame = 300 << 20

// Flags of a message frame.
const (
	flagQoS    = 0x03
	flagRetain = 0x04
	flagUTF8   = 0x08
	flagAck    = 0x10 // the sender waits for an ack
	flagCorr   = 0x20 // CorrelationData present (it may be empty)
	flagGroups = 0x40 // SharedGroups present (it may be empty), after the payload
	flagOnly   = 0x80 // SharedGroupsOnly: to those groups only
)

// maxExpiryMillis is the largest message expiry a frame carries, in
// milliseconds: the largest a time.Duration holds.
const maxExpiryMillis = uint64(1<<63-1) / uint64(time.Millisecond)

// errFrame reports a malformed frame.
var errFrame = errors.New("cluster: malformed link frame")

// frame is one decoded frame.
type frame struct {
	kind    byte
	seq     uint64
	code    byte   // ack
	rev     uint64 // sync
	node    string // hello
	wantAck bool
	msg     *broker.Message
	// unserved (ack) lists, by index into the message's SharedGroups, the
	// groups the receiving node had no member for: the sender gives them
	// to another node (see serveMissed).
	unserved []uint64
}

// appendFrame appends the encoding of f to dst.
func appendFrame(dst []byte, f *frame) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, f.kind)
	switch f.kind {
	case frameHello:
		dst = binary.AppendUvarint(dst, linkVersion)
		dst = appendString(dst, f.node)
	case frameAck:
		dst = binary.AppendUvarint(dst, f.seq)
		dst = append(dst, f.code)
		if len(f.unserved) > 0 {
			// Last, and only when there is one: a node of the previous
			// version reads no further.
			dst = binary.AppendUvarint(dst, uint64(len(f.unserved)))
			for _, i := range f.unserved {
				dst = binary.AppendUvarint(dst, i)
			}
		}
	case frameSync:
		dst = binary.AppendUvarint(dst, f.seq)
		dst = binary.AppendUvarint(dst, f.rev)
	case frameMsg:
		m := f.msg
		flags := m.QoS & flagQoS
		if m.Retain {
			flags |= flagRetain
		}
		if m.PayloadUTF8 {
			flags |= flagUTF8
		}
		if f.wantAck {
			flags |= flagAck
		}
		if m.CorrelationData != nil {
			flags |= flagCorr
		}
		if m.SharedGroups != nil {
			flags |= flagGroups
			if m.SharedGroupsOnly {
				flags |= flagOnly
			}
		}
		dst = binary.AppendUvarint(dst, f.seq)
		dst = append(dst, flags)
		dst = binary.AppendUvarint(dst, uint64(m.Expiry/time.Millisecond))
		dst = appendString(dst, m.Topic)
		dst = appendString(dst, m.ContentType)
		dst = appendString(dst, m.ResponseTopic)
		dst = appendBytes(dst, m.CorrelationData)
		dst = binary.AppendUvarint(dst, uint64(len(m.UserProperties)))
		for _, u := range m.UserProperties {
			dst = appendString(dst, u.Key)
			dst = appendString(dst, u.Value)
		}
		dst = appendString(dst, m.ClientID)
		dst = appendBytes(dst, m.Payload)
		if m.SharedGroups != nil {
			// Last, so that a node of the previous link version, which
			// reads no further, still reads the rest.
			dst = binary.AppendUvarint(dst, uint64(len(m.SharedGroups)))
			for _, g := range m.SharedGroups {
				dst = appendString(dst, g)
			}
		}
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// readFrame reads one frame from r into f, using buf as scratch; it
// returns the buffer to reuse.
func readFrame(r *bufio.Reader, buf []byte, f *frame) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return buf, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxFrame {
		return buf, fmt.Errorf("%w: length %d", errFrame, n)
	}
	if cap(buf) >= int(n) {
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return buf, err
		}
		return buf, decodeFrame(buf, f)
	}
	// A larger buffer grows with the bytes that arrive, not with the
	// length the peer declares: a header alone costs no 300 MiB.
	buf = buf[:0]
	for len(buf) < int(n) {
		step := min(int(n)-len(buf), max(len(buf), 64<<10))
		buf = slices.Grow(buf, step)
		got, err := io.ReadFull(r, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+got]
		if err != nil {
			return buf, err
		}
	}
	return buf, decodeFrame(buf, f)
}

// decodeFrame decodes one frame body (type byte first). A message's
// strings and byte slices are copies: the frame owns them.
func decodeFrame(b []byte, f *frame) error {
	d := decoder{b: b[1:]}
	*f = frame{kind: b[0]}
	switch f.kind {
	case frameHello:
		if v := d.uvarint(); v != linkVersion && d.err == nil {
			return fmt.Errorf("%w: link version %d, want %d", errFrame, v, linkVersion)
		}
		f.node = d.string()
	case frameAck:
		f.seq = d.uvarint()
		f.code = d.byte()
		if len(d.b) > 0 && d.err == nil {
			if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
				f.unserved = make([]uint64, n)
				for i := range f.unserved {
					f.unserved[i] = d.uvarint()
				}
			} else if n > 0 {
				d.err = errFrame
			}
		}
	case frameSync:
		f.seq = d.uvarint()
		f.rev = d.uvarint()
	case frameMsg:
		m := &broker.Message{}
		f.seq = d.uvarint()
		flags := d.byte()
		m.QoS = flags & flagQoS
		m.Retain = flags&flagRetain != 0
		m.PayloadUTF8 = flags&flagUTF8 != 0
		f.wantAck = flags&flagAck != 0
		if ms := d.uvarint(); ms <= maxExpiryMillis {
			m.Expiry = time.Duration(ms) * time.Millisecond
		} else {
			d.err = errFrame // a negative or wrapped Duration
		}
		m.Topic = d.string()
		m.ContentType = d.string()
		m.ResponseTopic = d.string()
		m.CorrelationData = d.bytes()
		if flags&flagCorr != 0 && m.CorrelationData == nil {
			m.CorrelationData = []byte{}
		}
		if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
			m.UserProperties = make([]broker.UserProperty, n)
			for i := range m.UserProperties {
				m.UserProperties[i] = broker.UserProperty{Key: d.string(), Value: d.string()}
			}
		} else if n > 0 {
			d.err = errFrame
		}
		m.ClientID = d.string()
		m.Payload = d.bytes()
		if flags&flagGroups != 0 {
			if n := d.uvarint(); n <= uint64(len(d.b)) {
				m.SharedGroups = make([]string, n)
				for i := range m.SharedGroups {
					m.SharedGroups[i] = d.string()
				}
				m.SharedGroupsOnly = flags&flagOnly != 0
			} else {
				d.err = errFrame
			}
		}
		f.msg = m
	default:
		return fmt.Errorf("%w: type %d", errFrame, f.kind)
	}
	if d.err != nil {
		return fmt.Errorf("%w: frame type %d truncated", errFrame, f.kind)
	}
	return nil
}

// decoder reads a frame body; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errFrame
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errFrame
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errFrame
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.raw()) }

func (d *decoder) bytes() []byte {
	v := d.raw()
	if len(v) == 0 {
		return nil
	}
	return append([]byte(nil), v...)
}
