package topics

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

// result is a Match result in comparable form: "key filter=value" per
// subscription and "group filter: members" per group, sorted.
func result(m *Matches[string, int]) (subs, groups []string) {
	for _, e := range m.Subs {
		subs = append(subs, fmt.Sprintf("%s %s=%d", e.Key, e.Filter, e.Value))
	}
	for _, g := range m.Groups {
		groups = append(groups, groupString(g))
	}
	slices.Sort(subs)
	slices.Sort(groups)
	return subs, groups
}

func groupString(g *Group[string, int]) string {
	var ms []string
	for _, e := range g.Members() {
		ms = append(ms, fmt.Sprintf("%s %s=%d", e.Key, e.Filter, e.Value))
	}
	slices.Sort(ms)
	return g.Name + " " + g.Filter + ": " + strings.Join(ms, ", ")
}

func TestTrieMatch(t *testing.T) {
	tr := NewTrie[string, int]()
	for _, s := range []struct {
		key, filter string
		v           int
	}{
		{"c1", "sport/tennis/player1", 1},
		{"c1", "sport/tennis/+", 2},
		{"c2", "sport/#", 3},
		{"c3", "#", 4},
		{"c3", "+/tennis/#", 5},
		{"c4", "$SYS/#", 6},
		{"c4", "$SYS/monitor/+", 7},
		{"c5", "+/monitor/Clients", 8},
		{"c6", "/+", 9},
		{"c6", "+/+", 10},
		{"c7", "$share/g1/sport/tennis/+", 11},
		{"c8", "$share/g1/sport/tennis/+", 12},
		{"c8", "$share/g2/sport/tennis/+", 13},
		{"c7", "$share/g1/sport/#", 14},
		{"c9", "$share/g3/#", 15},
		{"c9", "a//b", 16},
	} {
		tr.Subscribe(s.filter, s.key, s.v)
	}
	tests := []struct {
		name, topic  string
		subs, groups []string
	}{
		{"exact, plus, hash on parent, root hash [MQTT-4.7.1-2, 4.7.1-3]", "sport/tennis/player1",
			[]string{"c1 sport/tennis/+=2", "c1 sport/tennis/player1=1", "c2 sport/#=3", "c3 #=4", "c3 +/tennis/#=5"},
			[]string{
				"g1 sport/#: c7 $share/g1/sport/#=14",
				"g1 sport/tennis/+: c7 $share/g1/sport/tennis/+=11, c8 $share/g1/sport/tennis/+=12",
				"g2 sport/tennis/+: c8 $share/g2/sport/tennis/+=13",
				"g3 #: c9 $share/g3/#=15",
			}},
		{"sport/# matches sport [MQTT-4.7.1-2]", "sport",
			[]string{"c2 sport/#=3", "c3 #=4"},
			[]string{"g1 sport/#: c7 $share/g1/sport/#=14", "g3 #: c9 $share/g3/#=15"}},
		{"plus does not match two levels [MQTT-4.7.1-3]", "sport/tennis/player1/ranking",
			[]string{"c2 sport/#=3", "c3 #=4", "c3 +/tennis/#=5"},
			[]string{"g1 sport/#: c7 $share/g1/sport/#=14", "g3 #: c9 $share/g3/#=15"}},
		{"$ topic: no wildcard at the first level [MQTT-4.7.2-1]", "$SYS/monitor/Clients",
			[]string{"c4 $SYS/#=6", "c4 $SYS/monitor/+=7"}, nil},
		{"not $ [MQTT-4.7.2-1]", "SYS/monitor/Clients",
			[]string{"c3 #=4", "c5 +/monitor/Clients=8"}, []string{"g3 #: c9 $share/g3/#=15"}},
		{"leading empty level [MQTT-4.7.1-3]", "/finance",
			[]string{"c3 #=4", "c6 +/+=10", "c6 /+=9"}, []string{"g3 #: c9 $share/g3/#=15"}},
		{"empty middle level", "a//b",
			[]string{"c3 #=4", "c9 a//b=16"}, []string{"g3 #: c9 $share/g3/#=15"}},
		{"shared filter text is not a topic [MQTT-4.8.2]", "$share/g1/sport/tennis/x", nil, nil},
		{"empty topic", "", nil, nil},
	}
	var m Matches[string, int]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr.Match([]byte(tt.topic), &m)
			subs, groups := result(&m)
			if d := gocmp.Diff(tt.subs, subs); d != "" {
				t.Errorf("Match(%q) subs (-want +got):\n%s", tt.topic, d)
			}
			if d := gocmp.Diff(tt.groups, groups); d != "" {
				t.Errorf("Match(%q) groups (-want +got):\n%s", tt.topic, d)
			}
		})
	}
}

// TestTrieMatchCases runs the reference matcher's table through the trie.
func TestTrieMatchCases(t *testing.T) {
	var m Matches[string, int]
	for _, tt := range matchCases {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTrie[string, int]()
			tr.Subscribe(tt.filter, "k", 1)
			tr.Match([]byte(tt.topic), &m)
			if got := len(m.Subs)+len(m.Groups) == 1; got != tt.want {
				t.Errorf("trie with %q, Match(%q): %v, want %v", tt.filter, tt.topic, got, tt.want)
			}
		})
	}
}

func TestTrieSubscribeUnsubscribe(t *testing.T) {
	tr := NewTrie[string, int]()
	steps := []struct {
		name     string
		sub      bool // else unsubscribe
		filter   string
		key      string
		v        int
		want     bool // replaced or removed
		count    int
		matching []string // subscriptions and groups matching topic "a/b"
	}{
		{"new", true, "a/b", "k1", 1, false, 1, []string{"k1 a/b=1"}},
		{"same filter, same key replaces", true, "a/b", "k1", 2, true, 1, []string{"k1 a/b=2"}},
		{"same filter, other key", true, "a/b", "k2", 3, false, 2, []string{"k1 a/b=2", "k2 a/b=3"}},
		{"overlapping filter of the same key is separate", true, "a/+", "k1", 4, false, 3, []string{"k1 a/+=4", "k1 a/b=2", "k2 a/b=3"}},
		{"shared on the same filter is separate [MQTT-4.8.2]", true, "$share/g/a/b", "k1", 5, false, 4,
			[]string{"g a/b: k1 $share/g/a/b=5", "k1 a/+=4", "k1 a/b=2", "k2 a/b=3"}},
		{"second group of the same key [MQTT-4.8.2]", true, "$share/h/a/b", "k1", 6, false, 5,
			[]string{"g a/b: k1 $share/g/a/b=5", "h a/b: k1 $share/h/a/b=6", "k1 a/+=4", "k1 a/b=2", "k2 a/b=3"}},
		{"shared member replaced", true, "$share/g/a/b", "k1", 7, true, 5,
			[]string{"g a/b: k1 $share/g/a/b=7", "h a/b: k1 $share/h/a/b=6", "k1 a/+=4", "k1 a/b=2", "k2 a/b=3"}},
		{"second member", true, "$share/g/a/b", "k2", 8, false, 6,
			[]string{"g a/b: k1 $share/g/a/b=7, k2 $share/g/a/b=8", "h a/b: k1 $share/h/a/b=6", "k1 a/+=4", "k1 a/b=2", "k2 a/b=3"}},
		{"unsubscribe unknown key", false, "a/b", "k3", 0, false, 6, nil},
		{"unsubscribe unknown filter", false, "a/c", "k1", 0, false, 6, nil},
		{"unsubscribe a prefix of a filter", false, "a", "k1", 0, false, 6, nil},
		{"unsubscribe unknown group", false, "$share/x/a/b", "k1", 0, false, 6, nil},
		{"unsubscribe plain", false, "a/b", "k1", 0, true, 5,
			[]string{"g a/b: k1 $share/g/a/b=7, k2 $share/g/a/b=8", "h a/b: k1 $share/h/a/b=6", "k1 a/+=4", "k2 a/b=3"}},
		{"unsubscribe plain again", false, "a/b", "k1", 0, false, 5, nil},
		{"unsubscribe shared member", false, "$share/g/a/b", "k1", 0, true, 4,
			[]string{"g a/b: k2 $share/g/a/b=8", "h a/b: k1 $share/h/a/b=6", "k1 a/+=4", "k2 a/b=3"}},
		{"unsubscribe last member drops the group", false, "$share/h/a/b", "k1", 0, true, 3,
			[]string{"g a/b: k2 $share/g/a/b=8", "k1 a/+=4", "k2 a/b=3"}},
		{"unsubscribe wildcard", false, "a/+", "k1", 0, true, 2, []string{"g a/b: k2 $share/g/a/b=8", "k2 a/b=3"}},
		{"unsubscribe rest", false, "a/b", "k2", 0, true, 1, []string{"g a/b: k2 $share/g/a/b=8"}},
		{"unsubscribe last", false, "$share/g/a/b", "k2", 0, true, 0, []string{}},
	}
	var m Matches[string, int]
	for _, s := range steps {
		var got bool
		if s.sub {
			got = tr.Subscribe(s.filter, s.key, s.v)
		} else {
			got = tr.Unsubscribe(s.filter, s.key)
		}
		if got != s.want {
			t.Errorf("%s: got %v, want %v", s.name, got, s.want)
		}
		if c := tr.Count(); c != s.count {
			t.Errorf("%s: Count() = %d, want %d", s.name, c, s.count)
		}
		if s.matching != nil {
			tr.Match([]byte("a/b"), &m)
			subs, groups := result(&m)
			got := append(groups, subs...)
			if d := gocmp.Diff(s.matching, got, cmpEmpty); d != "" {
				t.Errorf("%s: Match(a/b) (-want +got):\n%s", s.name, d)
			}
		}
	}
	if !tr.root.empty() {
		t.Errorf("root not empty after the last unsubscribe: %+v", tr.root)
	}
}

var cmpEmpty = gocmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

func TestTriePrune(t *testing.T) {
	tr := NewTrie[int, int]()
	filters := []string{"a/b/c", "a/b/#", "a/+/c", "+/b", "#", "a", "/", "$share/g/a/b/c", "$share/g/x/+/y", "a/b/c/d/e/f"}
	for i, f := range filters {
		tr.Subscribe(f, i, i)
		tr.Subscribe(f, i+100, i)
	}
	for i, f := range filters {
		tr.Unsubscribe(f, i)
		tr.Unsubscribe(f, i+100)
	}
	if !tr.root.empty() || tr.Count() != 0 {
		t.Errorf("trie not empty after unsubscribing everything: count %d, root %+v", tr.Count(), tr.root)
	}
}

// TestTrieCrowdedFilter exercises a node with many subscribers, where the
// key index is built and dropped.
func TestTrieCrowdedFilter(t *testing.T) {
	tr := NewTrie[int, int]()
	r := rand.New(rand.NewPCG(1, 2))
	want := map[int]int{}
	var m Matches[int, int]
	check := func(step string) {
		t.Helper()
		tr.Match([]byte("x/y"), &m)
		got := map[int]int{}
		for _, e := range m.Subs {
			if _, dup := got[e.Key]; dup {
				t.Fatalf("%s: key %d twice", step, e.Key)
			}
			got[e.Key] = e.Value
		}
		if d := gocmp.Diff(want, got); d != "" {
			t.Fatalf("%s: (-want +got):\n%s", step, d)
		}
		if tr.Count() != len(want) {
			t.Fatalf("%s: Count() = %d, want %d", step, tr.Count(), len(want))
		}
	}
	for round := range 3 {
		for i := range 500 {
			k := r.IntN(300)
			_, had := want[k]
			want[k] = i
			if replaced := tr.Subscribe("x/y", k, i); replaced != had {
				t.Fatalf("round %d: Subscribe(%d) replaced = %v, want %v", round, k, replaced, had)
			}
		}
		check(fmt.Sprintf("round %d after subscribing", round))
		for range 400 {
			k := r.IntN(300)
			_, had := want[k]
			delete(want, k)
			if removed := tr.Unsubscribe("x/y", k); removed != had {
				t.Fatalf("round %d: Unsubscribe(%d) = %v, want %v", round, k, removed, had)
			}
		}
		check(fmt.Sprintf("round %d after unsubscribing", round))
	}
	for k := range want {
		tr.Unsubscribe("x/y", k)
	}
	if !tr.root.empty() {
		t.Error("root not empty")
	}
}

func TestTrieMatchNoAlloc(t *testing.T) {
	tr := NewTrie[int, int]()
	for i, f := range []string{"a/b/c", "a/+/c", "a/#", "#", "+/+/+", "$share/g/a/b/c", "$share/h/#"} {
		tr.Subscribe(f, i, i)
	}
	var m Matches[int, int]
	topic := []byte("a/b/c")
	tr.Match(topic, &m)
	if len(m.Subs) != 5 || len(m.Groups) != 2 {
		t.Fatalf("got %d subs, %d groups, want 5, 2", len(m.Subs), len(m.Groups))
	}
	if n := testing.AllocsPerRun(100, func() { tr.Match(topic, &m) }); n != 0 {
		t.Errorf("Match: %v allocations per run, want 0", n)
	}
}

// The model of a trie for the property and fuzz tests: value by (key,
// filter as subscribed).
type modelKey struct{ key, filter string }

// want computes what Trie.Match must return for topic from the model and
// the reference Match.
func (mod model) want(topic string) (subs, groups []string) {
	members := map[string][]string{} // "group filter" -> members
	for k, v := range mod {
		if !Match(k.filter, topic) {
			continue
		}
		s := fmt.Sprintf("%s %s=%d", k.key, k.filter, v)
		if g, inner, shared := ParseShared(k.filter); shared {
			members[g+" "+inner] = append(members[g+" "+inner], s)
		} else {
			subs = append(subs, s)
		}
	}
	for g, ms := range members {
		slices.Sort(ms)
		groups = append(groups, g+": "+strings.Join(ms, ", "))
	}
	slices.Sort(subs)
	slices.Sort(groups)
	return subs, groups
}

type model map[modelKey]int

func (mod model) check(t *testing.T, tr *Trie[string, int], topic string, m *Matches[string, int]) {
	t.Helper()
	tr.Match([]byte(topic), m)
	subs, groups := result(m)
	wsubs, wgroups := mod.want(topic)
	if d := gocmp.Diff(wsubs, subs, cmpEmpty); d != "" {
		t.Fatalf("Match(%q) subs (-reference +trie):\n%s", topic, d)
	}
	if d := gocmp.Diff(wgroups, groups, cmpEmpty); d != "" {
		t.Fatalf("Match(%q) groups (-reference +trie):\n%s", topic, d)
	}
}

// randLevels builds a topic or filter from a small alphabet, so that
// random filters and topics meet often. Levels include the empty one and a
// '$' one.
func randLevels(r *rand.Rand, wild bool) string {
	alphabet := []string{"a", "b", "c", "", "$x"}
	n := 1 + r.IntN(4)
	ls := make([]string, n)
	for i := range ls {
		ls[i] = alphabet[r.IntN(len(alphabet))]
		if wild && r.IntN(4) == 0 {
			ls[i] = "+"
		}
	}
	if wild && r.IntN(4) == 0 {
		ls[n-1] = "#"
	}
	return strings.Join(ls, "/")
}

func randFilter(r *rand.Rand) string {
	f := randLevels(r, true)
	if r.IntN(5) == 0 {
		f = fmt.Sprintf("$share/g%d/%s", r.IntN(2), f)
	}
	return f
}

// TestTrieMatchesReference is a property test: for random subscriptions,
// unsubscriptions and topics, Trie.Match returns what the reference Match
// says, and Count what the model holds.
func TestTrieMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	var m Matches[string, int]
	for round := range 20 {
		tr := NewTrie[string, int]()
		mod := model{}
		for i := range 200 {
			k := modelKey{fmt.Sprintf("k%d", r.IntN(8)), randFilter(r)}
			_, had := mod[k]
			mod[k] = i
			if got := tr.Subscribe(k.filter, k.key, i); got != had {
				t.Fatalf("Subscribe(%q, %q) replaced = %v, want %v", k.filter, k.key, got, had)
			}
		}
		for range 100 {
			mod.check(t, tr, randLevels(r, false), &m)
		}
		for range 150 {
			k := modelKey{fmt.Sprintf("k%d", r.IntN(8)), randFilter(r)}
			if r.IntN(2) == 0 && len(mod) > 0 { // mostly existing ones
				for k = range mod {
					break
				}
			}
			_, had := mod[k]
			delete(mod, k)
			if got := tr.Unsubscribe(k.filter, k.key); got != had {
				t.Fatalf("round %d: Unsubscribe(%q, %q) = %v, want %v", round, k.filter, k.key, got, had)
			}
		}
		if tr.Count() != len(mod) {
			t.Fatalf("round %d: Count() = %d, want %d", round, tr.Count(), len(mod))
		}
		for range 100 {
			mod.check(t, tr, randLevels(r, false), &m)
		}
	}
}

// TestTrieConcurrent runs subscribers, unsubscribers and matchers at once
// (go test -race): stable subscriptions must be found by every Match,
// whatever the churn around them, and the trie must end as it started.
func TestTrieConcurrent(t *testing.T) {
	tr := NewTrie[string, int]()
	stable := []string{"s/#", "s/+/x", "$share/g/s/a/x"}
	for _, f := range stable {
		tr.Subscribe(f, "stable", 1)
	}
	var writers, matchers sync.WaitGroup
	var stop atomic.Bool
	var matched atomic.Int64
	for range 3 {
		matchers.Go(func() {
			var m Matches[string, int]
			for !stop.Load() {
				tr.Match([]byte("s/a/x"), &m)
				n := 0
				for _, e := range m.Subs {
					if e.Key == "stable" {
						n++
					}
				}
				for _, g := range m.Groups {
					for _, e := range g.Members() { // without a lock, as the broker does
						if e.Key == "stable" {
							n++
						}
					}
				}
				if n != len(stable) {
					t.Errorf("Match(s/a/x) found %d stable subscriptions, want %d", n, len(stable))
					return
				}
				matched.Add(1)
				_ = tr.Count()
			}
		})
	}
	for w := range 2 {
		writers.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			key := fmt.Sprintf("w%d", w)
			for range 3000 {
				f := "s/" + randLevels(r, true)
				if r.IntN(5) == 0 {
					f = "$share/g/" + f
				}
				tr.Subscribe(f, key, 2)
				tr.Subscribe(f, key, 3)
				if !tr.Unsubscribe(f, key) {
					t.Errorf("Unsubscribe(%q, %q) found nothing", f, key)
					return
				}
			}
		})
	}
	writers.Wait()
	stop.Store(true)
	matchers.Wait()
	if matched.Load() == 0 {
		t.Error("no Match ran")
	}
	if tr.Count() != len(stable) {
		t.Errorf("Count() = %d, want %d", tr.Count(), len(stable))
	}
	for _, f := range stable {
		tr.Unsubscribe(f, "stable")
	}
	if !tr.root.empty() {
		t.Error("root not empty at the end")
	}
}

func FuzzMatch(f *testing.F) {
	for _, c := range matchCases {
		f.Add(c.filter, c.topic)
	}
	f.Add("a/+/#", "a//")
	f.Add("$share/g/+/+", "$/x")
	f.Fuzz(func(t *testing.T, filter, topic string) {
		tr := NewTrie[string, int]()
		mod := model{}
		base := []string{"#", "+", "+/+", "a/#", "$share/g/#", "+/b/+"}
		for i, f := range base {
			tr.Subscribe(f, "base", i)
			mod[modelKey{"base", f}] = i
		}
		for i, f := range []string{filter, "$share/f/" + filter} {
			tr.Subscribe(f, "fuzz", 100+i)
			mod[modelKey{"fuzz", f}] = 100 + i
		}
		var m Matches[string, int]
		mod.check(t, tr, topic, &m)
		if !tr.Unsubscribe(filter, "fuzz") || !tr.Unsubscribe("$share/f/"+filter, "fuzz") {
			t.Fatalf("Unsubscribe(%q) found nothing", filter)
		}
		delete(mod, modelKey{"fuzz", filter})
		delete(mod, modelKey{"fuzz", "$share/f/" + filter})
		mod.check(t, tr, topic, &m)
		if tr.Count() != len(base) {
			t.Fatalf("Count() = %d after unsubscribing, want %d", tr.Count(), len(base))
		}
	})
}
