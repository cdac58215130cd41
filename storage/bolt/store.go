package bolt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/ternmq/broker/storage"
)

// Bucket names; see the package comment for what each holds.
var (
	bucketSessions = []byte("sessions")
	bucketSubs     = []byte("subs")
	bucketRetained = []byte("retained")
	bucketWills    = []byte("wills")
	bucketQueues   = []byte("queues")
	bucketMeta     = []byte("meta")

	keyFormat = []byte("format")
)

// layoutVersion is the version of the bucket layout, stored in meta. A file
// with a higher version was written by a newer Tern and is refused.
const layoutVersion = 1

// Store is a storage.Store in a bbolt file. Its methods are safe for
// concurrent use.
type Store struct {
	db     *bbolt.DB
	mode   SyncMode
	closed atomic.Bool

	// stop ends the SyncNone background fsync; flusher waits for it.
	stop    chan struct{}
	flusher sync.WaitGroup
}

var _ storage.Store = (*Store)(nil)

// Open opens or creates the store in the file at path.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.sync < SyncAlways || cfg.sync > SyncNone {
		return nil, fmt.Errorf("storage/bolt: unknown sync mode %d", int(cfg.sync))
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: cfg.lockTimeout,
		NoSync:  cfg.sync == SyncNone,
		// As etcd does: not writing the freelist saves a page write per
		// commit; Open rebuilds it by walking the file instead.
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("storage/bolt: opening %s: %w", path, err)
	}
	db.MaxBatchDelay = cfg.batchDelay
	if err := db.Update(initLayout); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("storage/bolt: opening %s: %w", path, err)
	}
	s := &Store{db: db, mode: cfg.sync, stop: make(chan struct{})}
	if cfg.sync == SyncNone {
		s.flusher.Go(s.flush)
	}
	return s, nil
}

// initLayout creates the buckets of a new file and checks the layout
// version of an existing one.
func initLayout(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketSessions, bucketSubs, bucketRetained, bucketWills, bucketQueues, bucketMeta} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	v := meta.Get(keyFormat)
	switch {
	case v == nil:
		return meta.Put(keyFormat, []byte{layoutVersion})
	case len(v) != 1 || v[0] > layoutVersion:
		return fmt.Errorf("layout version %v is newer than this Tern's (%d)", v, layoutVersion)
	}
	return nil
}

// flush fsyncs a SyncNone store about once a second until Close.
func (s *Store) flush() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_ = s.db.Sync()
		}
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

// Close waits for running transactions, syncs and closes the file. Later
// calls, Close included, return storage.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return storage.ErrClosed
	}
	close(s.stop)
	s.flusher.Wait()
	var err error
	if s.mode == SyncNone {
		err = s.db.Sync()
	}
	if cerr := s.db.Close(); cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage/bolt: closing: %w", err)
	}
	return nil
}

// check returns the error a call must fail with before doing anything.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return storage.ErrClosed
	}
	return ctx.Err()
}

// view runs fn in a read transaction.
func (s *Store) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return wrap(s.db.View(fn))
}

// update runs fn in a write transaction, alone or (SyncBatch) batched with
// others. fn may run more than once, so it must only touch tx and
// variables it sets on every run. When fn returns storage.ErrNotFound it
// must not have written anything: update commits (nothing) and returns it,
// so a missing key never rolls back the other writes of a batch.
func (s *Store) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	var miss error
	run := func(tx *bbolt.Tx) error {
		miss = nil
		err := fn(tx)
		if errors.Is(err, storage.ErrNotFound) {
			miss = err
			return nil
		}
		return err
	}
	var err error
	if s.mode == SyncBatch {
		err = s.db.Batch(run)
	} else {
		err = s.db.Update(run)
	}
	if err != nil {
		return wrap(err)
	}
	return miss
}

// wrap turns bbolt's errors into the storage package's.
func wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrClosed),
		errors.Is(err, storage.ErrTooLarge):
		return err
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return storage.ErrClosed
	case errors.Is(err, berrors.ErrKeyTooLarge), errors.Is(err, berrors.ErrValueTooLarge):
		return fmt.Errorf("%w: %w", storage.ErrTooLarge, err)
	}
	return fmt.Errorf("storage/bolt: %w", err)
}

// checkKey rejects, before any transaction starts, keys bbolt would refuse:
// a batch whose function fails is retried call by call.
func checkKey(what, k string) error {
	switch {
	case k == "":
		return fmt.Errorf("storage/bolt: empty %s", what)
	case len(k) > bbolt.MaxKeySize:
		return fmt.Errorf("%w: %s of %d bytes (bbolt's limit is %d)", storage.ErrTooLarge, what, len(k), bbolt.MaxKeySize)
	}
	return nil
}

// checkValue rejects a value bbolt would refuse.
func checkValue(what string, v []byte) error {
	if int64(len(v)) > bbolt.MaxValueSize {
		return fmt.Errorf("%w: %s of %d bytes (bbolt's limit is %d)", storage.ErrTooLarge, what, len(v), bbolt.MaxValueSize)
	}
	return nil
}
