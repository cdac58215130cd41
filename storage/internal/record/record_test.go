package record

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ternmq/broker/storage"
)

var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
}

// encoded is one value of every kind, with its decoder, for the table
// tests below.
type encoded struct {
	name   string
	value  any
	enc    []byte
	decode func(v []byte) (any, error)
}

func samples() []encoded {
	full := storage.Message{
		Topic: "a/b/☃", Payload: []byte("payload"), QoS: 2, Retain: true,
		Properties: []byte{3, 0x01, 1, 0xAA},
		// Before 1970 and with nanoseconds: negative varint seconds.
		Expiry: time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
	}
	bare := storage.Message{Topic: "t"}
	q := &storage.Queued{Seq: 7, Message: full}
	sub := storage.Subscription{Filter: "$share/g/#", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2, ID: 0xFFFFFFFF}
	ses := &storage.Session{ClientID: "c", Version: 5, ExpiryInterval: 0xFFFFFFFF,
		DisconnectedAt: time.Date(2025, 6, 1, 12, 0, 0, 5, time.UTC), AwaitingRel: []uint16{1, 65535}}
	return []encoded{
		{"queued", q, EncodeQueued(&full), func(v []byte) (any, error) { return DecodeQueued(7, v) }},
		{"queued bare", &storage.Queued{Seq: 1, Message: bare}, EncodeQueued(&bare), func(v []byte) (any, error) { return DecodeQueued(1, v) }},
		{"retained", &full, EncodeRetained(&full), func(v []byte) (any, error) { return DecodeRetained([]byte(full.Topic), v) }},
		{"will", &storage.Will{Message: full, Delay: 300}, EncodeWill(&storage.Will{Message: full, Delay: 300}),
			func(v []byte) (any, error) { return DecodeWill([]byte("c"), v) }},
		{"session", ses, EncodeSession(ses), func(v []byte) (any, error) { return DecodeSession([]byte("c"), v) }},
		{"session bare", &storage.Session{ClientID: "c"}, EncodeSession(&storage.Session{ClientID: "c"}),
			func(v []byte) (any, error) { return DecodeSession([]byte("c"), v) }},
		{"subscription", sub, EncodeSubscription(&sub), func(v []byte) (any, error) { return DecodeSubscription([]byte("c"), []byte(sub.Filter), v) }},
	}
}

func TestEncodingRoundTrips(t *testing.T) {
	for _, s := range samples() {
		got, err := s.decode(s.enc)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if d := cmp.Diff(s.value, got, cmpOpts); d != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, d)
		}
	}
}

// A value cut short must fail to decode, never panic; only a cut inside a
// message's payload, which runs to the end of the value, goes unnoticed.
func TestEncodingTruncatedIsAnError(t *testing.T) {
	for _, s := range samples() {
		for n := range len(s.enc) {
			_, err := s.decode(s.enc[:n])
			if err == nil && n < len(s.enc)-payloadLen(s.value) {
				t.Errorf("%s cut to %d of %d bytes decoded without error", s.name, n, len(s.enc))
			}
		}
	}
}

// payloadLen is the length of v's payload, if it has one: the part of an
// encoding a cut cannot be detected in.
func payloadLen(v any) int {
	switch v := v.(type) {
	case *storage.Queued:
		return len(v.Payload)
	case *storage.Message:
		return len(v.Payload)
	case *storage.Will:
		return len(v.Payload)
	}
	return 0
}

func TestEncodingUnknownVersionIsAnError(t *testing.T) {
	for _, s := range samples() {
		v := append([]byte(nil), s.enc...)
		v[0] = 2
		if _, err := s.decode(v); !errors.Is(err, errVersion) {
			t.Errorf("%s with version 2: got %v, want errVersion", s.name, err)
		}
	}
}

// The queue entry's state and packet id sit where Update patches them.
func TestEncodingQueuedPatchOffsets(t *testing.T) {
	v := EncodeQueued(&storage.Message{Topic: "t", Payload: []byte("p")})
	v[QueuedStateAt] = storage.StateReleased
	v[QueuedPacketIDAt], v[QueuedPacketIDAt+1] = 0x12, 0x34
	q, err := DecodeQueued(1, v)
	if err != nil {
		t.Fatal(err)
	}
	if q.State != storage.StateReleased || q.PacketID != 0x1234 || string(q.Payload) != "p" {
		t.Fatalf("patched entry decoded as %+v", q)
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder: errors are fine,
// panics and huge allocations are not.
func FuzzDecode(f *testing.F) {
	for _, s := range samples() {
		f.Add(s.enc)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		for _, s := range samples() {
			_, _ = s.decode(v)
		}
	})
}

func BenchmarkEncodeQueued(b *testing.B) {
	m := &storage.Message{Topic: "bench/sensors/42/temp", Payload: bytes.Repeat([]byte{'x'}, 256), QoS: 1}
	b.ReportAllocs()
	for b.Loop() {
		_ = EncodeQueued(m)
	}
}

func BenchmarkDecodeQueued(b *testing.B) {
	v := EncodeQueued(&storage.Message{Topic: "bench/sensors/42/temp", Payload: bytes.Repeat([]byte{'x'}, 256), QoS: 1})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeQueued(1, v); err != nil {
			b.Fatal(err)
		}
	}
}
