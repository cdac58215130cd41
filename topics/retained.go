package topics

import (
	"strings"
	"sync"
)

// Retained holds retained messages by topic name, one node per level, so
// that a new subscription's filter finds them without a scan of every
// topic [MQTT-3.3.1-6]. It is safe for concurrent use.
type Retained[V any] struct {
	mu   sync.RWMutex // guards root, every node below it and n
	root rnode[V]
	n    int
}

type rnode[V any] struct {
	parent   *rnode[V]
	level    string
	children map[string]*rnode[V]
	topic    string // the full topic name, when set
	value    V
	set      bool
}

// NewRetained returns an empty store.
func NewRetained[V any]() *Retained[V] { return &Retained[V]{} }

// Set stores v as the retained value of topic, replacing any previous one,
// and reports whether the topic had none. topic should have passed
// ValidateName.
func (r *Retained[V]) Set(topic string, v V) (added bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := &r.root
	for rest, more := topic, true; more; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		c := n.children[level]
		if c == nil {
			c = &rnode[V]{parent: n, level: strings.Clone(level)}
			if n.children == nil {
				n.children = make(map[string]*rnode[V])
			}
			n.children[c.level] = c
		}
		n = c
	}
	if !n.set {
		r.n++
		n.topic = strings.Clone(topic)
		n.set = true
		added = true
	}
	n.value = v
	return added
}

// find returns the node of topic, or nil; the caller holds mu.
func (r *Retained[V]) find(topic string) *rnode[V] {
	n := &r.root
	for rest, more := topic, true; more; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		if n = n.children[level]; n == nil {
			return nil
		}
	}
	return n
}

// Get returns the retained value of topic, and whether there is one.
func (r *Retained[V]) Get(topic string) (V, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if n := r.find(topic); n != nil && n.set {
		return n.value, true
	}
	var zero V
	return zero, false
}

// Delete removes the retained value of topic; deleted reports whether
// there was one. Nodes left empty are pruned.
func (r *Retained[V]) Delete(topic string) (deleted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.find(topic)
	if n == nil || !n.set {
		return false
	}
	var zero V
	n.value, n.topic, n.set = zero, "", false
	r.n--
	for n.parent != nil && !n.set && len(n.children) == 0 {
		p := n.parent
		delete(p.children, n.level)
		n.parent = nil
		n = p
	}
	return true
}

// Len returns the number of retained topics.
func (r *Retained[V]) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.n
}

// Match calls fn for each retained topic matching filter, in no particular
// order, until fn returns false. It matches as Match does: '+' one level,
// '#' any number including none, and a filter starting with a wildcard
// returns no topic starting with '$' [MQTT-4.7.2-1]. A shared filter
// matches as its inner filter. Match holds the read lock while fn runs, so
// fn must not call back into r.
func (r *Retained[V]) Match(filter string, fn func(topic string, v V) bool) {
	if _, inner, shared := ParseShared(filter); shared {
		filter = inner
	}
	if filter == "" {
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	r.root.match(filter, true, fn)
}

// match walks the levels of filter below n and returns false once fn has
// asked to stop. root is set at the top level, where wildcards skip '$'
// topics.
func (n *rnode[V]) match(filter string, root bool, fn func(string, V) bool) bool {
	level, rest, more := strings.Cut(filter, "/")
	switch level {
	case "#":
		if more { // not the last level: matches nothing
			return true
		}
		if n.set && !fn(n.topic, n.value) { // "a/#" matches "a"
			return false
		}
		for l, c := range n.children {
			if root && strings.HasPrefix(l, "$") {
				continue
			}
			if !c.all(fn) {
				return false
			}
		}
	case "+":
		for l, c := range n.children {
			if root && strings.HasPrefix(l, "$") {
				continue
			}
			if !c.step(rest, more, fn) {
				return false
			}
		}
	default:
		if c := n.children[level]; c != nil {
			return c.step(rest, more, fn)
		}
	}
	return true
}

// step continues a match at n, the node of the level just matched.
func (n *rnode[V]) step(rest string, more bool, fn func(string, V) bool) bool {
	if !more {
		return !n.set || fn(n.topic, n.value)
	}
	return n.match(rest, false, fn)
}

// all calls fn for n and every node below it.
func (n *rnode[V]) all(fn func(string, V) bool) bool {
	if n.set && !fn(n.topic, n.value) {
		return false
	}
	for _, c := range n.children {
		if !c.all(fn) {
			return false
		}
	}
	return true
}
