package etcd

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/ternmq/broker/storage"
)

// unlockTimeout bounds the release of a lock by the unlock function,
// which has no context of its own. A release that fails leaves the key to
// the lease, which Close revokes or which expires after LockTTL.
const unlockTimeout = 5 * time.Second

// Lock takes the client identifier's ownership across every Store on the
// same etcd cluster and prefix: a concurrency.Mutex on locks/<id>, bound
// to one lease per Store with TTL LockTTL that the Store keeps alive, so
// the locks of a broker that dies expire after LockTTL. Within one Store,
// Lock also waits for other holders of the same id (an etcd mutex alone
// is reentrant per lease). Lock waits until the lock is free or ctx ends.
// The returned unlock is idempotent.
func (s *Store) Lock(ctx context.Context, clientID string) (unlock func(), err error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	release, err := s.local.lock(ctx, s.ctx, clientID)
	if err != nil {
		return nil, err
	}
	sess, err := s.session(ctx)
	if err != nil {
		release()
		return nil, err
	}
	m := concurrency.NewMutex(sess, s.key("locks/", escape(clientID)))
	if err := m.Lock(ctx); err != nil {
		// The waiter key may have been written before the failure: remove
		// it so it does not hold the lock until the lease ends. No one
		// else in this Store uses it, since the local lock is held.
		if key := m.Key(); key != "" {
			dctx, cancel := context.WithTimeout(s.ctx, unlockTimeout)
			_, _ = s.cli.Delete(dctx, key)
			cancel()
		}
		release()
		return nil, s.wrap(ctx, "lock "+fmt.Sprintf("%q", clientID), err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			uctx, cancel := context.WithTimeout(s.ctx, unlockTimeout)
			_ = m.Unlock(uctx)
			cancel()
			release()
		})
	}, nil
}

// session returns the Store's lock session, starting a new one if there
// is none or its lease was lost. The lease is granted with ctx; its
// keepalive runs until Close.
func (s *Store) session(ctx context.Context) (*concurrency.Session, error) {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	if s.sess != nil {
		select {
		case <-s.sess.Done():
			s.sess = nil
		default:
			return s.sess, nil
		}
	}
	ttl := int64((s.lockTTL + time.Second - 1) / time.Second)
	lease, err := s.cli.Grant(ctx, ttl)
	if err != nil {
		return nil, s.wrap(ctx, "lock lease", err)
	}
	sess, err := concurrency.NewSession(s.cli,
		concurrency.WithLease(lease.ID),
		concurrency.WithTTL(int(ttl)),
		concurrency.WithContext(s.ctx))
	if err != nil {
		revoke(s.cli, lease.ID)
		return nil, s.wrap(ctx, "lock session", err)
	}
	if s.closed.Load() {
		_ = sess.Close()
		return nil, s.begin(ctx)
	}
	s.sess = sess
	return sess, nil
}

// revoke revokes a lease, best effort.
func revoke(cli *clientv3.Client, id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	_, _ = cli.Revoke(ctx, id)
}

// keyedLocks is a set of in-process mutexes by key whose Lock honours a
// context; an entry lives while someone holds or waits for it.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{} // holds a token while locked
	refs int           // holders and waiters
}

// lock waits for key's lock, ctx's end or the Store's close (the end of
// life) and returns the release.
func (k *keyedLocks) lock(ctx, life context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedLock{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedLock{ch: make(chan struct{}, 1)}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
		return func() {
			<-e.ch
			k.drop(key, e)
		}, nil
	case <-ctx.Done():
		k.drop(key, e)
		return nil, ctx.Err()
	case <-life.Done():
		k.drop(key, e)
		return nil, storage.ErrClosed
	}
}

func (k *keyedLocks) drop(key string, e *keyedLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(k.m, key)
	}
}
