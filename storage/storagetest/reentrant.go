package storagetest

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/ternmq/broker/storage"
)

// testReentrantRange calls the store from inside Range callbacks, as the
// broker does when it restores sessions and replays queues. A backend that
// holds a lock or a transaction across fn deadlocks here.
func testReentrantRange(t *testing.T, s storage.Store) {
	const n = many
	for i := range n {
		id := fmt.Sprint("c", i)
		mustOK(t, "Save", s.Sessions().Save(t.Context(), session(i)))
		mustOK(t, "Add", s.Subscriptions().Add(t.Context(), id, subscription(i)))
		mustOK(t, "Set", s.Retained().Set(t.Context(), message(i)))
		mustOK(t, "Set", s.Wills().Set(t.Context(), id, will(i)))
	}
	seqs := appendN(t, s, "q", n)

	withDeadline(t, 2*time.Minute, func() {
		visited := 0
		mustOK(t, "Sessions.Range", s.Sessions().Range(t.Context(), func(st *storage.Session) bool {
			visited++
			if _, err := s.Subscriptions().ForClient(t.Context(), st.ClientID); err != nil {
				t.Errorf("ForClient inside Range: %v", err)
				return false
			}
			if err := s.Sessions().Delete(t.Context(), st.ClientID); err != nil {
				t.Errorf("Delete inside Range: %v", err)
				return false
			}
			return true
		}))
		mustEqual(t, "sessions visited while deleting", n, visited)
		mustEqual(t, "sessions left", 0, len(collectSessions(t, s)))

		visited = 0
		mustOK(t, "Subscriptions.Range", s.Subscriptions().Range(t.Context(), func(id string, sub storage.Subscription) bool {
			visited++
			if err := s.Subscriptions().Remove(t.Context(), id, sub.Filter); err != nil {
				t.Errorf("Remove inside Range: %v", err)
				return false
			}
			return true
		}))
		mustEqual(t, "subscriptions visited while removing", n, visited)

		visited = 0
		mustOK(t, "Retained.Range", s.Retained().Range(t.Context(), func(m *storage.Message) bool {
			visited++
			if err := s.Retained().Delete(t.Context(), m.Topic); err != nil {
				t.Errorf("Delete inside Range: %v", err)
				return false
			}
			return true
		}))
		mustEqual(t, "retained visited while deleting", n, visited)

		visited = 0
		mustOK(t, "Wills.Range", s.Wills().Range(t.Context(), func(id string, _ *storage.Will) bool {
			visited++
			if err := s.Wills().Delete(t.Context(), id); err != nil {
				t.Errorf("Delete inside Range: %v", err)
				return false
			}
			return true
		}))
		mustEqual(t, "wills visited while deleting", n, visited)

		// Replaying a queue: mark each entry sent, acknowledge it at once.
		var got []uint64
		mustOK(t, "Queues.Range", s.Queues().Range(t.Context(), "q", func(q *storage.Queued) bool {
			got = append(got, q.Seq)
			q.PacketID, q.State = 1, storage.StateSent
			if err := s.Queues().Update(t.Context(), "q", q); err != nil {
				t.Errorf("Update inside Range: %v", err)
				return false
			}
			if err := s.Queues().Remove(t.Context(), "q", q.Seq); err != nil {
				t.Errorf("Remove inside Range: %v", err)
				return false
			}
			return true
		}))
		mustEqual(t, "queue entries visited while removing", seqs, got)
		mustEqual(t, "queue left", 0, len(collectQueue(t, s, "q")))
	})
}

// withDeadline runs fn and, if it has not returned after d, ends the test
// binary with every goroutine's stack: a deadlock then names itself
// instead of waiting for go test's timeout. (A test cannot fail from
// another goroutine while its own is stuck.)
func withDeadline(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	name := t.Name()
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("%s: still running after %v, deadlock?\n%s", name, d, buf))
	})
	defer timer.Stop()
	fn()
}
