package storagetest

import (
	"fmt"
	"testing"

	"github.com/ternmq/broker/storage"
)

// subscription returns a distinct subscription for i.
func subscription(i int) storage.Subscription {
	filters := []string{"a/b", "a/+/c", "#", "$share/group/x/#", "température/☃", "+/+"}
	return storage.Subscription{
		Filter:            fmt.Sprintf("%s/%d", filters[i%len(filters)], i),
		QoS:               byte(i % 3),
		NoLocal:           i%2 == 1,
		RetainAsPublished: i%3 == 1,
		RetainHandling:    byte(i % 3),
		ID:                uint32(i * 1000),
	}
}

func testSubscriptions(t *testing.T, open opener) {
	run(t, "ForClientUnknownIsEmpty", func(t *testing.T) {
		s := open(t)
		got, err := s.Subscriptions().ForClient(t.Context(), "nobody")
		mustOK(t, "ForClient", err)
		mustEqual(t, "subscriptions", []storage.Subscription(nil), got)
	})
	run(t, "RemoveMissingIsNotFound", func(t *testing.T) {
		s := open(t)
		mustBe(t, "Remove unknown client", s.Subscriptions().Remove(t.Context(), "nobody", "a/b"), storage.ErrNotFound)
		mustOK(t, "Add", s.Subscriptions().Add(t.Context(), "c", subscription(1)))
		mustBe(t, "Remove unknown filter", s.Subscriptions().Remove(t.Context(), "c", "a/b"), storage.ErrNotFound)
	})
	run(t, "RemoveAllUnknownIsOK", func(t *testing.T) {
		s := open(t)
		mustOK(t, "RemoveAll", s.Subscriptions().RemoveAll(t.Context(), "nobody"))
	})
	run(t, "AddThenForClient", func(t *testing.T) {
		s := open(t)
		var want []storage.Subscription
		for i := range 12 {
			want = append(want, subscription(i))
			mustOK(t, "Add", s.Subscriptions().Add(t.Context(), "c1", subscription(i)))
		}
		mustOK(t, "Add other client", s.Subscriptions().Add(t.Context(), "c2", subscription(99)))
		got, err := s.Subscriptions().ForClient(t.Context(), "c1")
		mustOK(t, "ForClient", err)
		mustEqual(t, "subscriptions", bySubFilter(want), bySubFilter(got))
	})
	run(t, "AddSameFilterReplaces", func(t *testing.T) {
		s := open(t)
		a, b := subscription(1), subscription(2)
		b.Filter = a.Filter
		mustOK(t, "Add", s.Subscriptions().Add(t.Context(), "c", a))
		mustOK(t, "Add", s.Subscriptions().Add(t.Context(), "c", b))
		got, err := s.Subscriptions().ForClient(t.Context(), "c")
		mustOK(t, "ForClient", err)
		mustEqual(t, "subscriptions", []storage.Subscription{b}, got)
	})
	run(t, "RemoveOne", func(t *testing.T) {
		s := open(t)
		for i := range 3 {
			mustOK(t, "Add", s.Subscriptions().Add(t.Context(), "c", subscription(i)))
		}
		mustOK(t, "Remove", s.Subscriptions().Remove(t.Context(), "c", subscription(1).Filter))
		got, err := s.Subscriptions().ForClient(t.Context(), "c")
		mustOK(t, "ForClient", err)
		want := []storage.Subscription{subscription(0), subscription(2)}
		mustEqual(t, "subscriptions", bySubFilter(want), bySubFilter(got))
		mustBe(t, "second Remove", s.Subscriptions().Remove(t.Context(), "c", subscription(1).Filter), storage.ErrNotFound)
	})
	run(t, "RemoveAllLeavesOtherClients", func(t *testing.T) {
		s := open(t)
		for i := range 5 {
			mustOK(t, "Add", s.Subscriptions().Add(t.Context(), "c1", subscription(i)))
			mustOK(t, "Add", s.Subscriptions().Add(t.Context(), "c2", subscription(i)))
		}
		mustOK(t, "RemoveAll", s.Subscriptions().RemoveAll(t.Context(), "c1"))
		got, err := s.Subscriptions().ForClient(t.Context(), "c1")
		mustOK(t, "ForClient", err)
		mustEqual(t, "c1 after RemoveAll", 0, len(got))
		got, err = s.Subscriptions().ForClient(t.Context(), "c2")
		mustOK(t, "ForClient", err)
		mustEqual(t, "c2", 5, len(got))
		mustEqual(t, "Range", 5, len(collectSubs(t, s)))
	})
	run(t, "CopiesOut", func(t *testing.T) {
		s := open(t)
		mustOK(t, "Add", s.Subscriptions().Add(t.Context(), "c", subscription(1)))
		got, err := s.Subscriptions().ForClient(t.Context(), "c")
		mustOK(t, "ForClient", err)
		got[0].QoS = 9
		got, err = s.Subscriptions().ForClient(t.Context(), "c")
		mustOK(t, "ForClient", err)
		mustEqual(t, "subscriptions", []storage.Subscription{subscription(1)}, got)
	})
	run(t, "RangeVisitsAll", func(t *testing.T) {
		s := open(t)
		want := map[[2]string]storage.Subscription{}
		for c := range 40 {
			id := fmt.Sprintf("client-%d", c)
			for i := range c%7 + 1 {
				mustOK(t, "Add", s.Subscriptions().Add(t.Context(), id, subscription(i)))
				want[[2]string{id, subscription(i).Filter}] = subscription(i)
			}
		}
		mustEqual(t, "subscriptions", want, collectSubs(t, s))
	})
	run(t, "RangeStopsWhenFnReturnsFalse", func(t *testing.T) {
		s := open(t)
		for c := range 10 {
			for i := range 10 {
				mustOK(t, "Add", s.Subscriptions().Add(t.Context(), fmt.Sprint(c), subscription(i)))
			}
		}
		calls := 0
		mustOK(t, "Range", s.Subscriptions().Range(t.Context(), func(string, storage.Subscription) bool {
			calls++
			return calls < 15
		}))
		mustEqual(t, "calls", 15, calls)
	})
}

// bySubFilter indexes subscriptions by filter, failing on duplicates, so
// backends may return them in any order.
func bySubFilter(subs []storage.Subscription) map[string]storage.Subscription {
	m := make(map[string]storage.Subscription, len(subs))
	for _, s := range subs {
		if _, dup := m[s.Filter]; dup {
			m[s.Filter+" (duplicate)"] = s
		}
		m[s.Filter] = s
	}
	return m
}

// collectSubs returns what Range visits by (client id, filter), failing if
// it visits a pair twice.
func collectSubs(t *testing.T, s storage.Store) map[[2]string]storage.Subscription {
	t.Helper()
	got := map[[2]string]storage.Subscription{}
	mustOK(t, "Range", s.Subscriptions().Range(t.Context(), func(id string, sub storage.Subscription) bool {
		k := [2]string{id, sub.Filter}
		if _, dup := got[k]; dup {
			t.Errorf("Range visited %q %q twice", id, sub.Filter)
		}
		got[k] = sub
		return true
	}))
	return got
}
