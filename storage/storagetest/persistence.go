package storagetest

import (
	"testing"

	"github.com/ternmq/broker/storage"
)

// RunPersistence checks that a backend keeps everything across Close and a
// new open of the same state. open opens the store kept in dir (a
// directory the test owns); the suite closes what it opens.
func RunPersistence(t *testing.T, open func(t *testing.T, dir string) storage.Store) {
	t.Run("EverythingSurvivesReopen", func(t *testing.T) { testReopen(t, open) })
	t.Run("ReopenEmpty", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		mustOK(t, "Close", s.Close())
		s = open(t, dir)
		mustEqual(t, "sessions", 0, len(collectSessions(t, s)))
		mustOK(t, "Close", s.Close())
	})
}

// state is what testReopen writes and expects back.
type state struct {
	sessions map[string]*storage.Session
	subs     map[[2]string]storage.Subscription
	retained map[string]*storage.Message
	wills    map[string]*storage.Will
	queues   map[string][]*storage.Queued
	lastSeq  map[string]uint64 // per client, including cleared queues
}

// check compares the store with st.
func (st *state) check(t *testing.T, s storage.Store) {
	t.Helper()
	mustEqual(t, "sessions", st.sessions, collectSessions(t, s))
	mustEqual(t, "subscriptions", st.subs, collectSubs(t, s))
	mustEqual(t, "retained", st.retained, collectRetained(t, s))
	mustEqual(t, "wills", st.wills, collectWills(t, s))
	for id, want := range st.queues {
		mustEqual(t, "queue of "+id, want, collectQueue(t, s, id))
	}
}

// appendMore appends one message per client and checks its number is above
// every number the client had before.
func (st *state) appendMore(t *testing.T, s storage.Store, i int) {
	t.Helper()
	for id, last := range st.lastSeq {
		seq, err := s.Queues().Append(t.Context(), id, message(i))
		mustOK(t, "Append", err)
		if seq <= last {
			t.Fatalf("Append to %s returned seq %d, not above %d from before", id, seq, last)
		}
		st.lastSeq[id] = seq
		st.queues[id] = append(st.queues[id], queued(seq, i))
	}
}

func testReopen(t *testing.T, open func(t *testing.T, dir string) storage.Store) {
	dir := t.TempDir()
	s := open(t, dir)
	st := &state{
		sessions: map[string]*storage.Session{},
		subs:     map[[2]string]storage.Subscription{},
		retained: map[string]*storage.Message{},
		wills:    map[string]*storage.Will{},
		queues:   map[string][]*storage.Queued{},
		lastSeq:  map[string]uint64{},
	}
	ctx := t.Context()
	for i := range 5 {
		ses := session(i)
		id := ses.ClientID
		mustOK(t, "Save", s.Sessions().Save(ctx, ses))
		st.sessions[id] = ses
		for j := range i + 1 {
			sub := subscription(j)
			mustOK(t, "Add", s.Subscriptions().Add(ctx, id, sub))
			st.subs[[2]string{id, sub.Filter}] = sub
		}
		mustOK(t, "Set", s.Wills().Set(ctx, id, will(i)))
		st.wills[id] = will(i)
		mustOK(t, "Set", s.Retained().Set(ctx, message(i)))
		st.retained[message(i).Topic] = message(i)
	}
	// Deletions must survive too.
	mustOK(t, "Delete", s.Sessions().Delete(ctx, "client-4"))
	delete(st.sessions, "client-4")
	mustOK(t, "Remove", s.Subscriptions().Remove(ctx, "client-3", subscription(0).Filter))
	delete(st.subs, [2]string{"client-3", subscription(0).Filter})
	mustOK(t, "RemoveAll", s.Subscriptions().RemoveAll(ctx, "client-4"))
	for k := range st.subs {
		if k[0] == "client-4" {
			delete(st.subs, k)
		}
	}
	mustOK(t, "Delete", s.Retained().Delete(ctx, message(0).Topic))
	delete(st.retained, message(0).Topic)
	mustOK(t, "Delete", s.Wills().Delete(ctx, "client-0"))
	delete(st.wills, "client-0")

	// Queues: one with removals and updates, one whose tail was removed,
	// one cleared.
	for _, id := range []string{"q-a", "q-b", "q-cleared"} {
		seqs := appendN(t, s, id, 30)
		st.lastSeq[id] = seqs[len(seqs)-1]
		for i, seq := range seqs {
			st.queues[id] = append(st.queues[id], queued(seq, i))
		}
	}
	for _, k := range []int{20, 10, 0} {
		mustOK(t, "Remove", s.Queues().Remove(ctx, "q-a", st.queues["q-a"][k].Seq))
		st.queues["q-a"] = append(st.queues["q-a"][:k], st.queues["q-a"][k+1:]...)
	}
	u := st.queues["q-a"][3]
	u.PacketID, u.State = 4321, storage.StateReleased
	mustOK(t, "Update", s.Queues().Update(ctx, "q-a", u))
	mustOK(t, "Remove", s.Queues().Remove(ctx, "q-b", st.lastSeq["q-b"]))
	st.queues["q-b"] = st.queues["q-b"][:29]
	mustOK(t, "Clear", s.Queues().Clear(ctx, "q-cleared"))
	st.queues["q-cleared"] = nil

	st.check(t, s)
	mustOK(t, "Close", s.Close())

	for round := range 2 {
		s = open(t, dir)
		t.Logf("reopen %d", round+1)
		st.check(t, s)
		st.appendMore(t, s, 100+round)
		st.check(t, s)
		mustOK(t, "Close", s.Close())
	}
}
