package storagetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ternmq/broker/storage"
)

// testLocker checks storage.Locker, if the store implements it.
func testLocker(t *testing.T, open opener) {
	probe := open(t)
	if _, ok := probe.(storage.Locker); !ok {
		t.Skip("store does not implement storage.Locker")
	}
	lockerOf := func(t *testing.T) storage.Locker { return open(t).(storage.Locker) }

	// blocked reports whether a Lock of id gives up at its deadline,
	// i.e. someone else holds the lock.
	blocked := func(t *testing.T, l storage.Locker, id string) bool {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		unlock, err := l.Lock(ctx, id)
		if err == nil {
			unlock()
			return false
		}
		mustBe(t, "Lock of a held id", err, context.DeadlineExceeded)
		return true
	}

	t.Run("SecondLockWaitsForContext", func(t *testing.T) {
		l := lockerOf(t)
		unlock, err := l.Lock(t.Context(), "c")
		mustOK(t, "Lock", err)
		defer unlock()
		mustEqual(t, "second Lock blocked", true, blocked(t, l, "c"))
		mustEqual(t, "other id blocked", false, blocked(t, l, "d"))
	})
	t.Run("SecondLockWaitsForUnlock", func(t *testing.T) {
		l := lockerOf(t)
		unlock, err := l.Lock(t.Context(), "c")
		mustOK(t, "Lock", err)
		got := make(chan error, 1)
		go func() {
			unlock2, err := l.Lock(t.Context(), "c")
			if err == nil {
				unlock2()
			}
			got <- err
		}()
		select {
		case err := <-got:
			t.Fatalf("second Lock returned (%v) while the first was held", err)
		case <-time.After(30 * time.Millisecond):
		}
		unlock()
		select {
		case err := <-got:
			mustOK(t, "second Lock after unlock", err)
		case <-time.After(10 * time.Second):
			t.Fatal("second Lock still waiting 10s after unlock")
		}
	})
	t.Run("UnlockIsIdempotent", func(t *testing.T) {
		l := lockerOf(t)
		unlock, err := l.Lock(t.Context(), "c")
		mustOK(t, "Lock", err)
		unlock()
		unlock2, err := l.Lock(t.Context(), "c")
		mustOK(t, "Lock after unlock", err)
		defer unlock2()
		unlock() // a stale unlock must not release the new holder's lock
		mustEqual(t, "Lock while the new holder holds it", true, blocked(t, l, "c"))
	})
	t.Run("MutualExclusion", func(t *testing.T) {
		l := lockerOf(t)
		var inside atomic.Int32
		var overlapped atomic.Bool
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 20 {
					unlock, err := l.Lock(t.Context(), "c")
					if err != nil {
						t.Errorf("Lock: %v", err)
						return
					}
					if inside.Add(1) > 1 {
						overlapped.Store(true)
					}
					inside.Add(-1)
					unlock()
				}
			})
		}
		wg.Wait()
		mustEqual(t, "two holders at once", false, overlapped.Load())
	})
}
