package topics

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

func retainedMatch(r *Retained[int], filter string) []string {
	var got []string
	r.Match(filter, func(topic string, v int) bool {
		got = append(got, fmt.Sprintf("%s=%d", topic, v))
		return true
	})
	slices.Sort(got)
	return got
}

func TestRetainedMatch(t *testing.T) {
	r := NewRetained[int]()
	topics := []string{
		"sport", "sport/tennis", "sport/tennis/player1", "sport/tennis/player1/ranking",
		"sport/football", "/finance", "a//b", "a/", "$SYS/broker/load", "$SYS", "x/$SYS",
	}
	for i, tp := range topics {
		r.Set(tp, i)
	}
	tests := []struct {
		name, filter string
		want         []string
	}{
		{"exact", "sport/tennis", []string{"sport/tennis=1"}},
		{"exact, absent", "sport/golf", nil},
		{"exact, inner node without a value", "a", nil},
		{"hash matches the parent [MQTT-4.7.1-2]", "sport/tennis/player1/#",
			[]string{"sport/tennis/player1/ranking=3", "sport/tennis/player1=2"}},
		{"sport/# matches sport [MQTT-4.7.1-2]", "sport/#",
			[]string{"sport/football=4", "sport/tennis/player1/ranking=3", "sport/tennis/player1=2", "sport/tennis=1", "sport=0"}},
		{"hash skips $ topics [MQTT-4.7.2-1]", "#",
			[]string{"/finance=5", "a/=7", "a//b=6", "sport/football=4", "sport/tennis/player1/ranking=3", "sport/tennis/player1=2", "sport/tennis=1", "sport=0", "x/$SYS=10"}},
		{"plus skips $ topics [MQTT-4.7.2-1]", "+", []string{"sport=0"}},
		{"plus/plus [MQTT-4.7.1-3]", "+/+", []string{"/finance=5", "a/=7", "sport/football=4", "sport/tennis=1", "x/$SYS=10"}},
		{"plus one level only [MQTT-4.7.1-3]", "sport/+", []string{"sport/football=4", "sport/tennis=1"}},
		{"plus matches an empty level [MQTT-4.7.1-3]", "a/+/b", []string{"a//b=6"}},
		{"plus at the end, empty level [MQTT-4.7.1-3]", "a/+", []string{"a/=7"}},
		{"leading empty level [MQTT-4.7.1-3]", "/+", []string{"/finance=5"}},
		{"$SYS/# [MQTT-4.7.2-1]", "$SYS/#", []string{"$SYS/broker/load=8", "$SYS=9"}},
		{"$SYS/+/load [MQTT-4.7.2-1]", "$SYS/+/load", []string{"$SYS/broker/load=8"}},
		{"shared filter as its inner filter", "$share/g/sport/+", []string{"sport/football=4", "sport/tennis=1"}},
		{"hash not last matches nothing", "sport/#/player1", nil},
		{"empty filter", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := slices.Sorted(slices.Values(tt.want))
			if d := gocmp.Diff(want, retainedMatch(r, tt.filter)); d != "" {
				t.Errorf("Match(%q) (-want +got):\n%s", tt.filter, d)
			}
		})
	}
}

func TestRetainedMatchStops(t *testing.T) {
	r := NewRetained[int]()
	for i := range 50 {
		r.Set(fmt.Sprintf("a/%d/b", i), i)
		r.Set(fmt.Sprintf("a/%d", i), i)
	}
	for _, filter := range []string{"#", "a/#", "a/+", "a/+/b", "+/+/+"} {
		for stopAt := 1; stopAt <= 3; stopAt++ {
			n := 0
			r.Match(filter, func(string, int) bool { n++; return n < stopAt })
			if n != stopAt {
				t.Errorf("Match(%q) called fn %d times after it returned false at %d", filter, n, stopAt)
			}
		}
	}
}

func TestRetainedSetGetDelete(t *testing.T) {
	r := NewRetained[string]()
	if _, ok := r.Get("a"); ok {
		t.Error("Get on an empty store found something")
	}
	r.Set("a/b/c", "1")
	r.Set("a/b", "2")
	r.Set("a/b/c", "3") // replaces [MQTT-3.3.1-5]
	if r.Len() != 2 {
		t.Errorf("Len() = %d, want 2", r.Len())
	}
	for _, tt := range []struct{ topic, v string }{{"a/b/c", "3"}, {"a/b", "2"}, {"a", ""}, {"a/b/c/d", ""}} {
		if v, ok := r.Get(tt.topic); v != tt.v || ok != (tt.v != "") {
			t.Errorf("Get(%q) = %q, %v, want %q", tt.topic, v, ok, tt.v)
		}
	}
	if r.Delete("a") || r.Delete("a/b/c/d") || r.Delete("x") {
		t.Error("Delete of an absent topic reported true")
	}
	if !r.Delete("a/b") || r.Delete("a/b") {
		t.Error("Delete(a/b) not exactly once")
	}
	if v, ok := r.Get("a/b/c"); !ok || v != "3" {
		t.Errorf("Get(a/b/c) = %q, %v after deleting its parent", v, ok)
	}
	if !r.Delete("a/b/c") {
		t.Error("Delete(a/b/c) = false")
	}
	if r.Len() != 0 || !r.root.childless() {
		t.Errorf("not empty after deleting everything: Len %d, root children %v %v", r.Len(), r.root.kids, r.root.index)
	}
}

// TestRetainedMatchesReference is a property test against the reference
// Match, with random sets, deletes and filters.
func TestRetainedMatchesReference(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 5))
	r := NewRetained[int]()
	mod := map[string]int{}
	for round := range 10 {
		for i := range 60 {
			tp := randLevels(rnd, false)
			if tp == "" { // not a topic name [MQTT-4.7.3-1]
				continue
			}
			r.Set(tp, round*100+i)
			mod[tp] = round*100 + i
		}
		for range 30 {
			tp := randLevels(rnd, false)
			_, had := mod[tp]
			delete(mod, tp)
			if r.Delete(tp) != had {
				t.Fatalf("Delete(%q) != %v", tp, had)
			}
		}
		if r.Len() != len(mod) {
			t.Fatalf("Len() = %d, want %d", r.Len(), len(mod))
		}
		for range 100 {
			filter := randFilter(rnd)
			var want []string
			for tp, v := range mod {
				if Match(filter, tp) {
					want = append(want, fmt.Sprintf("%s=%d", tp, v))
				}
			}
			slices.Sort(want)
			if d := gocmp.Diff(want, retainedMatch(r, filter)); d != "" {
				t.Fatalf("Match(%q) (-reference +retained):\n%s", filter, d)
			}
		}
	}
}

func TestRetainedConcurrent(t *testing.T) {
	r := NewRetained[int]()
	r.Set("s/keep", 1)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range 2000 {
				tp := fmt.Sprintf("s/%d/%d", w, i%50)
				r.Set(tp, i)
				r.Get(tp)
				r.Delete(tp)
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 500 {
				found := false
				r.Match("s/#", func(tp string, _ int) bool {
					found = found || tp == "s/keep"
					return true
				})
				if !found {
					t.Error("Match(s/#) missed s/keep")
					return
				}
				_ = r.Len()
			}
		})
	}
	wg.Wait()
	if r.Len() != 1 {
		t.Errorf("Len() = %d, want 1", r.Len())
	}
}

// BenchmarkRetainedMatch matches wildcard filters against 100,000 retained
// topics of 3 to 5 levels: 10 sites x 100 devices x 20 sensors x 0-2 more.
func BenchmarkRetainedMatch(b *testing.B) {
	r := NewRetained[int]()
	rnd := rand.New(rand.NewPCG(1, 1))
	for r.Len() < 100_000 {
		ls := []string{fmt.Sprintf("site%d", rnd.IntN(10)), fmt.Sprintf("dev%d", rnd.IntN(100)), fmt.Sprintf("sensor%d", rnd.IntN(20))}
		for range rnd.IntN(3) {
			ls = append(ls, fmt.Sprintf("m%d", rnd.IntN(5)))
		}
		r.Set(strings.Join(ls, "/"), r.Len())
	}
	for _, filter := range []string{"site3/dev42/#", "site3/+/sensor7", "+/dev42/sensor7/+", "site3/#"} {
		b.Run(filter, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			fn := func(string, int) bool { n++; return true }
			for b.Loop() {
				r.Match(filter, fn)
			}
			b.ReportMetric(float64(n)/float64(b.N), "topics/op")
		})
	}
}

// TestRetainedManyChildren crosses smallKids both ways: the children move
// from the node's slice to its map and stay reachable, and deleting them
// all prunes the node.
func TestRetainedManyChildren(t *testing.T) {
	r := NewRetained[int]()
	const n = 3 * smallKids
	for i := range n {
		r.Set(fmt.Sprintf("p/%d", i), i)
	}
	seen := 0
	r.Match("p/+", func(string, int) bool { seen++; return true })
	if seen != n {
		t.Fatalf("p/+ matched %d of %d", seen, n)
	}
	for i := range n {
		if v, ok := r.Get(fmt.Sprintf("p/%d", i)); !ok || v != i {
			t.Fatalf("Get(p/%d) = %d, %v", i, v, ok)
		}
		if !r.Delete(fmt.Sprintf("p/%d", i)) {
			t.Fatalf("Delete(p/%d) = false", i)
		}
	}
	if !r.root.childless() {
		t.Fatal("p not pruned")
	}
}
