package prometheus

import (
	"strings"
	"sync"
	"sync/atomic"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/ternmq/broker/packets"
)

// cowMap caches values by label value: reads load an immutable map without
// a lock; a miss makes the value under mu and publishes a copy of the map
// with it. Label values are few (listener names, storage operations, drop
// reasons), so copies are rare and small.
type cowMap[V any] struct {
	m    atomic.Pointer[map[string]V]
	mu   sync.Mutex // serialises misses
	make func(key string) V
}

// get returns the value of key, making it on first use.
func (c *cowMap[V]) get(key string) V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[key]; ok {
			return v
		}
	}
	return c.miss(key)
}

func (c *cowMap[V]) miss(key string) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if v, ok := (*old)[key]; ok {
			return v
		}
	}
	key = strings.Clone(key) // do not pin the caller's buffer
	n := make(map[string]V, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			n[k] = v
		}
	}
	v := c.make(key)
	n[key] = v
	c.m.Store(&n)
	return v
}

func lenOf[V any](m *map[string]V) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// counterSlot holds one labelled child, made on first use: children by
// packet type and reason code appear only once they are seen. Two
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

// getType returns the child of vec for (listener, packet type t).
func (s *counterSlot) getType(vec *prom.CounterVec, listener string, t packets.Type) prom.Counter {
	if p := s.p.Load(); p != nil {
		return *p
	}
	c := vec.WithLabelValues(listener, strings.ToLower(t.String()))
	s.p.Store(&c)
	return c
}

// reasonLabel is the label value of a reason code: its name in snake case
// ("bad_user_name_or_password", "qos_not_supported").
func reasonLabel(code packets.ReasonCode) string {
	return strings.ReplaceAll(strings.ToLower(code.Error()), " ", "_")
}
