package storagetest

import (
	"math/rand/v2"
	"testing"

	"github.com/ternmq/broker/storage"
)

// queued is the entry Append of message(i) with seq should produce.
func queued(seq uint64, i int) *storage.Queued {
	return &storage.Queued{Seq: seq, Message: *message(i)}
}

// appendN appends message(0) … message(n-1) to the client's queue and
// returns their sequence numbers, checking that they increase.
func appendN(t *testing.T, s storage.Store, clientID string, n int) []uint64 {
	t.Helper()
	seqs := make([]uint64, n)
	var last uint64
	for i := range n {
		seq, err := s.Queues().Append(t.Context(), clientID, message(i))
		mustOK(t, "Append", err)
		if seq <= last {
			t.Fatalf("Append %d returned seq %d after %d: not increasing (and 0 is reserved)", i, seq, last)
		}
		seqs[i], last = seq, seq
	}
	return seqs
}

// collectQueue returns the client's queue as Range visits it.
func collectQueue(t *testing.T, s storage.Store, clientID string) []*storage.Queued {
	t.Helper()
	var got []*storage.Queued
	mustOK(t, "Range", s.Queues().Range(t.Context(), clientID, func(q *storage.Queued) bool {
		got = append(got, q)
		return true
	}))
	return got
}

func testQueues(t *testing.T, open opener) {
	run(t, "UnknownClient", func(t *testing.T) {
		s := open(t)
		mustEqual(t, "Range", 0, len(collectQueue(t, s, "nobody")))
		mustBe(t, "Update", s.Queues().Update(t.Context(), "nobody", &storage.Queued{Seq: 1, State: storage.StateSent}), storage.ErrNotFound)
		mustBe(t, "Remove", s.Queues().Remove(t.Context(), "nobody", 1), storage.ErrNotFound)
		mustOK(t, "Clear", s.Queues().Clear(t.Context(), "nobody"))
	})
	run(t, "AppendThousandRangesInOrder", func(t *testing.T) {
		s := open(t)
		seqs := appendN(t, s, "c", 1000)
		var want []*storage.Queued
		for i, seq := range seqs {
			want = append(want, queued(seq, i))
		}
		mustEqual(t, "queue", want, collectQueue(t, s, "c"))
	})
	run(t, "RemoveFromMiddle", func(t *testing.T) {
		s := open(t)
		seqs := appendN(t, s, "c", 400)
		gone := map[int]bool{0: true, 399: true}
		for i := 3; i < 400; i += 7 {
			gone[i] = true
		}
		for i := 200; i < 260; i++ {
			gone[i] = true
		}
		for i := range gone {
			mustOK(t, "Remove", s.Queues().Remove(t.Context(), "c", seqs[i]))
		}
		var want []*storage.Queued
		for i, seq := range seqs {
			if !gone[i] {
				want = append(want, queued(seq, i))
			}
		}
		mustEqual(t, "queue", want, collectQueue(t, s, "c"))
		mustBe(t, "Remove twice", s.Queues().Remove(t.Context(), "c", seqs[3]), storage.ErrNotFound)
		mustBe(t, "Update removed", s.Queues().Update(t.Context(), "c", &storage.Queued{Seq: seqs[3], PacketID: 1}), storage.ErrNotFound)
		mustBe(t, "Remove never appended", s.Queues().Remove(t.Context(), "c", seqs[399]+1000), storage.ErrNotFound)
	})
	run(t, "UpdateStoresPacketIDAndStateOnly", func(t *testing.T) {
		s := open(t)
		seqs := appendN(t, s, "c", 10)
		// The message in u differs from the stored one: Update must ignore it.
		u := &storage.Queued{Seq: seqs[4], PacketID: 77, State: storage.StateSent, Message: *message(42)}
		mustOK(t, "Update", s.Queues().Update(t.Context(), "c", u))
		mustOK(t, "Update", s.Queues().Update(t.Context(), "c", &storage.Queued{Seq: seqs[7], PacketID: 65535, State: storage.StateSent}))
		mustOK(t, "Update", s.Queues().Update(t.Context(), "c", &storage.Queued{Seq: seqs[7], PacketID: 65535, State: storage.StateReleased}))
		var want []*storage.Queued
		for i, seq := range seqs {
			want = append(want, queued(seq, i))
		}
		want[4].PacketID, want[4].State = 77, storage.StateSent
		want[7].PacketID, want[7].State = 65535, storage.StateReleased
		mustEqual(t, "queue", want, collectQueue(t, s, "c"))
		mustBe(t, "Update never appended", s.Queues().Update(t.Context(), "c", &storage.Queued{Seq: seqs[9] + 1}), storage.ErrNotFound)
	})
	run(t, "SequenceKeepsIncreasing", func(t *testing.T) {
		s := open(t)
		seqs := appendN(t, s, "c", 5)
		last := seqs[4]
		// Removing the tail must not let its number be handed out again.
		mustOK(t, "Remove", s.Queues().Remove(t.Context(), "c", last))
		next := func() uint64 {
			seq, err := s.Queues().Append(t.Context(), "c", message(1))
			mustOK(t, "Append", err)
			if seq <= last {
				t.Fatalf("Append returned seq %d after %d", seq, last)
			}
			last = seq
			return seq
		}
		next()
		for _, seq := range seqs[:4] {
			mustOK(t, "Remove", s.Queues().Remove(t.Context(), "c", seq))
		}
		mustOK(t, "Remove", s.Queues().Remove(t.Context(), "c", last))
		next() // after the queue was emptied
		mustOK(t, "Clear", s.Queues().Clear(t.Context(), "c"))
		next() // after Clear
		// Another client's appends neither disturb nor are disturbed.
		appendN(t, s, "other", 3)
		next()
	})
	run(t, "ClearEmptiesOnlyThatClient", func(t *testing.T) {
		s := open(t)
		appendN(t, s, "a", 20)
		seqs := appendN(t, s, "b", 20)
		mustOK(t, "Clear", s.Queues().Clear(t.Context(), "a"))
		mustEqual(t, "a after Clear", 0, len(collectQueue(t, s, "a")))
		got := collectQueue(t, s, "b")
		mustEqual(t, "b", 20, len(got))
		mustEqual(t, "b's last", queued(seqs[19], 19), got[19])
		mustOK(t, "Clear twice", s.Queues().Clear(t.Context(), "a"))
	})
	run(t, "CopiesInAndOut", func(t *testing.T) {
		s := open(t)
		m := message(1)
		seq, err := s.Queues().Append(t.Context(), "c", m)
		mustOK(t, "Append", err)
		scribble(m.Payload)
		scribble(m.Properties)
		m.Topic = "changed"
		mustEqual(t, "after reusing the caller's buffers", []*storage.Queued{queued(seq, 1)}, collectQueue(t, s, "c"))
		mustOK(t, "Range", s.Queues().Range(t.Context(), "c", func(q *storage.Queued) bool {
			scribble(q.Payload)
			scribble(q.Properties)
			q.State = storage.StateReleased
			return true
		}))
		mustEqual(t, "after mutating a ranged value", []*storage.Queued{queued(seq, 1)}, collectQueue(t, s, "c"))
		u := &storage.Queued{Seq: seq, PacketID: 5, State: storage.StateSent}
		mustOK(t, "Update", s.Queues().Update(t.Context(), "c", u))
		u.PacketID = 6
		want := queued(seq, 1)
		want.PacketID, want.State = 5, storage.StateSent
		mustEqual(t, "after mutating the updated value", []*storage.Queued{want}, collectQueue(t, s, "c"))
	})
	run(t, "RangeStopsWhenFnReturnsFalse", func(t *testing.T) {
		s := open(t)
		seqs := appendN(t, s, "c", many)
		var got []uint64
		mustOK(t, "Range", s.Queues().Range(t.Context(), "c", func(q *storage.Queued) bool {
			got = append(got, q.Seq)
			return len(got) < 100
		}))
		mustEqual(t, "visited", seqs[:100], got)
	})
	run(t, "RandomOperationsMatchModel", func(t *testing.T) {
		testQueueModel(t, open(t))
	})
}

// testQueueModel applies random appends, removes and updates to one queue
// and to a plain slice, comparing the two as it goes.
func testQueueModel(t *testing.T, s storage.Store) {
	rng := rand.New(rand.NewPCG(1, 2))
	var model []*storage.Queued
	for op := range 600 {
		switch r := rng.IntN(10); {
		case r < 5 || len(model) == 0:
			i := rng.IntN(1000)
			seq, err := s.Queues().Append(t.Context(), "c", message(i))
			mustOK(t, "Append", err)
			model = append(model, queued(seq, i))
		case r < 8:
			// Mostly the head, as acknowledgements arrive in order.
			k := 0
			if rng.IntN(3) == 0 {
				k = rng.IntN(len(model))
			}
			mustOK(t, "Remove", s.Queues().Remove(t.Context(), "c", model[k].Seq))
			model = append(model[:k], model[k+1:]...)
		default:
			k := rng.IntN(len(model))
			model[k].PacketID = uint16(rng.IntN(65535) + 1)
			model[k].State = byte(1 + rng.IntN(2))
			mustOK(t, "Update", s.Queues().Update(t.Context(), "c", &storage.Queued{Seq: model[k].Seq, PacketID: model[k].PacketID, State: model[k].State}))
		}
		if op%50 == 49 {
			mustEqual(t, "queue", model, collectQueue(t, s, "c"))
		}
	}
	mustEqual(t, "queue", model, collectQueue(t, s, "c"))
}
