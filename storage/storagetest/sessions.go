package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ternmq/broker/storage"
)

// session returns a distinct session for i.
func session(i int) *storage.Session {
	st := &storage.Session{
		ClientID:       fmt.Sprintf("client-%d", i),
		Version:        byte(3 + i%3),
		ExpiryInterval: uint32(60 * i),
	}
	if i%2 == 1 {
		st.DisconnectedAt = time.Date(2025, 1, 2, 3, 4, 5, 987654321, time.UTC).Add(time.Duration(i) * time.Minute)
		st.AwaitingRel = []uint16{1, uint16(i), 65535}
	}
	return st
}

func testSessions(t *testing.T, open opener) {
	run(t, "GetMissingIsNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.Sessions().Get(t.Context(), "nobody")
		mustBe(t, "Get", err, storage.ErrNotFound)
	})
	run(t, "DeleteMissingIsNotFound", func(t *testing.T) {
		s := open(t)
		mustBe(t, "Delete", s.Sessions().Delete(t.Context(), "nobody"), storage.ErrNotFound)
	})
	run(t, "SaveThenGet", func(t *testing.T) {
		s := open(t)
		for i := range 4 {
			mustOK(t, "Save", s.Sessions().Save(t.Context(), session(i)))
		}
		for i := range 4 {
			got, err := s.Sessions().Get(t.Context(), session(i).ClientID)
			mustOK(t, "Get", err)
			mustEqual(t, "session", session(i), got)
		}
	})
	run(t, "SaveReplaces", func(t *testing.T) {
		s := open(t)
		st := session(1)
		mustOK(t, "Save", s.Sessions().Save(t.Context(), st))
		st2 := session(2)
		st2.ClientID = st.ClientID
		mustOK(t, "Save", s.Sessions().Save(t.Context(), st2))
		got, err := s.Sessions().Get(t.Context(), st.ClientID)
		mustOK(t, "Get", err)
		mustEqual(t, "session", st2, got)
		mustEqual(t, "count", 1, len(collectSessions(t, s)))
	})
	run(t, "DeleteRemoves", func(t *testing.T) {
		s := open(t)
		mustOK(t, "Save", s.Sessions().Save(t.Context(), session(1)))
		mustOK(t, "Save", s.Sessions().Save(t.Context(), session(2)))
		mustOK(t, "Delete", s.Sessions().Delete(t.Context(), session(1).ClientID))
		_, err := s.Sessions().Get(t.Context(), session(1).ClientID)
		mustBe(t, "Get after Delete", err, storage.ErrNotFound)
		_, err = s.Sessions().Get(t.Context(), session(2).ClientID)
		mustOK(t, "Get other", err)
		mustBe(t, "second Delete", s.Sessions().Delete(t.Context(), session(1).ClientID), storage.ErrNotFound)
	})
	run(t, "CopiesInAndOut", func(t *testing.T) {
		s := open(t)
		st := session(1)
		mustOK(t, "Save", s.Sessions().Save(t.Context(), st))
		st.AwaitingRel[0] = 999
		st.ExpiryInterval = 7
		got, err := s.Sessions().Get(t.Context(), st.ClientID)
		mustOK(t, "Get", err)
		mustEqual(t, "after mutating the saved value", session(1), got)
		got.AwaitingRel[1] = 999
		got.Version = 9
		again, err := s.Sessions().Get(t.Context(), st.ClientID)
		mustOK(t, "Get", err)
		mustEqual(t, "after mutating a returned value", session(1), again)
		mustOK(t, "Range", s.Sessions().Range(t.Context(), func(st *storage.Session) bool {
			st.AwaitingRel[0] = 1234
			return true
		}))
		again, err = s.Sessions().Get(t.Context(), st.ClientID)
		mustOK(t, "Get", err)
		mustEqual(t, "after mutating a ranged value", session(1), again)
	})
	run(t, "RangeVisitsAll", func(t *testing.T) {
		s := open(t)
		want := map[string]*storage.Session{}
		for i := range many {
			st := session(i)
			want[st.ClientID] = st
			mustOK(t, "Save", s.Sessions().Save(t.Context(), st))
		}
		mustEqual(t, "sessions", want, collectSessions(t, s))
	})
	run(t, "RangeStopsWhenFnReturnsFalse", func(t *testing.T) {
		s := open(t)
		for i := range many {
			mustOK(t, "Save", s.Sessions().Save(t.Context(), session(i)))
		}
		calls := 0
		mustOK(t, "Range", s.Sessions().Range(t.Context(), func(*storage.Session) bool {
			calls++
			return calls < 5
		}))
		mustEqual(t, "calls", 5, calls)
	})
	run(t, "RangeEmpty", func(t *testing.T) {
		s := open(t)
		mustOK(t, "Range", s.Sessions().Range(t.Context(), func(*storage.Session) bool {
			t.Fatal("fn called on an empty store")
			return false
		}))
	})
}

// collectSessions returns every session by client id, failing on a
// duplicate.
func collectSessions(t *testing.T, s storage.Store) map[string]*storage.Session {
	t.Helper()
	got := map[string]*storage.Session{}
	mustOK(t, "Range", s.Sessions().Range(t.Context(), func(st *storage.Session) bool {
		if _, dup := got[st.ClientID]; dup {
			t.Errorf("Range visited %q twice", st.ClientID)
		}
		got[st.ClientID] = st
		return true
	}))
	return got
}
