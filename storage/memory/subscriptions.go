package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/ternmq/broker/storage"
)

// subscriptionStore is the Store seen as a storage.SubscriptionStore.
type subscriptionStore Store

// Add stores sub for the client, replacing its subscription with the same
// filter. Subscription holds no references, so a value copy is deep.
func (ss *subscriptionStore) Add(ctx context.Context, clientID string, sub storage.Subscription) error {
	s := (*Store)(ss)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.submu.Lock()
	m := s.subs[clientID]
	if m == nil {
		m = make(map[string]storage.Subscription)
		s.subs[clientID] = m
	}
	m[sub.Filter] = sub
	s.submu.Unlock()
	return nil
}

// Remove deletes the client's subscription to filter, or returns
// storage.ErrNotFound.
func (ss *subscriptionStore) Remove(ctx context.Context, clientID, filter string) error {
	s := (*Store)(ss)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.submu.Lock()
	defer s.submu.Unlock()
	m := s.subs[clientID]
	if _, ok := m[filter]; !ok {
		return storage.ErrNotFound
	}
	delete(m, filter)
	if len(m) == 0 {
		delete(s.subs, clientID)
	}
	return nil
}

// RemoveAll deletes every subscription of the client; none is not an error.
func (ss *subscriptionStore) RemoveAll(ctx context.Context, clientID string) error {
	s := (*Store)(ss)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.submu.Lock()
	delete(s.subs, clientID)
	s.submu.Unlock()
	return nil
}

// ForClient returns the client's subscriptions sorted by filter; an empty
// result (nil) is not an error.
func (ss *subscriptionStore) ForClient(ctx context.Context, clientID string) ([]storage.Subscription, error) {
	s := (*Store)(ss)
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.submu.RLock()
	m := s.subs[clientID]
	var out []storage.Subscription
	if len(m) > 0 {
		out = make([]storage.Subscription, 0, len(m))
		for _, sub := range m {
			out = append(out, sub)
		}
	}
	s.submu.RUnlock()
	sortSubs(out)
	return out, nil
}

// Range calls fn for every subscription of every client until fn returns
// false. Clients come in no particular order, each client's subscriptions
// sorted by filter. It sees the subscriptions stored when it was called.
func (ss *subscriptionStore) Range(ctx context.Context, fn func(clientID string, s storage.Subscription) bool) error {
	s := (*Store)(ss)
	if err := s.check(ctx); err != nil {
		return err
	}
	type entry struct {
		clientID string
		subs     []storage.Subscription
	}
	s.submu.RLock()
	snap := make([]entry, 0, len(s.subs))
	for id, m := range s.subs {
		e := entry{id, make([]storage.Subscription, 0, len(m))}
		for _, sub := range m {
			e.subs = append(e.subs, sub)
		}
		snap = append(snap, e)
	}
	s.submu.RUnlock()
	for _, e := range snap {
		if err := s.check(ctx); err != nil {
			return err
		}
		sortSubs(e.subs)
		for _, sub := range e.subs {
			if !fn(e.clientID, sub) {
				return nil
			}
		}
	}
	return nil
}

// sortSubs orders subs by filter, as the disk backends return them.
func sortSubs(subs []storage.Subscription) {
	slices.SortFunc(subs, func(a, b storage.Subscription) int { return strings.Compare(a.Filter, b.Filter) })
}
