package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/ternmq/broker/storage"
)

// calls is every method of a Store, each called once with plausible
// arguments, by name.
func calls(ctx context.Context, s storage.Store) map[string]func() error {
	m := message(1)
	return map[string]func() error{
		"Sessions.Get":            func() error { _, err := s.Sessions().Get(ctx, "c"); return err },
		"Sessions.Save":           func() error { return s.Sessions().Save(ctx, session(1)) },
		"Sessions.Delete":         func() error { return s.Sessions().Delete(ctx, "client-1") },
		"Sessions.Range":          func() error { return s.Sessions().Range(ctx, func(*storage.Session) bool { return true }) },
		"Subscriptions.Add":       func() error { return s.Subscriptions().Add(ctx, "c", subscription(1)) },
		"Subscriptions.Remove":    func() error { return s.Subscriptions().Remove(ctx, "c", subscription(1).Filter) },
		"Subscriptions.RemoveAll": func() error { return s.Subscriptions().RemoveAll(ctx, "c") },
		"Subscriptions.ForClient": func() error { _, err := s.Subscriptions().ForClient(ctx, "c"); return err },
		"Subscriptions.Range": func() error {
			return s.Subscriptions().Range(ctx, func(string, storage.Subscription) bool { return true })
		},
		"Retained.Set":              func() error { return s.Retained().Set(ctx, m) },
		"Retained.Get":              func() error { _, err := s.Retained().Get(ctx, m.Topic); return err },
		"Retained.Delete":           func() error { return s.Retained().Delete(ctx, m.Topic) },
		"Retained.Range":            func() error { return s.Retained().Range(ctx, func(*storage.Message) bool { return true }) },
		"Wills.Set":                 func() error { return s.Wills().Set(ctx, "c", will(1)) },
		"Wills.Get":                 func() error { _, err := s.Wills().Get(ctx, "c"); return err },
		"Wills.Delete":              func() error { return s.Wills().Delete(ctx, "c") },
		"Wills.Range":               func() error { return s.Wills().Range(ctx, func(string, *storage.Will) bool { return true }) },
		"Queues.Append":             func() error { _, err := s.Queues().Append(ctx, "c", m); return err },
		"Queues.Update":             func() error { return s.Queues().Update(ctx, "c", &storage.Queued{Seq: 1, State: storage.StateSent}) },
		"Queues.Remove":             func() error { return s.Queues().Remove(ctx, "c", 1) },
		"Queues.Range":              func() error { return s.Queues().Range(ctx, "c", func(*storage.Queued) bool { return true }) },
		"Queues.Clear":              func() error { return s.Queues().Clear(ctx, "c") },
		"Locker.Lock (if provided)": func() error { return lockOnce(ctx, s) },
	}
}

// lockOnce takes and releases a lock if s is a storage.Locker.
func lockOnce(ctx context.Context, s storage.Store) error {
	l, ok := s.(storage.Locker)
	if !ok {
		return nil
	}
	unlock, err := l.Lock(ctx, "c")
	if err == nil {
		unlock()
	}
	return err
}

func testClosed(t *testing.T, s storage.Store) {
	// Put something in every store first, so a backend cannot pass by
	// finding nothing.
	for name, call := range calls(t.Context(), s) {
		if err := call(); err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("%s before Close: %v", name, err)
		}
	}
	_, err := s.Queues().Append(t.Context(), "c", message(1))
	mustOK(t, "Append", err)
	mustOK(t, "Close", s.Close())
	for name, call := range calls(t.Context(), s) {
		if _, isLocker := s.(storage.Locker); name == "Locker.Lock (if provided)" && !isLocker {
			continue
		}
		mustBe(t, name+" after Close", call(), storage.ErrClosed)
	}
	mustBe(t, "second Close", s.Close(), storage.ErrClosed)
}

func testCancelled(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, call := range calls(ctx, s) {
		if _, isLocker := s.(storage.Locker); name == "Locker.Lock (if provided)" && !isLocker {
			continue
		}
		mustBe(t, name+" with a cancelled context", call(), context.Canceled)
	}
}
