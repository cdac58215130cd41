package httpbridge

import (
	"log/slog"
	"testing"

	"github.com/ternmq/broker"
)

func seqs(evs []event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.seq
	}
	return out
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRingAfter: after returns the events past a sequence number, in
// order, also once the ring has wrapped around and grown.
func TestRingAfter(t *testing.T) {
	var q ring
	for s := uint64(1); s <= 40; s++ {
		q.push(event{seq: s, data: []byte("x")})
		if q.len() > 10 {
			q.pop()
		}
	}
	tests := []struct {
		name  string
		after uint64
		max   int
		want  []uint64
	}{
		{"older than the ring", 0, 3, []uint64{31, 32, 33}},
		{"inside", 35, 100, []uint64{36, 37, 38, 39, 40}},
		{"the last", 40, 10, nil},
		{"past the last", 99, 10, nil},
		{"max 0", 30, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := seqs(q.after(tt.after, tt.max)); !equal(got, tt.want) {
				t.Errorf("after(%d, %d) = %v, want %v", tt.after, tt.max, got, tt.want)
			}
		})
	}
	if q.bytes != 10 {
		t.Errorf("bytes = %d, want 10", q.bytes)
	}
}

// TestStreamBuffer: events the reader has received make room for new
// ones; an event that would push out one it has not received closes the
// stream instead; resumption works only while every event after the id
// is buffered.
func TestStreamBuffer(t *testing.T) {
	lim := DefaultLimits
	lim.StreamBufferMessages = 4
	reg := newRegistry(&lim, slog.New(slog.DiscardHandler))
	s := &stream{id: "s", reg: reg, next: 1, wake: make(chan struct{}, 1), client: &broker.Client{}}
	s.release.Do(func() {}) // no broker behind this Client: nothing to close
	gen, _ := s.attach()
	msg := &broker.Message{Topic: "t", Payload: []byte("p")}

	for range 4 {
		s.push(msg)
	}
	if evs, _, _, _, _ := s.take(gen, 2); !equal(seqs(evs), []uint64{1, 2}) {
		t.Fatalf("take = %v", seqs(evs))
	}
	s.push(msg) // pushes out 1, which the reader has
	s.push(msg) // pushes out 2
	resumes := func(seq uint64) bool {
		g, _, ok := s.resumeFrom(seq)
		if ok {
			gen = g
		}
		return ok
	}
	if !resumes(2) || resumes(1) {
		t.Error("resumeFrom: 2 should be possible (3.. buffered), 1 not (2 is gone)")
	}
	if resumes(6) {
		t.Error("resumeFrom(6): 6 was never handed to a reader")
	}
	if !resumes(2) {
		t.Fatal("resumeFrom(2)")
	}
	s.push(msg) // 3 is not received: the stream closes
	_, _, closed, reason, _ := s.take(gen, 10)
	if !closed || reason != "overflow" {
		t.Errorf("closed %v reason %q, want overflow", closed, reason)
	}
	if st := reg.stats(); st.SlowClosed != 1 {
		t.Errorf("SlowClosed = %d", st.SlowClosed)
	}
	reg.close()
}
