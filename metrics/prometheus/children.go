package prometheus

import (
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/ternmq/broker/packets"
)

// cowMap caches values by label value: reads load an immutable snapshot
// without a lock; a miss makes the value under mu and publishes a new
// snapshot with it. Label values are few (listener names, storage
// operations, drop reasons), so snapshots are rare and small, and a
// lookup among a handful is a linear scan of string comparisons (the
// broker passes the same string each time, which compares by pointer)
// rather than a hash.
type cowMap[V any] struct {
	snap atomic.Pointer[cowSnapshot[V]]
	mu   sync.Mutex // serialises misses
	make func(key string) V
}

type cowSnapshot[V any] struct {
	keys []string
	vals []V
	m    map[string]V // only when there are more than scanMax keys
}

// scanMax is the most keys looked up by a linear scan.
const scanMax = 8

// get returns the value of key, making it on first use.
func (c *cowMap[V]) get(key string) V {
	if s := c.snap.Load(); s != nil {
		if s.m == nil {
			for i, k := range s.keys {
				if sameString(k, key) {
					return s.vals[i]
				}
			}
		} else if v, ok := s.m[key]; ok {
			return v
		}
	}
	return c.miss(key)
}

func (c *cowMap[V]) miss(key string) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.snap.Load()
	if old == nil {
		old = &cowSnapshot[V]{}
	}
	for i, k := range old.keys {
		if k == key {
			return old.vals[i]
		}
	}
	key = strings.Clone(key) // do not pin the caller's buffer
	v := c.make(key)
	n := &cowSnapshot[V]{
		keys: append(old.keys[:len(old.keys):len(old.keys)], key),
		vals: append(old.vals[:len(old.vals):len(old.vals)], v),
	}
	if len(n.keys) > scanMax {
		n.m = make(map[string]V, len(n.keys))
		for i, k := range n.keys {
			n.m[k] = n.vals[i]
		}
	}
	c.snap.Store(n)
	return v
}

// sameString is k == key, first by pointer: the broker passes the same
// listener name string on every event.
func sameString(k, key string) bool {
	return len(k) == len(key) && (unsafe.StringData(k) == unsafe.StringData(key) || k == key)
}

// each calls fn for every key and value.
func (c *cowMap[V]) each(fn func(string, V)) {
	if s := c.snap.Load(); s != nil {
		for i, k := range s.keys {
			fn(k, s.vals[i])
		}
	}
}

// counterSlot holds one labelled child, made on first use: children by
// reason code appear only once they are seen. Two
// goroutines may make it at once; the vector returns the same child to
// both.
type counterSlot struct {
	p atomic.Pointer[prom.Counter]
}

// get returns the child of vec for (listener, reason label of code).
func (s *counterSlot) get(vec *prom.CounterVec, listener string, code packets.ReasonCode) prom.Counter {
	if p := s.p.Load(); p != nil {
		return *p
	}
	c := vec.WithLabelValues(listener, reasonLabel(code))
	s.p.Store(&c)
	return c
}

// reasonLabel is the label value of a reason code: its name in snake case
// ("bad_user_name_or_password", "qos_not_supported").
func reasonLabel(code packets.ReasonCode) string {
	return strings.ReplaceAll(strings.ToLower(code.Error()), " ", "_")
}
