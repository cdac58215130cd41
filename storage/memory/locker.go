package memory

import (
	"context"
	"sync"

	"github.com/ternmq/broker/storage"
)

// locker holds in-process locks by client id.
type locker struct {
	// mu guards held and closed.
	mu     sync.Mutex
	held   map[string]*lockEntry
	closed bool
}

// lockEntry is one client id's lock: a one-slot semaphore, and the number
// of goroutines holding or waiting for it so the entry is dropped when no
// one needs it.
type lockEntry struct {
	sem  chan struct{}
	refs int // guarded by locker.mu
}

// Lock takes the in-process lock of clientID, waiting until its holder
// unlocks or ctx is done. unlock is idempotent. The lock lives in this
// process only: it keeps two goroutines of one broker apart, not two
// brokers.
func (s *Store) Lock(ctx context.Context, clientID string) (unlock func(), err error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s.locks.lock(ctx, clientID)
}

func (l *locker) lock(ctx context.Context, id string) (func(), error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, storage.ErrClosed
	}
	e := l.held[id]
	if e == nil {
		e = &lockEntry{sem: make(chan struct{}, 1)}
		l.held[id] = e
	}
	e.refs++
	l.mu.Unlock()

	select {
	case e.sem <- struct{}{}:
		var once sync.Once
		return func() {
			once.Do(func() {
				<-e.sem
				l.release(id, e)
			})
		}, nil
	case <-ctx.Done():
		l.release(id, e)
		return nil, ctx.Err()
	}
}

// release drops one reference to e, and e itself when it was the last.
func (l *locker) release(id string, e *lockEntry) {
	l.mu.Lock()
	e.refs--
	if e.refs == 0 && l.held[id] == e {
		delete(l.held, id)
	}
	l.mu.Unlock()
}

// close makes later lock calls fail; held locks stay valid until unlocked.
func (l *locker) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}
