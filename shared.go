package broker

import (
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/topics"
)

// SharedStrategy chooses which member of a shared subscription group gets
// a message [MQTT-4.8.2].
type SharedStrategy int

// Shared subscription strategies.
const (
	// RoundRobin takes the members in turn (the default).
	RoundRobin SharedStrategy = iota
	// Random picks a member at random.
	Random
	// Sticky keeps sending to the same member while it is connected.
	Sticky
	// HashClient picks by a hash of the publisher's client identifier, so
	// one publisher's messages go to one member.
	HashClient
	// HashTopic picks by a hash of the topic, so one topic goes to one member.
	HashTopic
	// LeastInflight picks the member with the fewest deliveries queued or
	// in flight.
	LeastInflight
)

// WithSharedStrategy sets how shared subscription groups pick a member.
func WithSharedStrategy(s SharedStrategy) Option { return func(b *Broker) { b.shared = s } }

var hashSeed = maphash.MakeSeed()

type sharedGroup = topics.Group[subscriber, subscription]

// sharedOnly holds the Message.SharedGroups of the messages between
// Broker.internal (which made them from a Message) and routing: the
// engine's message has no room for them, and almost every message has
// none, so n keeps the lookup off their path. Every message registered is
// taken again: by runPublishHooks (which hands the list to the hooks and
// registers the message it makes of their result), by routeFrom, or by
// retain when the publish fails before routing.
type sharedOnly struct {
	n atomic.Int64
	m sync.Map // *sessions.Message → restriction
}

// restriction is a message's Message.SharedGroups and SharedGroupsOnly.
type restriction struct {
	groups     []string
	groupsOnly bool
}

func (s *sharedOnly) set(m *sessions.Message, groups []string, groupsOnly bool) {
	if _, loaded := s.m.Swap(m, restriction{slices.Clone(groups), groupsOnly}); !loaded {
		s.n.Add(1)
	}
}

// take returns and forgets the groups registered for m and whether m goes
// to them only; ok is false when m is not restricted.
func (s *sharedOnly) take(m *sessions.Message) (groups []string, groupsOnly, ok bool) {
	if s.n.Load() == 0 {
		return nil, false, false
	}
	v, ok := s.m.LoadAndDelete(m)
	if !ok {
		return nil, false, false
	}
	s.n.Add(-1)
	r := v.(restriction)
	return r.groups, r.groupsOnly, true
}

// groupsOnly reports whether m goes to its SharedGroups only (and sets no
// retained message).
func (s *sharedOnly) groupsOnly(m *sessions.Message) bool {
	if s.n.Load() == 0 {
		return false
	}
	v, ok := s.m.Load(m)
	return ok && v.(restriction).groupsOnly
}

// listed reports whether groups names the shared group name on filter, as
// "$share/<name>/<filter>", without building that string.
func listed(groups []string, name, filter string) bool {
	const prefix = "$share/"
	for _, s := range groups {
		if len(s) == len(prefix)+len(name)+1+len(filter) && strings.HasPrefix(s, prefix) &&
			s[len(prefix):len(prefix)+len(name)] == name && s[len(prefix)+len(name)] == '/' &&
			s[len(prefix)+len(name)+1:] == filter {
			return true
		}
	}
	return false
}

// deliverShared sends m to one member of group g (see pickShared).
func (b *Broker) deliverShared(g *sharedGroup, m *sessions.Message, except subscriber) (bool, error) {
	to, d, ok := b.pickShared(g, m, except)
	if !ok {
		return false, nil
	}
	return true, to.deliver(d)
}

// pickShared chooses the member of group g that gets m: a connected one if
// any, else one whose session keeps messages while offline; never except.
func (b *Broker) pickShared(g *sharedGroup, m *sessions.Message, except subscriber) (subscriber, sessions.Delivery, bool) {
	members := g.Members()
	n := len(members)
	if n == 0 {
		return nil, sessions.Delivery{}, false
	}
	var start int
	switch b.shared {
	case Random:
		start = rand.IntN(n)
	case Sticky:
		start = 0
	case HashClient:
		start = int(maphash.String(hashSeed, m.Origin) % uint64(n))
	case HashTopic:
		start = int(maphash.String(hashSeed, m.Topic) % uint64(n))
	case LeastInflight:
		start = leastLoaded(members, except)
	default:
		start = int(g.Next() % uint32(n))
	}
	for pass := 0; pass < 2; pass++ {
		for i := range n {
			e := members[(start+i)%n]
			if e.Key == except || !b.accepts(e.Key, e.Value, m) {
				continue
			}
			if s, ok := e.Key.(*session); ok && pass == 0 && !s.online() {
				continue
			}
			d := b.delivery(m, e.Value)
			d.Shared = g
			return e.Key, d, true
		}
	}
	return nil, sessions.Delivery{}, false
}

// leastLoaded returns the index of the member with the fewest deliveries
// queued or in flight.
func leastLoaded(members []topics.Entry[subscriber, subscription], except subscriber) int {
	best, load := 0, int(^uint(0)>>1)
	for i, e := range members {
		s, ok := e.Key.(*session)
		if !ok || e.Key == except {
			continue
		}
		s.mu.Lock()
		l := s.queue.Len() + s.inflight.Len()
		online := s.conn != nil
		s.mu.Unlock()
		if online && l < load {
			best, load = i, l
		}
	}
	return best
}

// takeSharedLocked takes from s the deliveries that came through shared
// subscriptions and are not yet acknowledged, for another member of their
// group (section 4.8.2: the Server "SHOULD send the Application Message to
// another Client"). Called with s.mu held; the caller re-routes them with reshare
// after unlocking.
func (s *session) takeSharedLocked() []sessions.Delivery {
	take := func(d *sessions.Delivery) bool { return d.Shared != nil && !d.Release }
	out := s.inflight.Extract(take)
	for _, d := range s.queue.Extract(take) {
		if d.ID != 0 {
			s.inflight.Free(d.ID)
		}
		d.ID, d.Dup = 0, false
		out = append(out, d)
	}
	return out
}

// reshare gives deliveries taken from a departing member to the other
// members of their groups. The departing member's stored copy is removed
// only once another member has the message (stored, if it is durable);
// when none can take it, it goes back to the departing member's queue, to
// be delivered if that client returns.
func (b *Broker) reshare(from *session, ds []sessions.Delivery) {
	for _, d := range ds {
		ok, err := b.deliverShared(d.Shared.(*sharedGroup), d.Msg, from)
		if ok && err == nil {
			b.unstore(from, d.Seq)
			continue
		}
		from.mu.Lock()
		kept := !from.ended && from.queue.Push(d)
		from.mu.Unlock()
		if !kept {
			b.unstore(from, d.Seq)
			b.dropped(from.id, d.Msg, DropQueueFull)
		}
	}
}
