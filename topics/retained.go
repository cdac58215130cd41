package topics

import "sync"

type rnode[V any] struct {
	children map[string]*rnode[V]
	val      V
	has      bool
	topic    string
}

// Retained indexes retained messages by topic name for lookup by filter.
type Retained[V any] struct {
	mu   sync.RWMutex // guards root and n
	root rnode[V]
	n    int
}

// NewRetained returns an empty index.
func NewRetained[V any]() *Retained[V] { return &Retained[V]{} }

// Len returns the number of retained topics.
func (r *Retained[V]) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.n
}

// Set stores v for topic, replacing any previous value.
func (r *Retained[V]) Set(topic string, v V) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := &r.root
	rest := topic
	for {
		level, next, more := cut(rest)
		c := n.children[level]
		if c == nil {
			if n.children == nil {
				n.children = make(map[string]*rnode[V])
			}
			c = &rnode[V]{}
			n.children[level] = c
		}
		n = c
		if !more {
			break
		}
		rest = next
	}
	if !n.has {
		r.n++
	}
	n.val, n.has, n.topic = v, true, topic
}

// Get returns the value retained for topic.
func (r *Retained[V]) Get(topic string) (V, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := &r.root
	rest := topic
	for {
		level, next, more := cut(rest)
		n = n.children[level]
		if n == nil {
			var zero V
			return zero, false
		}
		if !more {
			return n.val, n.has
		}
		rest = next
	}
}

// Delete removes topic's value; deleted reports whether there was one.
func (r *Retained[V]) Delete(topic string) (deleted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	deleted = r.del(&r.root, topic)
	if deleted {
		r.n--
	}
	return deleted
}

func (r *Retained[V]) del(n *rnode[V], rest string) bool {
	level, next, more := cut(rest)
	c := n.children[level]
	if c == nil {
		return false
	}
	var deleted bool
	if more {
		deleted = r.del(c, next)
	} else if c.has {
		var zero V
		c.val, c.has, c.topic = zero, false, ""
		deleted = true
	}
	if deleted && !c.has && len(c.children) == 0 {
		delete(n.children, level)
	}
	return deleted
}

// Match calls fn for every retained topic matching filter, with the '$'
// rule [MQTT-4.7.2-1], until fn returns false. fn must not call into r.
func (r *Retained[V]) Match(filter string, fn func(topic string, v V) bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	r.match(&r.root, filter, true, fn)
}

func (r *Retained[V]) match(n *rnode[V], filter string, root bool, fn func(string, V) bool) bool {
	level, rest, more := cut(filter)
	switch level {
	case "#":
		if !root && n.has && !fn(n.topic, n.val) { // "a/#" matches "a"
			return false
		}
		for name, c := range n.children {
			if root && len(name) > 0 && name[0] == '$' {
				continue
			}
			if !r.all(c, fn) {
				return false
			}
		}
		return true
	case "+":
		for name, c := range n.children {
			if root && len(name) > 0 && name[0] == '$' {
				continue
			}
			if !r.step(c, rest, more, fn) {
				return false
			}
		}
		return true
	}
	if c := n.children[level]; c != nil {
		return r.step(c, rest, more, fn)
	}
	return true
}

func (r *Retained[V]) step(c *rnode[V], rest string, more bool, fn func(string, V) bool) bool {
	if more {
		return r.match(c, rest, false, fn)
	}
	if c.has {
		return fn(c.topic, c.val)
	}
	return true
}

func (r *Retained[V]) all(n *rnode[V], fn func(string, V) bool) bool {
	if n.has && !fn(n.topic, n.val) {
		return false
	}
	for _, c := range n.children {
		if !r.all(c, fn) {
			return false
		}
	}
	return true
}
