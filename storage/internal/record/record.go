// Package record is the binary value format shared by the persistent
// storage backends (bolt, etcd), so both store the same bytes.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ternmq/broker/storage"
)

// Values are encoded by hand rather than with encoding/gob or JSON: gob
// writes its type descriptions into every standalone value and allocates
// heavily to decode, JSON base64-encodes payloads; either would cost more
// than bbolt itself on the QoS 1 path. The format is small enough to read
// in one sitting and every value starts with a version byte, so a later
// format can be told apart and decoded alongside this one. Decoding
// checks every length, so a damaged value is an error, never a panic.
//
// Version 1, integers big-endian unless marked uvarint/varint:
//
//	message:      qos(1) flags(1: 1 retain, 2 has expiry) [expiry: time]
//	              topic-len(uvarint) topic props-len(uvarint) props payload(rest)
//	time:         seconds(varint) nanoseconds(uvarint)
//	queue entry:  1 state(1) packet-id(2) message
//	retained:     1 message
//	will:         1 delay(4) message
//	session:      1 version(1) expiry-interval(4) flags(1: 1 disconnected)
//	              [disconnected-at: time] count(uvarint) packet-id(2)×count
//	subscription: 1 qos(1) flags(1: 1 no local, 2 retain as published)
//	              retain-handling(1) id(uvarint)
//
// The key carries what it can (client id, topic of retained, filter, seq)
// and is not repeated in the value, except a message's topic.

const FormatV1 = 1

// Offsets in a version 1 queue entry, which Update patches in place.
const (
	QueuedStateAt    = 1
	QueuedPacketIDAt = 2
	QueuedMessageAt  = 4
)

const (
	msgRetain    = 1
	msgHasExpiry = 2

	sesDisconnected = 1

	subNoLocal = 1
	subRAP     = 2
)

// ErrVersion is returned for a value in a format version this code does not know.
var ErrVersion = errors.New("unknown format version")

// errTruncated and errVersion are what decoding reports; wrapped with
// what was being decoded.
var (
	errTruncated = errors.New("truncated value")
	errVersion   = ErrVersion
)

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// MessageSize is an upper bound of m's encoded size.
func MessageSize(m *storage.Message) int {
	return 2 + 2*binary.MaxVarintLen64 + 2*binary.MaxVarintLen64 + len(m.Topic) + len(m.Properties) + len(m.Payload)
}

func appendMessage(b []byte, m *storage.Message) []byte {
	var flags byte
	if m.Retain {
		flags |= msgRetain
	}
	if !m.Expiry.IsZero() {
		flags |= msgHasExpiry
	}
	b = append(b, m.QoS, flags)
	if flags&msgHasExpiry != 0 {
		b = appendTime(b, m.Expiry)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Topic)))
	b = append(b, m.Topic...)
	b = appendBytes(b, m.Properties)
	return append(b, m.Payload...)
}

// EncodeQueued encodes a new queue entry for m.
func EncodeQueued(m *storage.Message) []byte {
	b := make([]byte, QueuedMessageAt, QueuedMessageAt+MessageSize(m))
	b[0] = FormatV1 // state and packet id start at zero
	return appendMessage(b, m)
}

func EncodeRetained(m *storage.Message) []byte {
	b := make([]byte, 0, 1+MessageSize(m))
	return appendMessage(append(b, FormatV1), m)
}

func EncodeWill(w *storage.Will) []byte {
	b := make([]byte, 0, 5+MessageSize(&w.Message))
	b = append(b, FormatV1)
	b = binary.BigEndian.AppendUint32(b, w.Delay)
	return appendMessage(b, &w.Message)
}

func EncodeSession(s *storage.Session) []byte {
	b := make([]byte, 0, 7+2*binary.MaxVarintLen64+binary.MaxVarintLen64+2*len(s.AwaitingRel))
	var flags byte
	if !s.DisconnectedAt.IsZero() {
		flags |= sesDisconnected
	}
	b = append(b, FormatV1, s.Version)
	b = binary.BigEndian.AppendUint32(b, s.ExpiryInterval)
	b = append(b, flags)
	if flags&sesDisconnected != 0 {
		b = appendTime(b, s.DisconnectedAt)
	}
	b = binary.AppendUvarint(b, uint64(len(s.AwaitingRel)))
	for _, id := range s.AwaitingRel {
		b = binary.BigEndian.AppendUint16(b, id)
	}
	return b
}

func EncodeSubscription(s *storage.Subscription) []byte {
	var flags byte
	if s.NoLocal {
		flags |= subNoLocal
	}
	if s.RetainAsPublished {
		flags |= subRAP
	}
	b := make([]byte, 0, 4+binary.MaxVarintLen32)
	b = append(b, FormatV1, s.QoS, flags, s.RetainHandling)
	return binary.AppendUvarint(b, uint64(s.ID))
}

// decoder reads a value front to back; the first error sticks and later
// reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errTruncated
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uint16() uint16 {
	if len(d.b) < 2 {
		d.fail()
		return 0
	}
	v := binary.BigEndian.Uint16(d.b)
	d.b = d.b[2:]
	return v
}

func (d *decoder) uint32() uint32 {
	if len(d.b) < 4 {
		d.fail()
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns the next n bytes, not copied.
func (d *decoder) bytes(n uint64) []byte {
	if uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail()
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec))
}

func (d *decoder) version() {
	if v := d.byte(); d.err == nil && v != FormatV1 {
		d.err = fmt.Errorf("%w %d", errVersion, v)
	}
}

// message decodes a message, copying its bytes out of the (bbolt-owned)
// input: payload and properties share one new array.
func (d *decoder) message(m *storage.Message) {
	m.QoS = d.byte()
	flags := d.byte()
	m.Retain = flags&msgRetain != 0
	if flags&msgHasExpiry != 0 {
		m.Expiry = d.time()
	}
	m.Topic = string(d.bytes(d.uvarint()))
	props := d.bytes(d.uvarint())
	if d.err != nil {
		return
	}
	payload := d.b
	d.b = nil
	if n := len(props) + len(payload); n > 0 {
		buf := make([]byte, n)
		copy(buf, payload)
		copy(buf[len(payload):], props)
		if len(payload) > 0 {
			m.Payload = buf[:len(payload):len(payload)]
		}
		if len(props) > 0 {
			m.Properties = buf[len(payload):]
		}
	}
}

// finish returns the decoder's error, or an error if bytes are left over.
// Callers say what they decoded only on error, so success formats nothing.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes after the end", len(d.b))
	}
	return d.err
}

func DecodeQueued(seq uint64, v []byte) (*storage.Queued, error) {
	q := &storage.Queued{Seq: seq}
	d := decoder{b: v}
	d.version()
	q.State = d.byte()
	q.PacketID = d.uint16()
	d.message(&q.Message)
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("decoding queue entry %d: %w", seq, err)
	}
	return q, nil
}

func DecodeRetained(topic, v []byte) (*storage.Message, error) {
	m := &storage.Message{}
	d := decoder{b: v}
	d.version()
	d.message(m)
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("decoding retained message %q: %w", topic, err)
	}
	return m, nil
}

func DecodeWill(clientID, v []byte) (*storage.Will, error) {
	w := &storage.Will{}
	d := decoder{b: v}
	d.version()
	w.Delay = d.uint32()
	d.message(&w.Message)
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("decoding will of %q: %w", clientID, err)
	}
	return w, nil
}

func DecodeSession(clientID, v []byte) (*storage.Session, error) {
	s := &storage.Session{ClientID: string(clientID)}
	d := decoder{b: v}
	d.version()
	s.Version = d.byte()
	s.ExpiryInterval = d.uint32()
	if d.byte()&sesDisconnected != 0 {
		s.DisconnectedAt = d.time()
	}
	// Bound the count by what is left before allocating for it.
	if n := d.uvarint(); n > 0 && d.err == nil {
		if n > uint64(len(d.b)/2) {
			d.fail()
		} else {
			s.AwaitingRel = make([]uint16, n)
			for i := range s.AwaitingRel {
				s.AwaitingRel[i] = d.uint16()
			}
		}
	}
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("decoding session %q: %w", clientID, err)
	}
	return s, nil
}

func DecodeSubscription(clientID, filter, v []byte) (storage.Subscription, error) {
	s := storage.Subscription{Filter: string(filter)}
	d := decoder{b: v}
	d.version()
	s.QoS = d.byte()
	flags := d.byte()
	s.NoLocal = flags&subNoLocal != 0
	s.RetainAsPublished = flags&subRAP != 0
	s.RetainHandling = d.byte()
	id := d.uvarint()
	if id > 0xFFFFFFFF {
		d.fail()
	}
	s.ID = uint32(id)
	if err := d.finish(); err != nil {
		return storage.Subscription{}, fmt.Errorf("decoding subscription %q of %q: %w", filter, clientID, err)
	}
	return s, nil
}
