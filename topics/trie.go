package topics

import (
	"bytes"
	"strings"
	"sync"
	"sync/atomic"
)

// Entry is one subscription: who (Key), to what (Filter, as subscribed,
// shared prefix included) and with which options (Value).
type Entry[K comparable, V any] struct {
	Key    K      // the subscriber
	Filter string // the filter as subscribed, "$share/{group}/" included
	Value  V      // the subscription's options
}

// Matches receives the result of Trie.Match. Reuse one across calls: once
// its slices have grown, Match does not allocate.
type Matches[K comparable, V any] struct {
	// Subs has one Entry per matching non-shared subscription. A key with
	// several matching filters appears once per filter.
	Subs []Entry[K, V]
	// Groups has each matching shared group once per (group, filter).
	Groups []*Group[K, V]
}

// Reset empties m, keeping its capacity. It zeroes the old elements so
// that m does not keep keys and values alive.
func (m *Matches[K, V]) Reset() {
	clear(m.Subs)
	clear(m.Groups)
	m.Subs, m.Groups = m.Subs[:0], m.Groups[:0]
}

// Trie holds subscriptions by topic filter, one node per level, and finds
// those matching a topic name. It is safe for concurrent use; the package
// comment describes the locking.
type Trie[K comparable, V any] struct {
	mu    sync.RWMutex // guards every node
	root  *node[K, V]
	count atomic.Int64 // subscriptions, shared members included; written under mu
}

// indexAt is the number of subscribers at which a node starts keeping a
// key->position index, so that Subscribe and Unsubscribe stay O(1) on a
// filter that thousands of clients share. Below it a scan is cheaper.
const indexAt = 32

// node is one level of a filter. The fields Match reads come first, so
// that they share a cache line.
type node[K comparable, V any] struct {
	children map[string]*node[K, V]
	plus     *node[K, V] // the "+" child
	hash     *node[K, V] // the "#" child
	subs     []Entry[K, V]
	groups   []*Group[K, V]

	parent *node[K, V]
	level  string    // this node's key in parent: a level, "+" or "#"
	index  map[K]int // position in subs by key, once len(subs) >= indexAt
}

// NewTrie returns an empty trie.
func NewTrie[K comparable, V any]() *Trie[K, V] {
	return &Trie[K, V]{root: &node[K, V]{}}
}

// Subscribe adds key's subscription to filter with value v, or replaces v
// if key already subscribes to exactly this filter; replaced reports which.
// A shared filter "$share/g/f" makes key a member of group g on filter f; a
// key may be in several groups and also subscribe to f non-shared, each
// separately. The filter should have passed ValidateFilter; an invalid one
// is stored and matches as Match would match it.
func (t *Trie[K, V]) Subscribe(filter string, key K, v V) (replaced bool) {
	group, path, shared := ParseShared(filter)
	e := Entry[K, V]{Key: key, Filter: filter, Value: v}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.root
	for rest, more := path, true; more; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		n = n.child(level)
	}
	if shared {
		replaced = n.group(group, path).put(e)
	} else {
		replaced = n.put(e)
	}
	if !replaced {
		t.count.Add(1)
	}
	return replaced
}

// Unsubscribe removes key's subscription to filter (shared form accepted);
// removed reports whether there was one. Nodes left empty are pruned.
func (t *Trie[K, V]) Unsubscribe(filter string, key K) (removed bool) {
	group, path, shared := ParseShared(filter)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.root
	for rest, more := path, true; more; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		if n = n.lookup(level); n == nil {
			return false
		}
	}
	if shared {
		removed = n.removeMember(group, key)
	} else {
		removed = n.remove(key)
	}
	if removed {
		t.count.Add(-1)
		n.prune()
	}
	return removed
}

// Count returns the number of subscriptions, shared group members
// included.
func (t *Trie[K, V]) Count() int { return int(t.count.Load()) }

// Match resets m, then appends every subscription matching the topic name:
// non-shared ones to m.Subs, shared groups to m.Groups. A filter starting
// with a wildcard does not match a topic starting with '$' [MQTT-4.7.2-1].
// Match does not allocate when m has enough capacity.
func (t *Trie[K, V]) Match(topic []byte, m *Matches[K, V]) {
	m.Reset()
	if len(topic) == 0 {
		return
	}
	t.mu.RLock()
	t.root.match(topic, 0, topic[0] == '$', m)
	t.mu.RUnlock()
}

// match collects the subscriptions below n matching the levels of topic
// from byte i on; i > len(topic) means that every level has been consumed.
// dollar is set at the root for a '$' topic, where wildcards do not apply.
// A node is reached by one filter only, so it is visited at most once.
func (n *node[K, V]) match(topic []byte, i int, dollar bool, m *Matches[K, V]) {
	if n.hash != nil && !dollar {
		n.hash.collect(m) // '#' matches the rest, even nothing: "a/#" matches "a"
	}
	if i > len(topic) {
		n.collect(m)
		return
	}
	end := len(topic)
	if j := bytes.IndexByte(topic[i:], '/'); j >= 0 {
		end = i + j
	}
	// The compiler turns m[string(b)] into a lookup without a copy.
	if c := n.children[string(topic[i:end])]; c != nil {
		c.match(topic, end+1, false, m)
	}
	if n.plus != nil && !dollar {
		n.plus.match(topic, end+1, false, m)
	}
}

func (n *node[K, V]) collect(m *Matches[K, V]) {
	if len(n.subs) > 0 {
		m.Subs = append(m.Subs, n.subs...)
	}
	if len(n.groups) > 0 {
		m.Groups = append(m.Groups, n.groups...)
	}
}

// lookup returns the child for level, or nil.
func (n *node[K, V]) lookup(level string) *node[K, V] {
	switch level {
	case "+":
		return n.plus
	case "#":
		return n.hash
	}
	return n.children[level]
}

// child returns the child for level, creating it if needed.
func (n *node[K, V]) child(level string) *node[K, V] {
	if c := n.lookup(level); c != nil {
		return c
	}
	// Clone: level is part of a filter string that may be long and may go
	// away before this node does.
	c := &node[K, V]{parent: n, level: strings.Clone(level)}
	switch level {
	case "+":
		n.plus = c
	case "#":
		n.hash = c
	default:
		if n.children == nil {
			n.children = make(map[string]*node[K, V])
		}
		n.children[c.level] = c
	}
	return c
}

// find returns the position of key in n.subs, or -1.
func (n *node[K, V]) find(key K) int {
	if n.index != nil {
		if i, ok := n.index[key]; ok {
			return i
		}
		return -1
	}
	for i := range n.subs {
		if n.subs[i].Key == key {
			return i
		}
	}
	return -1
}

// put adds or replaces e in n.subs. It writes in place: every reader of
// n.subs holds the read lock (see the package comment).
func (n *node[K, V]) put(e Entry[K, V]) (replaced bool) {
	if i := n.find(e.Key); i >= 0 {
		n.subs[i] = e
		return true
	}
	n.subs = append(n.subs, e)
	switch {
	case n.index != nil:
		n.index[e.Key] = len(n.subs) - 1
	case len(n.subs) >= indexAt:
		n.index = make(map[K]int, len(n.subs))
		for i := range n.subs {
			n.index[n.subs[i].Key] = i
		}
	}
	return false
}

// remove deletes key from n.subs, moving the last entry into its place.
func (n *node[K, V]) remove(key K) (removed bool) {
	i := n.find(key)
	if i < 0 {
		return false
	}
	last := len(n.subs) - 1
	if i != last {
		n.subs[i] = n.subs[last]
		if n.index != nil {
			n.index[n.subs[i].Key] = i
		}
	}
	n.subs[last] = Entry[K, V]{}
	n.subs = n.subs[:last]
	if n.index != nil {
		delete(n.index, key)
		if len(n.subs) < indexAt/2 {
			n.index = nil
		}
	}
	switch {
	case len(n.subs) == 0:
		n.subs = nil
	case cap(n.subs) >= 64 && len(n.subs) <= cap(n.subs)/4:
		n.subs = append([]Entry[K, V](nil), n.subs...) // give memory back
	}
	return true
}

// group returns n's shared group name, creating it (on filter) if needed.
func (n *node[K, V]) group(name, filter string) *Group[K, V] {
	for _, g := range n.groups {
		if g.Name == name {
			return g
		}
	}
	g := &Group[K, V]{Name: strings.Clone(name), Filter: strings.Clone(filter)}
	n.groups = append(n.groups, g)
	return g
}

// removeMember removes key from n's group name, dropping the group once
// it is empty.
func (n *node[K, V]) removeMember(name string, key K) (removed bool) {
	for i, g := range n.groups {
		if g.Name != name {
			continue
		}
		if !g.remove(key) {
			return false
		}
		if len(g.Members()) == 0 {
			last := len(n.groups) - 1
			n.groups[i] = n.groups[last]
			n.groups[last] = nil
			n.groups = n.groups[:last]
			if last == 0 {
				n.groups = nil
			}
		}
		return true
	}
	return false
}

func (n *node[K, V]) empty() bool {
	return len(n.subs) == 0 && len(n.groups) == 0 && len(n.children) == 0 && n.plus == nil && n.hash == nil
}

// prune unlinks n and its ancestors while they are empty.
func (n *node[K, V]) prune() {
	for n.parent != nil && n.empty() {
		p := n.parent
		switch {
		case p.plus == n:
			p.plus = nil
		case p.hash == n:
			p.hash = nil
		default:
			delete(p.children, n.level)
			if len(p.children) == 0 {
				p.children = nil
			}
		}
		n.parent = nil
		n = p
	}
}
