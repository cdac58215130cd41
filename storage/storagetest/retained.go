package storagetest

import (
	"bytes"
	"testing"

	"github.com/ternmq/broker/storage"
)

func testRetained(t *testing.T, open opener) {
	run(t, "GetMissingIsNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.Retained().Get(t.Context(), "no/such/topic")
		mustBe(t, "Get", err, storage.ErrNotFound)
	})
	run(t, "DeleteMissingIsNotFound", func(t *testing.T) {
		s := open(t)
		mustBe(t, "Delete", s.Retained().Delete(t.Context(), "no/such/topic"), storage.ErrNotFound)
	})
	run(t, "SetThenGet", func(t *testing.T) {
		s := open(t)
		for i := range 8 {
			mustOK(t, "Set", s.Retained().Set(t.Context(), message(i)))
		}
		for i := range 8 {
			got, err := s.Retained().Get(t.Context(), message(i).Topic)
			mustOK(t, "Get", err)
			mustEqual(t, "message", message(i), got)
		}
	})
	run(t, "SetReplaces", func(t *testing.T) {
		s := open(t)
		mustOK(t, "Set", s.Retained().Set(t.Context(), message(1)))
		m := message(2)
		m.Topic = message(1).Topic
		mustOK(t, "Set", s.Retained().Set(t.Context(), m))
		got, err := s.Retained().Get(t.Context(), m.Topic)
		mustOK(t, "Get", err)
		mustEqual(t, "message", m, got)
		mustEqual(t, "count", 1, len(collectRetained(t, s)))
	})
	run(t, "DeleteRemoves", func(t *testing.T) {
		s := open(t)
		mustOK(t, "Set", s.Retained().Set(t.Context(), message(1)))
		mustOK(t, "Set", s.Retained().Set(t.Context(), message(2)))
		mustOK(t, "Delete", s.Retained().Delete(t.Context(), message(1).Topic))
		_, err := s.Retained().Get(t.Context(), message(1).Topic)
		mustBe(t, "Get after Delete", err, storage.ErrNotFound)
		_, err = s.Retained().Get(t.Context(), message(2).Topic)
		mustOK(t, "Get other", err)
	})
	run(t, "CopiesOut", func(t *testing.T) {
		// Set may keep what it is given (the caller does not modify it);
		// what Get and Range return is the caller's to modify.
		s := open(t)
		m := message(1)
		mustOK(t, "Set", s.Retained().Set(t.Context(), m))
		got, err := s.Retained().Get(t.Context(), m.Topic)
		mustOK(t, "Get", err)
		mustEqual(t, "stored", message(1), got)
		scribble(got.Payload)
		scribble(got.Properties)
		again, err := s.Retained().Get(t.Context(), m.Topic)
		mustOK(t, "Get", err)
		mustEqual(t, "after mutating a returned value", message(1), again)
		mustOK(t, "Range", s.Retained().Range(t.Context(), func(m *storage.Message) bool {
			scribble(m.Payload)
			return true
		}))
		again, err = s.Retained().Get(t.Context(), m.Topic)
		mustOK(t, "Get", err)
		mustEqual(t, "after mutating a ranged value", message(1), again)
	})
	run(t, "LargePayload", func(t *testing.T) {
		s := open(t)
		m := message(1)
		m.Payload = bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		mustOK(t, "Set", s.Retained().Set(t.Context(), m))
		got, err := s.Retained().Get(t.Context(), m.Topic)
		mustOK(t, "Get", err)
		if !bytes.Equal(got.Payload, m.Payload) {
			t.Fatalf("1 MiB payload came back different (%d bytes)", len(got.Payload))
		}
	})
	run(t, "RangeVisitsAll", func(t *testing.T) {
		s := open(t)
		want := map[string]*storage.Message{}
		for i := range many {
			want[message(i).Topic] = message(i)
			mustOK(t, "Set", s.Retained().Set(t.Context(), message(i)))
		}
		mustEqual(t, "retained", want, collectRetained(t, s))
	})
	run(t, "RangeStopsWhenFnReturnsFalse", func(t *testing.T) {
		s := open(t)
		for i := range many {
			mustOK(t, "Set", s.Retained().Set(t.Context(), message(i)))
		}
		calls := 0
		mustOK(t, "Range", s.Retained().Range(t.Context(), func(*storage.Message) bool {
			calls++
			return calls < 7
		}))
		mustEqual(t, "calls", 7, calls)
	})
}

// collectRetained returns every retained message by topic, failing on a
// duplicate.
func collectRetained(t *testing.T, s storage.Store) map[string]*storage.Message {
	t.Helper()
	got := map[string]*storage.Message{}
	mustOK(t, "Range", s.Retained().Range(t.Context(), func(m *storage.Message) bool {
		if _, dup := got[m.Topic]; dup {
			t.Errorf("Range visited %q twice", m.Topic)
		}
		got[m.Topic] = m
		return true
	}))
	return got
}
