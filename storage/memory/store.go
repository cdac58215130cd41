package memory

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/ternmq/broker/storage"
)

// Store is an in-memory storage.Store. It also implements storage.Locker
// with in-process locks. The zero value is not usable; call New.
type Store struct {
	closed atomic.Bool

	// smu guards sessions.
	smu      sync.RWMutex
	sessions map[string]*storage.Session

	// submu guards subs (client id → filter → subscription).
	submu sync.RWMutex
	subs  map[string]map[string]storage.Subscription

	// rmu guards retained (topic → message).
	rmu      sync.RWMutex
	retained map[string]*storage.Message

	// wmu guards wills (client id → will).
	wmu   sync.RWMutex
	wills map[string]*storage.Will

	// qmu guards the queues map and floor, not the queues' contents (each
	// queue has its own mutex). Queue operations hold qmu for reading so
	// that Clear, which holds it for writing, never races with an Append
	// to the queue it drops.
	qmu    sync.RWMutex
	queues map[string]*queue
	// floor is the highest sequence number handed out by a cleared queue;
	// a queue created later starts above it, so a client's sequence
	// numbers keep increasing across Clear.
	floor uint64

	locks locker
}

var (
	_ storage.Store  = (*Store)(nil)
	_ storage.Locker = (*Store)(nil)
)

// New returns an empty Store.
func New() *Store {
	return &Store{
		sessions: make(map[string]*storage.Session),
		subs:     make(map[string]map[string]storage.Subscription),
		retained: make(map[string]*storage.Message),
		wills:    make(map[string]*storage.Will),
		queues:   make(map[string]*queue),
		locks:    locker{held: make(map[string]*lockEntry)},
	}
}

// Sessions returns the session store.
func (s *Store) Sessions() storage.SessionStore { return (*sessionStore)(s) }

// Subscriptions returns the subscription store.
func (s *Store) Subscriptions() storage.SubscriptionStore { return (*subscriptionStore)(s) }

// Retained returns the retained message store.
func (s *Store) Retained() storage.RetainedStore { return (*retainedStore)(s) }

// Wills returns the will store.
func (s *Store) Wills() storage.WillStore { return (*willStore)(s) }

// Queues returns the queue store.
func (s *Store) Queues() storage.QueueStore { return (*queueStore)(s) }

// Close marks the store closed: every later call returns storage.ErrClosed.
// Nothing needs flushing. Closing twice returns storage.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return storage.ErrClosed
	}
	s.locks.close()
	return nil
}

// check returns the error a call must fail with before doing anything:
// ErrClosed after Close, or the context's error.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return storage.ErrClosed
	}
	return ctx.Err()
}
