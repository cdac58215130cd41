// Package storewrap wraps a storage.Store so that a function runs around
// every call: the broker meters calls with it (Metrics.StorageCall), and
// tests inject failures and delays with it. Optional capabilities
// (QueueBatcher, Claimer) stay visible: the wrapper implements the ones
// the wrapped store has.
package storewrap

import (
	"context"

	"github.com/ternmq/broker/storage"
)

// Around runs call, which performs the storage operation op ("session_get",
// "queue_append_batch", ...), and returns its error or one of its own.
type Around func(ctx context.Context, op string, call func() error) error

// Wrap returns s with around run for each call.
func Wrap(s storage.Store, around Around) storage.Store {
	ms := &store{s: s, w: around}
	qb, batches := s.(storage.QueueBatcher)
	cl, claims := s.(storage.Claimer)
	switch {
	case batches && claims:
		return struct {
			*store
			batcher
			claimer
		}{ms, batcher{qb, around}, claimer{cl, around}}
	case batches:
		return struct {
			*store
			batcher
		}{ms, batcher{qb, around}}
	case claims:
		return struct {
			*store
			claimer
		}{ms, claimer{cl, around}}
	}
	return ms
}

type store struct {
	s storage.Store
	w Around
}

func (x *store) Sessions() storage.SessionStore           { return sessions{x.s.Sessions(), x.w} }
func (x *store) Subscriptions() storage.SubscriptionStore { return subs{x.s.Subscriptions(), x.w} }
func (x *store) Retained() storage.RetainedStore          { return retained{x.s.Retained(), x.w} }
func (x *store) Wills() storage.WillStore                 { return wills{x.s.Wills(), x.w} }
func (x *store) Queues() storage.QueueStore               { return queues{x.s.Queues(), x.w} }
func (x *store) Close() error                             { return x.s.Close() }

type sessions struct {
	s storage.SessionStore
	w Around
}

func (x sessions) Get(ctx context.Context, id string) (s *storage.Session, err error) {
	err = x.w(ctx, "session_get", func() error { s, err = x.s.Get(ctx, id); return err })
	return s, err
}
func (x sessions) Save(ctx context.Context, s *storage.Session) error {
	return x.w(ctx, "session_save", func() error { return x.s.Save(ctx, s) })
}
func (x sessions) Delete(ctx context.Context, id string) error {
	return x.w(ctx, "session_delete", func() error { return x.s.Delete(ctx, id) })
}
func (x sessions) Range(ctx context.Context, fn func(*storage.Session) bool) error {
	return x.w(ctx, "session_range", func() error { return x.s.Range(ctx, fn) })
}

type subs struct {
	s storage.SubscriptionStore
	w Around
}

func (x subs) Add(ctx context.Context, id string, s storage.Subscription) error {
	return x.w(ctx, "subscription_add", func() error { return x.s.Add(ctx, id, s) })
}
func (x subs) Remove(ctx context.Context, id, filter string) error {
	return x.w(ctx, "subscription_remove", func() error { return x.s.Remove(ctx, id, filter) })
}
func (x subs) RemoveAll(ctx context.Context, id string) error {
	return x.w(ctx, "subscription_remove_all", func() error { return x.s.RemoveAll(ctx, id) })
}
func (x subs) ForClient(ctx context.Context, id string) (out []storage.Subscription, err error) {
	err = x.w(ctx, "subscription_get", func() error { out, err = x.s.ForClient(ctx, id); return err })
	return out, err
}
func (x subs) Range(ctx context.Context, fn func(string, storage.Subscription) bool) error {
	return x.w(ctx, "subscription_range", func() error { return x.s.Range(ctx, fn) })
}

type retained struct {
	s storage.RetainedStore
	w Around
}

func (x retained) Set(ctx context.Context, m *storage.Message) error {
	return x.w(ctx, "retained_set", func() error { return x.s.Set(ctx, m) })
}
func (x retained) Delete(ctx context.Context, topic string) error {
	return x.w(ctx, "retained_delete", func() error { return x.s.Delete(ctx, topic) })
}
func (x retained) Get(ctx context.Context, topic string) (m *storage.Message, err error) {
	err = x.w(ctx, "retained_get", func() error { m, err = x.s.Get(ctx, topic); return err })
	return m, err
}
func (x retained) Range(ctx context.Context, fn func(*storage.Message) bool) error {
	return x.w(ctx, "retained_range", func() error { return x.s.Range(ctx, fn) })
}

type wills struct {
	s storage.WillStore
	w Around
}

func (x wills) Set(ctx context.Context, id string, w *storage.Will) error {
	return x.w(ctx, "will_set", func() error { return x.s.Set(ctx, id, w) })
}
func (x wills) Get(ctx context.Context, id string) (w *storage.Will, err error) {
	err = x.w(ctx, "will_get", func() error { w, err = x.s.Get(ctx, id); return err })
	return w, err
}
func (x wills) Delete(ctx context.Context, id string) error {
	return x.w(ctx, "will_delete", func() error { return x.s.Delete(ctx, id) })
}
func (x wills) Range(ctx context.Context, fn func(string, *storage.Will) bool) error {
	return x.w(ctx, "will_range", func() error { return x.s.Range(ctx, fn) })
}

type queues struct {
	s storage.QueueStore
	w Around
}

func (x queues) Append(ctx context.Context, id string, m *storage.Message) (seq uint64, err error) {
	err = x.w(ctx, "queue_append", func() error { seq, err = x.s.Append(ctx, id, m); return err })
	return seq, err
}
func (x queues) Update(ctx context.Context, id string, q *storage.Queued) error {
	return x.w(ctx, "queue_update", func() error { return x.s.Update(ctx, id, q) })
}
func (x queues) Remove(ctx context.Context, id string, seq uint64) error {
	return x.w(ctx, "queue_remove", func() error { return x.s.Remove(ctx, id, seq) })
}
func (x queues) Range(ctx context.Context, id string, fn func(*storage.Queued) bool) error {
	return x.w(ctx, "queue_range", func() error { return x.s.Range(ctx, id, fn) })
}
func (x queues) Clear(ctx context.Context, id string) error {
	return x.w(ctx, "queue_clear", func() error { return x.s.Clear(ctx, id) })
}

type batcher struct {
	b storage.QueueBatcher
	w Around
}

func (x batcher) AppendBatch(ctx context.Context, entries []storage.QueueAppend) (seqs []uint64, err error) {
	err = x.w(ctx, "queue_append_batch", func() error { seqs, err = x.b.AppendBatch(ctx, entries); return err })
	return seqs, err
}
func (x batcher) RemoveBatch(ctx context.Context, id string, seqs []uint64) error {
	return x.w(ctx, "queue_remove_batch", func() error { return x.b.RemoveBatch(ctx, id, seqs) })
}

type claimer struct {
	c storage.Claimer
	w Around
}

func (x claimer) Claim(ctx context.Context, id, owner string) error {
	return x.w(ctx, "claim", func() error { return x.c.Claim(ctx, id, owner) })
}

// WatchClaims runs until ctx ends: it is not wrapped.
func (x claimer) WatchClaims(ctx context.Context, owner string, fn func(string)) error {
	return x.c.WatchClaims(ctx, owner, fn)
}
