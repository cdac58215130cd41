package topics

import "sync"

// Entry is one subscription: the subscriber's key, the filter as
// subscribed and the subscriber's value (its options).
type Entry[K comparable, V any] struct {
	Key    K
	Filter string
	Value  V
}

// Matches is the result of Trie.Match; reuse it across calls so Match does
// not allocate.
type Matches[K comparable, V any] struct {
	Subs   []Entry[K, V]
	Groups []*Group[K, V]
}

// Reset empties m, keeping its capacity.
func (m *Matches[K, V]) Reset() {
	m.Subs = m.Subs[:0]
	m.Groups = m.Groups[:0]
}

type node[K comparable, V any] struct {
	children map[string]*node[K, V]
	plus     *node[K, V]
	hash     *node[K, V]
	subs     []Entry[K, V]  // copy-on-write
	groups   []*Group[K, V] // copy-on-write
}

func (n *node[K, V]) empty() bool {
	return len(n.children) == 0 && n.plus == nil && n.hash == nil && len(n.subs) == 0 && len(n.groups) == 0
}

// Trie indexes subscriptions by topic filter, one node per level.
type Trie[K comparable, V any] struct {
	mu    sync.RWMutex // guards root and everything under it, and count
	root  node[K, V]
	count int
}

// NewTrie returns an empty trie.
func NewTrie[K comparable, V any]() *Trie[K, V] { return &Trie[K, V]{} }

// Count returns the number of subscriptions, shared members included.
func (t *Trie[K, V]) Count() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.count
}

// Subscribe adds key's subscription to filter with value v, or replaces v
// if key already subscribes to exactly this filter. A shared filter
// "$share/g/f" makes key a member of group g on filter f.
func (t *Trie[K, V]) Subscribe(filter string, key K, v V) (replaced bool) {
	group, inner, shared := ParseShared(filter)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := &t.root
	rest := inner
	for {
		level, r, more := cut(rest)
		switch level {
		case "+":
			if n.plus == nil {
				n.plus = &node[K, V]{}
			}
			n = n.plus
		case "#":
			if n.hash == nil {
				n.hash = &node[K, V]{}
			}
			n = n.hash
		default:
			c := n.children[level]
			if c == nil {
				if n.children == nil {
					n.children = make(map[string]*node[K, V])
				}
				c = &node[K, V]{}
				n.children[level] = c
			}
			n = c
		}
		if !more {
			break
		}
		rest = r
	}
	e := Entry[K, V]{Key: key, Filter: filter, Value: v}
	if shared {
		var g *Group[K, V]
		for _, x := range n.groups {
			if x.Name == group {
				g = x
			}
		}
		if g == nil {
			g = &Group[K, V]{Name: group, Filter: inner}
			n.groups = append(n.groups[:len(n.groups):len(n.groups)], g)
		}
		replaced = g.put(e)
	} else {
		replaced = false
		for i := range n.subs {
			if n.subs[i].Key == key {
				subs := append([]Entry[K, V](nil), n.subs...)
				subs[i] = e
				n.subs = subs
				replaced = true
				break
			}
		}
		if !replaced {
			n.subs = append(n.subs[:len(n.subs):len(n.subs)], e)
		}
	}
	if !replaced {
		t.count++
	}
	return replaced
}

// Unsubscribe removes key's subscription to filter (shared form accepted);
// removed reports whether one existed. Nodes left empty are pruned.
func (t *Trie[K, V]) Unsubscribe(filter string, key K) (removed bool) {
	group, inner, shared := ParseShared(filter)
	t.mu.Lock()
	defer t.mu.Unlock()
	removed = t.unsub(&t.root, inner, group, shared, key)
	if removed {
		t.count--
	}
	return removed
}

func (t *Trie[K, V]) unsub(n *node[K, V], rest, group string, shared bool, key K) bool {
	level, r, more := cut(rest)
	var c *node[K, V]
	switch level {
	case "+":
		c = n.plus
	case "#":
		c = n.hash
	default:
		c = n.children[level]
	}
	if c == nil {
		return false
	}
	var removed bool
	if more {
		removed = t.unsub(c, r, group, shared, key)
	} else if shared {
		for i, g := range c.groups {
			if g.Name == group {
				removed = g.remove(key)
				if len(g.Members()) == 0 {
					groups := append([]*Group[K, V](nil), c.groups[:i]...)
					c.groups = append(groups, c.groups[i+1:]...)
				}
				break
			}
		}
	} else {
		for i := range c.subs {
			if c.subs[i].Key == key {
				subs := make([]Entry[K, V], 0, len(c.subs)-1)
				subs = append(subs, c.subs[:i]...)
				c.subs = append(subs, c.subs[i+1:]...)
				removed = true
				break
			}
		}
	}
	if removed && c.empty() {
		switch level {
		case "+":
			n.plus = nil
		case "#":
			n.hash = nil
		default:
			delete(n.children, level)
		}
	}
	return removed
}

// Match appends to m (after m.Reset) every subscription matching the topic
// name, applying the '$' rule [MQTT-4.7.2-1]. It does not allocate when m
// has enough capacity.
func (t *Trie[K, V]) Match(topic []byte, m *Matches[K, V]) {
	m.Reset()
	t.mu.RLock()
	t.match(&t.root, topic, true, m)
	t.mu.RUnlock()
}

func (t *Trie[K, V]) match(n *node[K, V], topic []byte, root bool, m *Matches[K, V]) {
	level, rest, more := cutBytes(topic)
	// Wildcards at the first level never match '$' topics [MQTT-4.7.2-1].
	wild := !(root && len(topic) > 0 && topic[0] == '$')
	if wild {
		if n.hash != nil {
			collect(n.hash, m) // '#' matches this level and below [MQTT-4.7.1-2]
		}
		if n.plus != nil {
			t.descend(n.plus, rest, more, m)
		}
	}
	if c := n.children[string(level)]; c != nil {
		t.descend(c, rest, more, m)
	}
}

func (t *Trie[K, V]) descend(c *node[K, V], rest []byte, more bool, m *Matches[K, V]) {
	if more {
		t.match(c, rest, false, m)
		return
	}
	collect(c, m)
	if c.hash != nil {
		collect(c.hash, m) // "a/#" matches "a"
	}
}

func collect[K comparable, V any](n *node[K, V], m *Matches[K, V]) {
	m.Subs = append(m.Subs, n.subs...)
	m.Groups = append(m.Groups, n.groups...)
}

// cutBytes splits b at its first '/'.
func cutBytes(b []byte) (level, rest []byte, more bool) {
	for i, c := range b {
		if c == '/' {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}
