package memory

import (
	"context"

	"github.com/ternmq/broker/storage"
)

// sessionStore is the Store seen as a storage.SessionStore.
type sessionStore Store

// Get returns a copy of the client's session, or storage.ErrNotFound.
func (ss *sessionStore) Get(ctx context.Context, clientID string) (*storage.Session, error) {
	s := (*Store)(ss)
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.smu.RLock()
	st, ok := s.sessions[clientID]
	s.smu.RUnlock()
	if !ok {
		return nil, storage.ErrNotFound
	}
	return copySession(st), nil
}

// Save stores a copy of st, replacing the client's previous session.
func (ss *sessionStore) Save(ctx context.Context, st *storage.Session) error {
	s := (*Store)(ss)
	if err := s.check(ctx); err != nil {
		return err
	}
	c := copySession(st)
	s.smu.Lock()
	s.sessions[c.ClientID] = c
	s.smu.Unlock()
	return nil
}

// Delete removes the client's session, or returns storage.ErrNotFound.
func (ss *sessionStore) Delete(ctx context.Context, clientID string) error {
	s := (*Store)(ss)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.smu.Lock()
	_, ok := s.sessions[clientID]
	delete(s.sessions, clientID)
	s.smu.Unlock()
	if !ok {
		return storage.ErrNotFound
	}
	return nil
}

// Range calls fn with a copy of every session, in no particular order,
// until fn returns false. It sees the sessions stored when it was called.
func (ss *sessionStore) Range(ctx context.Context, fn func(*storage.Session) bool) error {
	s := (*Store)(ss)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.smu.RLock()
	snap := make([]*storage.Session, 0, len(s.sessions))
	for _, st := range s.sessions {
		snap = append(snap, st)
	}
	s.smu.RUnlock()
	for _, st := range snap {
		if err := s.check(ctx); err != nil {
			return err
		}
		if !fn(copySession(st)) {
			return nil
		}
	}
	return nil
}
