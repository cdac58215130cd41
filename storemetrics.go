package broker

import (
	"context"
	"time"

	"github.com/ternmq/broker/storage"
)

// meter wraps a Store so that every call is reported to Metrics.StorageCall
// with its latency and error. Optional capabilities (QueueBatcher,
// Claimer) stay visible: the wrapper implements the ones the store has.
func meter(s storage.Store, m Metrics) storage.Store {
	ms := &meteredStore{s: s, m: m}
	qb, batches := s.(storage.QueueBatcher)
	cl, claims := s.(storage.Claimer)
	switch {
	case batches && claims:
		return struct {
			*meteredStore
			meteredBatcher
			meteredClaimer
		}{ms, meteredBatcher{qb, m}, meteredClaimer{cl, m}}
	case batches:
		return struct {
			*meteredStore
			meteredBatcher
		}{ms, meteredBatcher{qb, m}}
	case claims:
		return struct {
			*meteredStore
			meteredClaimer
		}{ms, meteredClaimer{cl, m}}
	}
	return ms
}

// observe reports one storage call that started at start.
func observe(m Metrics, op string, start time.Time, err error) {
	m.StorageCall(op, time.Since(start), err)
}

type meteredStore struct {
	s storage.Store
	m Metrics
}

func (x *meteredStore) Sessions() storage.SessionStore { return meteredSessions{x.s.Sessions(), x.m} }
func (x *meteredStore) Subscriptions() storage.SubscriptionStore {
	return meteredSubs{x.s.Subscriptions(), x.m}
}
func (x *meteredStore) Retained() storage.RetainedStore { return meteredRetained{x.s.Retained(), x.m} }
func (x *meteredStore) Wills() storage.WillStore        { return meteredWills{x.s.Wills(), x.m} }
func (x *meteredStore) Queues() storage.QueueStore      { return meteredQueues{x.s.Queues(), x.m} }
func (x *meteredStore) Close() error                    { return x.s.Close() }

type meteredSessions struct {
	s storage.SessionStore
	m Metrics
}

func (x meteredSessions) Get(ctx context.Context, id string) (*storage.Session, error) {
	t := time.Now()
	s, err := x.s.Get(ctx, id)
	observe(x.m, "session_get", t, err)
	return s, err
}
func (x meteredSessions) Save(ctx context.Context, s *storage.Session) error {
	t := time.Now()
	err := x.s.Save(ctx, s)
	observe(x.m, "session_save", t, err)
	return err
}
func (x meteredSessions) Delete(ctx context.Context, id string) error {
	t := time.Now()
	err := x.s.Delete(ctx, id)
	observe(x.m, "session_delete", t, err)
	return err
}
func (x meteredSessions) Range(ctx context.Context, fn func(*storage.Session) bool) error {
	t := time.Now()
	err := x.s.Range(ctx, fn)
	observe(x.m, "session_range", t, err)
	return err
}

type meteredSubs struct {
	s storage.SubscriptionStore
	m Metrics
}

func (x meteredSubs) Add(ctx context.Context, id string, s storage.Subscription) error {
	t := time.Now()
	err := x.s.Add(ctx, id, s)
	observe(x.m, "subscription_add", t, err)
	return err
}
func (x meteredSubs) Remove(ctx context.Context, id, filter string) error {
	t := time.Now()
	err := x.s.Remove(ctx, id, filter)
	observe(x.m, "subscription_remove", t, err)
	return err
}
func (x meteredSubs) RemoveAll(ctx context.Context, id string) error {
	t := time.Now()
	err := x.s.RemoveAll(ctx, id)
	observe(x.m, "subscription_remove_all", t, err)
	return err
}
func (x meteredSubs) ForClient(ctx context.Context, id string) ([]storage.Subscription, error) {
	t := time.Now()
	subs, err := x.s.ForClient(ctx, id)
	observe(x.m, "subscription_get", t, err)
	return subs, err
}
func (x meteredSubs) Range(ctx context.Context, fn func(string, storage.Subscription) bool) error {
	t := time.Now()
	err := x.s.Range(ctx, fn)
	observe(x.m, "subscription_range", t, err)
	return err
}

type meteredRetained struct {
	s storage.RetainedStore
	m Metrics
}

func (x meteredRetained) Set(ctx context.Context, m *storage.Message) error {
	t := time.Now()
	err := x.s.Set(ctx, m)
	observe(x.m, "retained_set", t, err)
	return err
}
func (x meteredRetained) Delete(ctx context.Context, topic string) error {
	t := time.Now()
	err := x.s.Delete(ctx, topic)
	observe(x.m, "retained_delete", t, err)
	return err
}
func (x meteredRetained) Get(ctx context.Context, topic string) (*storage.Message, error) {
	t := time.Now()
	m, err := x.s.Get(ctx, topic)
	observe(x.m, "retained_get", t, err)
	return m, err
}
func (x meteredRetained) Range(ctx context.Context, fn func(*storage.Message) bool) error {
	t := time.Now()
	err := x.s.Range(ctx, fn)
	observe(x.m, "retained_range", t, err)
	return err
}

type meteredWills struct {
	s storage.WillStore
	m Metrics
}

func (x meteredWills) Set(ctx context.Context, id string, w *storage.Will) error {
	t := time.Now()
	err := x.s.Set(ctx, id, w)
	observe(x.m, "will_set", t, err)
	return err
}
func (x meteredWills) Get(ctx context.Context, id string) (*storage.Will, error) {
	t := time.Now()
	w, err := x.s.Get(ctx, id)
	observe(x.m, "will_get", t, err)
	return w, err
}
func (x meteredWills) Delete(ctx context.Context, id string) error {
	t := time.Now()
	err := x.s.Delete(ctx, id)
	observe(x.m, "will_delete", t, err)
	return err
}
func (x meteredWills) Range(ctx context.Context, fn func(string, *storage.Will) bool) error {
	t := time.Now()
	err := x.s.Range(ctx, fn)
	observe(x.m, "will_range", t, err)
	return err
}

type meteredQueues struct {
	s storage.QueueStore
	m Metrics
}

func (x meteredQueues) Append(ctx context.Context, id string, m *storage.Message) (uint64, error) {
	t := time.Now()
	seq, err := x.s.Append(ctx, id, m)
	observe(x.m, "queue_append", t, err)
	return seq, err
}
func (x meteredQueues) Update(ctx context.Context, id string, q *storage.Queued) error {
	t := time.Now()
	err := x.s.Update(ctx, id, q)
	observe(x.m, "queue_update", t, err)
	return err
}
func (x meteredQueues) Remove(ctx context.Context, id string, seq uint64) error {
	t := time.Now()
	err := x.s.Remove(ctx, id, seq)
	observe(x.m, "queue_remove", t, err)
	return err
}
func (x meteredQueues) Range(ctx context.Context, id string, fn func(*storage.Queued) bool) error {
	t := time.Now()
	err := x.s.Range(ctx, id, fn)
	observe(x.m, "queue_range", t, err)
	return err
}
func (x meteredQueues) Clear(ctx context.Context, id string) error {
	t := time.Now()
	err := x.s.Clear(ctx, id)
	observe(x.m, "queue_clear", t, err)
	return err
}

type meteredBatcher struct {
	b storage.QueueBatcher
	m Metrics
}

func (x meteredBatcher) AppendBatch(ctx context.Context, entries []storage.QueueAppend) ([]uint64, error) {
	t := time.Now()
	seqs, err := x.b.AppendBatch(ctx, entries)
	observe(x.m, "queue_append_batch", t, err)
	return seqs, err
}
func (x meteredBatcher) RemoveBatch(ctx context.Context, id string, seqs []uint64) error {
	t := time.Now()
	err := x.b.RemoveBatch(ctx, id, seqs)
	observe(x.m, "queue_remove_batch", t, err)
	return err
}

type meteredClaimer struct {
	c storage.Claimer
	m Metrics
}

func (x meteredClaimer) Claim(ctx context.Context, id, owner string) error {
	t := time.Now()
	err := x.c.Claim(ctx, id, owner)
	observe(x.m, "claim", t, err)
	return err
}
func (x meteredClaimer) WatchClaims(ctx context.Context, owner string, fn func(string)) error {
	return x.c.WatchClaims(ctx, owner, fn) // runs until ctx ends: not a call to time
}
