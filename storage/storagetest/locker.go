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

	// mustBlock checks that a Lock of id gives up at a short deadline:
	// someone else holds the lock.
	mustBlock := func(t *testing.T, l storage.Locker, id string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		unlock, err := l.Lock(ctx, id)
		if err == nil {
			unlock()
			t.Fatalf("Lock of %q succeeded while it was held", id)
		}
		mustBe(t, "Lock of a held id", err, context.DeadlineExceeded)
	}
	// mustLock checks that a Lock of id succeeds (the deadline is generous:
	// a loaded machine is no reason to fail).
	mustLock := func(t *testing.T, l storage.Locker, id string) func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		unlock, err := l.Lock(ctx, id)
		mustOK(t, "Lock of a free id", err)
		return unlock
	}

	run(t, "SecondLockWaitsForContext", func(t *testing.T) {
		l := lockerOf(t)
		unlock := mustLock(t, l, "c")
		defer unlock()
		mustBlock(t, l, "c")
		mustLock(t, l, "d")()
	})
	run(t, "SecondLockWaitsForUnlock", func(t *testing.T) {
		l := lockerOf(t)
		unlock := mustLock(t, l, "c")
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
	run(t, "UnlockIsIdempotent", func(t *testing.T) {
		l := lockerOf(t)
		unlock := mustLock(t, l, "c")
		unlock()
		unlock2 := mustLock(t, l, "c")
		defer unlock2()
		unlock() // a stale unlock must not release the new holder's lock
		mustBlock(t, l, "c")
	})
	run(t, "MutualExclusion", func(t *testing.T) {
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
