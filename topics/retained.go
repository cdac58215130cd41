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
	parent *rnode[V]
	level  string
	// The children: a few in a slice, searched in order (a map holding
	// one child costs some 250 bytes, and most retained topics end in
	// nodes with one child or none); past smallKids, a map and no slice.
	kids  []*rnode[V]
	index map[string]*rnode[V]
	topic string // the full topic name, when set
	value V
	set   bool
}

// smallKids is the most children a node keeps in its slice.
const smallKids = 8

// child returns the child of n for level, or nil.
func (n *rnode[V]) child(level string) *rnode[V] {
	if n.index != nil {
		return n.index[level]
	}
	for _, c := range n.kids {
		if c.level == level {
			return c
		}
	}
	return nil
}

// add makes c a child of n.
func (n *rnode[V]) add(c *rnode[V]) {
	switch {
	case n.index != nil:
		n.index[c.level] = c
	case len(n.kids) < smallKids:
		n.kids = append(n.kids, c)
	default:
		n.index = make(map[string]*rnode[V], 2*smallKids)
		for _, k := range n.kids {
			n.index[k.level] = k
		}
		n.index[c.level] = c
		n.kids = nil
	}
}

// remove takes the child for level away from n.
func (n *rnode[V]) remove(level string) {
	if n.index != nil {
		delete(n.index, level)
		return
	}
	for i, c := range n.kids {
		if c.level == level {
			n.kids = append(n.kids[:i], n.kids[i+1:]...)
			if len(n.kids) == 0 {
				n.kids = nil
			}
			return
		}
	}
}

// childless reports whether n has no children.
func (n *rnode[V]) childless() bool { return len(n.kids) == 0 && len(n.index) == 0 }

// children calls fn for each child of n until fn returns false, and
// reports whether it went through all of them.
func (n *rnode[V]) children(fn func(*rnode[V]) bool) bool {
	for _, c := range n.kids {
		if !fn(c) {
			return false
		}
	}
	for _, c := range n.index {
		if !fn(c) {
			return false
		}
	}
	return true
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
		c := n.child(level)
		if c == nil {
			c = &rnode[V]{parent: n, level: strings.Clone(level)}
			n.add(c)
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
		if n = n.child(level); n == nil {
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
	for n.parent != nil && !n.set && n.childless() {
		p := n.parent
		p.remove(n.level)
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
		return n.children(func(c *rnode[V]) bool {
			return (root && strings.HasPrefix(c.level, "$")) || c.all(fn)
		})
	case "+":
		return n.children(func(c *rnode[V]) bool {
			return (root && strings.HasPrefix(c.level, "$")) || c.step(rest, more, fn)
		})
	default:
		if c := n.child(level); c != nil {
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
	return n.children(func(c *rnode[V]) bool { return c.all(fn) })
}
