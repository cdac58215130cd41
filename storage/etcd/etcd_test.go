package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/ternmq/broker/internal/etcdtest"
	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/storagetest"
)

// endpoint is the client URL of the embedded etcd every test shares.
var endpoint string

func TestMain(m *testing.M) {
	os.Exit(runWithEtcd(m))
}

// runWithEtcd starts one embedded etcd, runs the tests and stops it.
func runWithEtcd(m *testing.M) int {
	ep, stop, err := etcdtest.StartServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting etcd:", err)
		return 1
	}
	defer stop()
	endpoint = ep
	return m.Run()
}

// prefixes hands out a fresh prefix per store.
var prefixes atomic.Int64

func freshPrefix() string { return fmt.Sprintf("/test/%d/", prefixes.Add(1)) }

// newClient returns a client of the test etcd, closed when the test ends.
func newClient(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{endpoint},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// open returns a Store with its own client (so Close closes it) on prefix.
func open(t testing.TB, prefix string, lockTTL time.Duration) *Store {
	t.Helper()
	s, err := New(context.Background(), Config{Endpoints: []string{endpoint}, Prefix: prefix, LockTTL: lockTTL})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	cli := newClient(t)
	storagetest.Run(t, func(*testing.T) storage.Store { return NewFromClient(cli, freshPrefix()) })
}

func TestOwnClientClosed(t *testing.T) {
	// A Store from New owns its client: after Close it is closed too, and
	// every call still reports ErrClosed (not a client error).
	s := open(t, freshPrefix(), 0)
	ctx := t.Context()
	if _, err := s.Lock(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Queues().Append(ctx, "c", &storage.Message{Topic: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.cli.Ctx().Err() == nil {
		t.Fatal("the client is still open after Close")
	}
	for name, err := range map[string]error{
		"Append":  func() error { _, err := s.Queues().Append(ctx, "c", &storage.Message{Topic: "t"}); return err }(),
		"Range":   s.Queues().Range(ctx, "c", func(*storage.Queued) bool { return true }),
		"Get":     func() error { _, err := s.Sessions().Get(ctx, "c"); return err }(),
		"Lock":    func() error { _, err := s.Lock(ctx, "c"); return err }(),
		"Close":   s.Close(),
		"Retain":  s.Retained().Set(ctx, &storage.Message{Topic: "t"}),
		"Wills":   s.Wills().Delete(ctx, "c"),
		"Subs":    s.Subscriptions().RemoveAll(ctx, "c"),
		"Session": s.Sessions().Save(ctx, &storage.Session{ClientID: "c"}),
	} {
		if !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", name, err)
		}
	}
}

func TestNewUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := New(ctx, Config{Endpoints: []string{"http://127.0.0.1:1"}, DialTimeout: 5 * time.Second})
	if err == nil {
		t.Fatal("New succeeded with no etcd at the endpoint")
	}
}

func TestPersistence(t *testing.T) {
	cli := newClient(t)
	prefixOf := map[string]string{}
	storagetest.RunPersistence(t, func(t *testing.T, dir string) storage.Store {
		p, ok := prefixOf[dir]
		if !ok {
			p = freshPrefix()
			prefixOf[dir] = p
		}
		return NewFromClient(cli, p)
	})
}

func TestTwoStoresContendForOneLock(t *testing.T) {
	prefix := freshPrefix()
	const ttl = time.Second
	a, b := open(t, prefix, ttl), open(t, prefix, ttl)
	defer b.Close()
	ctx := t.Context()

	unlockA, err := a.Lock(ctx, "shared/id")
	if err != nil {
		t.Fatal(err)
	}
	// A different id is independent; an id that only differs by escaping too.
	unlockOther, err := b.Lock(ctx, "shared%2Fid")
	if err != nil {
		t.Fatal(err)
	}
	unlockOther()

	got := make(chan error, 1)
	var unlockB func()
	go func() {
		var err error
		unlockB, err = b.Lock(ctx, "shared/id")
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second Store's Lock returned (%v) while the first held it", err)
	case <-time.After(200 * time.Millisecond):
	}
	unlockA()
	unlockA() // idempotent
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second Store's Lock still waiting 10s after unlock")
	}

	// The first Store waits now; B's lock is released by unlock.
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = a.Lock(dctx, "shared/id")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock of a held id: got %v, want DeadlineExceeded", err)
	}
	unlockB()
	unlockA, err = a.Lock(ctx, "shared/id")
	if err != nil {
		t.Fatal(err)
	}

	// A crashes: its client goes away without unlocking or Close. Its
	// lease expires after about LockTTL and B gets the lock.
	_ = a.cli.Close()
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	unlockB, err = b.Lock(lctx, "shared/id")
	if err != nil {
		t.Fatalf("Lock after the holder crashed: %v", err)
	}
	t.Logf("lock of a crashed holder expired after %v (LockTTL %v)", time.Since(start), ttl)
	unlockB()
	unlockA() // a stale unlock of a dead client does nothing harmful
}

func TestCloseReleasesLocks(t *testing.T) {
	prefix := freshPrefix()
	a, b := open(t, prefix, 30*time.Second), open(t, prefix, 30*time.Second)
	defer b.Close()
	if _, err := a.Lock(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	unlock, err := b.Lock(ctx, "c")
	if err != nil {
		t.Fatalf("Lock after the holder's Close: %v", err)
	}
	unlock()
}

func TestTooLarge(t *testing.T) {
	cli := newClient(t)
	s := NewFromClient(cli, freshPrefix())
	defer s.Close()
	ctx := t.Context()
	big := &storage.Message{Topic: "big", Payload: bytes.Repeat([]byte{'x'}, 2<<20)}
	mustTooLarge := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, storage.ErrTooLarge) {
			t.Fatalf("%s of a 2 MiB message: got %v, want ErrTooLarge", what, err)
		}
	}
	_, err := s.Queues().Append(ctx, "c", big)
	mustTooLarge("Append", err)
	mustTooLarge("Retained.Set", s.Retained().Set(ctx, big))
	mustTooLarge("Wills.Set", s.Wills().Set(ctx, "c", &storage.Will{Message: *big}))
	// Nothing was written, and the sequence was not advanced.
	if _, err := s.Retained().Get(ctx, "big"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get after a refused Set: %v", err)
	}
	seq, err := s.Queues().Append(ctx, "c", &storage.Message{Topic: "small"})
	if err != nil || seq != 1 {
		t.Fatalf("Append after a refused one: seq %d, %v; want 1", seq, err)
	}

	// A configured limit.
	small, err := New(ctx, Config{Endpoints: []string{endpoint}, Prefix: freshPrefix(), MaxValueSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	m := &storage.Message{Topic: "t", Payload: make([]byte, 900)}
	if _, err := small.Queues().Append(ctx, "c", m); err != nil {
		t.Fatalf("Append of 900 bytes under a 1000 byte limit: %v", err)
	}
	m.Payload = make([]byte, 1000)
	_, err = small.Queues().Append(ctx, "c", m)
	mustTooLarge("Append over a 1000 byte limit", err)
}

func TestIDsWithSlashesDoNotCollide(t *testing.T) {
	cli := newClient(t)
	s := NewFromClient(cli, freshPrefix())
	defer s.Close()
	ctx := t.Context()
	ids := []string{"a", "a/b", "a%2Fb", "a/", "/", ""}
	for i, id := range ids {
		if err := s.Subscriptions().Add(ctx, id, storage.Subscription{Filter: "x/" + id, QoS: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Queues().Append(ctx, id, &storage.Message{Topic: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Sessions().Save(ctx, &storage.Session{ClientID: id, Version: 5}); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		subs, err := s.Subscriptions().ForClient(ctx, id)
		if err != nil || len(subs) != 1 || subs[0].Filter != "x/"+id {
			t.Fatalf("subscriptions of %q: %v, %v", id, subs, err)
		}
		var topics []string
		if err := s.Queues().Range(ctx, id, func(q *storage.Queued) bool {
			topics = append(topics, q.Topic)
			return true
		}); err != nil || len(topics) != 1 || topics[0] != fmt.Sprint(i) {
			t.Fatalf("queue of %q: %v, %v", id, topics, err)
		}
	}
	seen := map[string]bool{}
	if err := s.Subscriptions().Range(ctx, func(id string, sub storage.Subscription) bool {
		if sub.Filter != "x/"+id {
			t.Errorf("Range: client %q with filter %q", id, sub.Filter)
		}
		seen[id] = true
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Sessions().Range(ctx, func(ses *storage.Session) bool {
		if !seen[ses.ClientID] {
			t.Errorf("session %q unknown", ses.ClientID)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(ids) {
		t.Fatalf("Range saw %d clients, want %d", len(seen), len(ids))
	}
}

func BenchmarkStore(b *testing.B) {
	cli := newClient(b)
	storagetest.Bench(b, func(*testing.B) storage.Store { return NewFromClient(cli, freshPrefix()) })
}

func TestCloseEndsWaitingLock(t *testing.T) {
	s := NewFromClient(newClient(t), freshPrefix())
	if _, err := s.Lock(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := s.Lock(t.Context(), "c")
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("waiting Lock after Close: got %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiting Lock still waiting 5s after Close")
	}
}
