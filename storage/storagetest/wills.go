package storagetest

import (
	"fmt"
	"testing"

	"github.com/ternmq/broker/storage"
)

// will returns a distinct will for i.
func will(i int) *storage.Will {
	return &storage.Will{Message: *message(i), Delay: uint32(i * 7)}
}

func testWills(t *testing.T, open opener) {
	run(t, "GetMissingIsNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.Wills().Get(t.Context(), "nobody")
		mustBe(t, "Get", err, storage.ErrNotFound)
	})
	run(t, "DeleteMissingIsNotFound", func(t *testing.T) {
		s := open(t)
		mustBe(t, "Delete", s.Wills().Delete(t.Context(), "nobody"), storage.ErrNotFound)
	})
	run(t, "SetThenGet", func(t *testing.T) {
		s := open(t)
		for i := range 6 {
			mustOK(t, "Set", s.Wills().Set(t.Context(), fmt.Sprint("c", i), will(i)))
		}
		for i := range 6 {
			got, err := s.Wills().Get(t.Context(), fmt.Sprint("c", i))
			mustOK(t, "Get", err)
			mustEqual(t, "will", will(i), got)
		}
	})
	run(t, "SetReplaces", func(t *testing.T) {
		s := open(t)
		mustOK(t, "Set", s.Wills().Set(t.Context(), "c", will(1)))
		mustOK(t, "Set", s.Wills().Set(t.Context(), "c", will(2)))
		got, err := s.Wills().Get(t.Context(), "c")
		mustOK(t, "Get", err)
		mustEqual(t, "will", will(2), got)
		mustEqual(t, "count", 1, len(collectWills(t, s)))
	})
	run(t, "DeleteRemoves", func(t *testing.T) {
		s := open(t)
		mustOK(t, "Set", s.Wills().Set(t.Context(), "c1", will(1)))
		mustOK(t, "Set", s.Wills().Set(t.Context(), "c2", will(2)))
		mustOK(t, "Delete", s.Wills().Delete(t.Context(), "c1"))
		_, err := s.Wills().Get(t.Context(), "c1")
		mustBe(t, "Get after Delete", err, storage.ErrNotFound)
		mustEqual(t, "remaining", map[string]*storage.Will{"c2": will(2)}, collectWills(t, s))
	})
	run(t, "CopiesInAndOut", func(t *testing.T) {
		s := open(t)
		w := will(1)
		mustOK(t, "Set", s.Wills().Set(t.Context(), "c", w))
		scribble(w.Payload)
		scribble(w.Properties)
		w.Delay = 1
		got, err := s.Wills().Get(t.Context(), "c")
		mustOK(t, "Get", err)
		mustEqual(t, "after reusing the caller's buffers", will(1), got)
		scribble(got.Payload)
		again, err := s.Wills().Get(t.Context(), "c")
		mustOK(t, "Get", err)
		mustEqual(t, "after mutating a returned value", will(1), again)
	})
	run(t, "RangeVisitsAll", func(t *testing.T) {
		s := open(t)
		want := map[string]*storage.Will{}
		for i := range many {
			id := fmt.Sprint("c", i)
			want[id] = will(i)
			mustOK(t, "Set", s.Wills().Set(t.Context(), id, will(i)))
		}
		mustEqual(t, "wills", want, collectWills(t, s))
	})
	run(t, "RangeStopsWhenFnReturnsFalse", func(t *testing.T) {
		s := open(t)
		for i := range many {
			mustOK(t, "Set", s.Wills().Set(t.Context(), fmt.Sprint("c", i), will(i)))
		}
		calls := 0
		mustOK(t, "Range", s.Wills().Range(t.Context(), func(string, *storage.Will) bool {
			calls++
			return calls < 3
		}))
		mustEqual(t, "calls", 3, calls)
	})
}

// collectWills returns every will by client id, failing on a duplicate.
func collectWills(t *testing.T, s storage.Store) map[string]*storage.Will {
	t.Helper()
	got := map[string]*storage.Will{}
	mustOK(t, "Range", s.Wills().Range(t.Context(), func(id string, w *storage.Will) bool {
		if _, dup := got[id]; dup {
			t.Errorf("Range visited %q twice", id)
		}
		got[id] = w
		return true
	}))
	return got
}
