package memory

import (
	"context"

	"github.com/ternmq/broker/storage"
)

// retainedStore is the Store seen as a storage.RetainedStore.
type retainedStore Store

// Set keeps m, replacing the retained message of its topic. It does not
// copy m: the caller does not modify it (storage.RetainedStore), and a
// retained message then costs its payload once, not twice. Get and Range
// return copies.
func (rs *retainedStore) Set(ctx context.Context, m *storage.Message) error {
	s := (*Store)(rs)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.rmu.Lock()
	s.retained[m.Topic] = m
	s.rmu.Unlock()
	return nil
}

// Delete removes the retained message of topic, or returns
// storage.ErrNotFound.
func (rs *retainedStore) Delete(ctx context.Context, topic string) error {
	s := (*Store)(rs)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.rmu.Lock()
	_, ok := s.retained[topic]
	delete(s.retained, topic)
	s.rmu.Unlock()
	if !ok {
		return storage.ErrNotFound
	}
	return nil
}

// Get returns a copy of the retained message of topic, or
// storage.ErrNotFound.
func (rs *retainedStore) Get(ctx context.Context, topic string) (*storage.Message, error) {
	s := (*Store)(rs)
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.rmu.RLock()
	m, ok := s.retained[topic]
	s.rmu.RUnlock()
	if !ok {
		return nil, storage.ErrNotFound
	}
	c := copyMessage(m)
	return &c, nil
}

// Range calls fn with a copy of every retained message, in no particular
// order, until fn returns false. It sees the messages stored when it was
// called.
func (rs *retainedStore) Range(ctx context.Context, fn func(*storage.Message) bool) error {
	s := (*Store)(rs)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.rmu.RLock()
	snap := make([]*storage.Message, 0, len(s.retained))
	for _, m := range s.retained {
		snap = append(snap, m)
	}
	s.rmu.RUnlock()
	for _, m := range snap {
		if err := s.check(ctx); err != nil {
			return err
		}
		c := copyMessage(m)
		if !fn(&c) {
			return nil
		}
	}
	return nil
}
