package memory

import (
	"context"

	"github.com/ternmq/broker/storage"
)

// willStore is the Store seen as a storage.WillStore.
type willStore Store

// copyWill returns a deep copy of w.
func copyWill(w *storage.Will) *storage.Will {
	return &storage.Will{Message: copyMessage(&w.Message), Delay: w.Delay}
}

// Set stores a copy of w as the client's will, replacing the previous one.
func (ws *willStore) Set(ctx context.Context, clientID string, w *storage.Will) error {
	s := (*Store)(ws)
	if err := s.check(ctx); err != nil {
		return err
	}
	c := copyWill(w)
	s.wmu.Lock()
	s.wills[clientID] = c
	s.wmu.Unlock()
	return nil
}

// Get returns a copy of the client's will, or storage.ErrNotFound.
func (ws *willStore) Get(ctx context.Context, clientID string) (*storage.Will, error) {
	s := (*Store)(ws)
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.wmu.RLock()
	w, ok := s.wills[clientID]
	s.wmu.RUnlock()
	if !ok {
		return nil, storage.ErrNotFound
	}
	return copyWill(w), nil
}

// Delete removes the client's will, or returns storage.ErrNotFound.
func (ws *willStore) Delete(ctx context.Context, clientID string) error {
	s := (*Store)(ws)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.wmu.Lock()
	_, ok := s.wills[clientID]
	delete(s.wills, clientID)
	s.wmu.Unlock()
	if !ok {
		return storage.ErrNotFound
	}
	return nil
}

// Range calls fn with a copy of every will, in no particular order, until fn
// returns false. It sees the wills stored when it was called.
func (ws *willStore) Range(ctx context.Context, fn func(clientID string, w *storage.Will) bool) error {
	s := (*Store)(ws)
	if err := s.check(ctx); err != nil {
		return err
	}
	type entry struct {
		clientID string
		w        *storage.Will
	}
	s.wmu.RLock()
	snap := make([]entry, 0, len(s.wills))
	for id, w := range s.wills {
		snap = append(snap, entry{id, w})
	}
	s.wmu.RUnlock()
	for _, e := range snap {
		if err := s.check(ctx); err != nil {
			return err
		}
		if !fn(e.clientID, copyWill(e.w)) {
			return nil
		}
	}
	return nil
}
