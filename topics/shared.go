package topics

import "sync/atomic"

// Group is a shared subscription group on one filter [MQTT-4.8.2]: a
// message matching Filter goes to one member of the group.
type Group[K comparable, V any] struct {
	Name    string
	Filter  string
	members atomic.Pointer[[]Entry[K, V]] // copy-on-write
	next    atomic.Uint32
}

// Members returns an immutable snapshot of the group's members.
func (g *Group[K, V]) Members() []Entry[K, V] {
	if p := g.members.Load(); p != nil {
		return *p
	}
	return nil
}

// Next returns an ever-increasing counter for round-robin selection.
func (g *Group[K, V]) Next() uint32 { return g.next.Add(1) - 1 }

// put adds or replaces e; the caller holds the trie's write lock.
func (g *Group[K, V]) put(e Entry[K, V]) (replaced bool) {
	old := g.Members()
	ms := make([]Entry[K, V], 0, len(old)+1)
	for _, x := range old {
		if x.Key == e.Key {
			replaced = true
			x = e
		}
		ms = append(ms, x)
	}
	if !replaced {
		ms = append(ms, e)
	}
	g.members.Store(&ms)
	return replaced
}

// remove deletes key's membership; the caller holds the trie's write lock.
func (g *Group[K, V]) remove(key K) bool {
	old := g.Members()
	ms := make([]Entry[K, V], 0, len(old))
	for _, x := range old {
		if x.Key != key {
			ms = append(ms, x)
		}
	}
	g.members.Store(&ms)
	return len(ms) < len(old)
}
