package topics

import (
	"slices"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

// TestGroupMembersSnapshot checks the copy-on-write promise: a snapshot
// taken before a change never sees it [MQTT-4.8.2].
func TestGroupMembersSnapshot(t *testing.T) {
	tr := NewTrie[string, int]()
	tr.Subscribe("$share/g/a", "k1", 1)
	tr.Subscribe("$share/g/a", "k2", 2)
	var m Matches[string, int]
	tr.Match([]byte("a"), &m)
	if len(m.Groups) != 1 {
		t.Fatalf("got %d groups, want 1", len(m.Groups))
	}
	g := m.Groups[0]
	if g.Name != "g" || g.Filter != "a" {
		t.Errorf("group %q on %q, want g on a", g.Name, g.Filter)
	}
	before := g.Members()
	want := slices.Clone(before)

	tr.Subscribe("$share/g/a", "k3", 3) // append, maybe into spare capacity
	tr.Subscribe("$share/g/a", "k1", 9) // replace
	tr.Unsubscribe("$share/g/a", "k2")  // remove
	if d := gocmp.Diff(want, before); d != "" {
		t.Errorf("snapshot changed (-before +after):\n%s", d)
	}
	after := []Entry[string, int]{{"k1", "$share/g/a", 9}, {"k3", "$share/g/a", 3}}
	if d := gocmp.Diff(after, g.Members()); d != "" {
		t.Errorf("Members() (-want +got):\n%s", d)
	}

	// Emptied, the group leaves the trie but stays usable.
	tr.Unsubscribe("$share/g/a", "k1")
	tr.Unsubscribe("$share/g/a", "k3")
	if len(g.Members()) != 0 {
		t.Errorf("Members() of the emptied group = %v", g.Members())
	}
	tr.Match([]byte("a"), &m)
	if len(m.Groups) != 0 {
		t.Errorf("emptied group still matches")
	}
	// A new member makes a new group.
	tr.Subscribe("$share/g/a", "k4", 4)
	tr.Match([]byte("a"), &m)
	if len(m.Groups) != 1 || m.Groups[0] == g {
		t.Errorf("want a new group after the old one emptied")
	}
}

// TestGroupNext checks that concurrent callers each get a distinct value,
// so round robin spreads over the members.
func TestGroupNext(t *testing.T) {
	var g Group[string, int]
	if g.Next() != 0 || g.Next() != 1 {
		t.Fatal("Next does not count from 0 by 1")
	}
	const n, per = 4, 1000
	seen := make([][]uint32, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for range per {
				seen[i] = append(seen[i], g.Next())
			}
		})
	}
	wg.Wait()
	all := slices.Concat(seen...)
	slices.Sort(all)
	if len(slices.Compact(all)) != n*per {
		t.Errorf("Next returned duplicates under concurrency")
	}
	if all[0] != 2 || all[len(all)-1] != n*per+1 {
		t.Errorf("Next values %d..%d, want 2..%d", all[0], all[len(all)-1], n*per+1)
	}
}

func TestGroupZero(t *testing.T) {
	var g Group[string, int]
	if g.Members() != nil {
		t.Error("zero Group has members")
	}
}
