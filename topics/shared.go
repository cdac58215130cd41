package topics

import "sync/atomic"

// Group is a shared subscription group on one filter [MQTT-4.8.2]: the
// members of "$share/{Name}/{Filter}". A message matching Filter goes to
// one member, which the broker picks with Next and Members.
//
// A Group stays usable after it has been emptied and dropped from the
// trie: whoever still holds it sees its last snapshot.
type Group[K comparable, V any] struct {
	// Name is the share name, the {group} of "$share/{group}/{filter}".
	Name string
	// Filter is the inner filter, without "$share/{group}/".
	Filter string

	// members is a copy-on-write snapshot: replaced under the trie's write
	// lock, loaded without a lock by Members. Adding a member appends into
	// spare capacity, which no published snapshot can see (its length stops
	// before), so only removals and replacements copy.
	members atomic.Pointer[[]Entry[K, V]]
	next    atomic.Uint32
}

// Members returns the members of the group, one Entry per key, whose
// Filter is the full shared filter "$share/{Name}/{Filter}". The slice is
// an immutable snapshot, never modified after it is returned, so the caller
// may iterate it without a lock; it must not modify it either.
func (g *Group[K, V]) Members() []Entry[K, V] {
	if p := g.members.Load(); p != nil {
		return *p
	}
	return nil
}

// Next returns a counter that increases by one on each call, for
// round-robin selection: Members()[g.Next()%uint32(len)]. It is atomic, so
// concurrent publishers spread over the members; it wraps at 2^32.
func (g *Group[K, V]) Next() uint32 {
	return g.next.Add(1) - 1
}

// put adds or replaces key's membership; the caller holds the trie's write
// lock.
func (g *Group[K, V]) put(e Entry[K, V]) (replaced bool) {
	ms := g.Members()
	for i := range ms {
		if ms[i].Key == e.Key {
			c := make([]Entry[K, V], len(ms))
			copy(c, ms)
			c[i] = e
			g.members.Store(&c)
			return true
		}
	}
	ms = append(ms, e)
	g.members.Store(&ms)
	return false
}

// remove drops key's membership; the caller holds the trie's write lock.
func (g *Group[K, V]) remove(key K) (removed bool) {
	ms := g.Members()
	for i := range ms {
		if ms[i].Key == key {
			c := make([]Entry[K, V], 0, len(ms)-1)
			c = append(c, ms[:i]...)
			c = append(c, ms[i+1:]...)
			g.members.Store(&c)
			return true
		}
	}
	return false
}
