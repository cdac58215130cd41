package topics

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// benchWorld is the 1,000,000-subscription trie of BenchmarkTrieMatch,
// built once. Topics have 3 to 6 levels: 10 sites / 1000 devices / 20
// sensors / then 0 to 3 levels of 5 values.
var benchWorld struct {
	once   sync.Once
	trie   *Trie[int, uint8]
	topics [][]byte
}

// benchFilters are 65536 filters of the BenchmarkTrieMatch mix, without
// the 1,000,000-subscription trie (and its heap, which slows down the GC).
var benchFilters = sync.OnceValue(func() (fs []string) {
	r := rand.New(rand.NewPCG(43, 43))
	for range 1 << 16 {
		fs = append(fs, benchFilter(r))
	}
	return fs
})

// benchLevels are the level names of the benchmark topics, made once so
// that the setup does not spend its time in fmt.
var benchLevels = sync.OnceValue(func() (ls [4][]string) {
	for i, n := range []int{10, 1000, 20, 5} {
		for j := range n {
			ls[i] = append(ls[i], fmt.Sprintf("%s%d", [...]string{"site", "dev", "sensor", "m"}[i], j))
		}
	}
	return ls
})

func benchTopic(r *rand.Rand) []string {
	names := benchLevels()
	ls := []string{names[0][r.IntN(10)], names[1][r.IntN(1000)], names[2][r.IntN(20)]}
	for range r.IntN(4) {
		ls = append(ls, names[3][r.IntN(5)])
	}
	return ls
}

// benchFilter draws a filter: 70% exact, 15% one '+' at any level, 15% a
// '#' after the first two to five levels.
func benchFilter(r *rand.Rand) string {
	ls := benchTopic(r)
	switch p := r.IntN(100); {
	case p < 70:
	case p < 85:
		ls[r.IntN(len(ls))] = "+"
	default:
		ls = append(ls[:2+r.IntN(len(ls)-1)], "#")
	}
	return strings.Join(ls, "/")
}

func benchSetup() {
	// Fewer collections while the heap grows to a few hundred MB.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	r := rand.New(rand.NewPCG(42, 42))
	tr := NewTrie[int, uint8]()
	for i := 0; tr.Count() < 1_000_000; i++ {
		f := benchFilter(r)
		if r.IntN(100) < 5 { // 5% shared, in one of 10 groups
			f = fmt.Sprintf("$share/g%d/%s", r.IntN(10), f)
		}
		tr.Subscribe(f, i%200_000, uint8(i%3))
	}
	benchWorld.trie = tr
	for range 4096 {
		benchWorld.topics = append(benchWorld.topics, []byte(strings.Join(benchTopic(r), "/")))
	}
}

// BenchmarkTrieMatch matches topics of 3 to 6 levels against 1,000,000
// subscriptions: exact, '+' at various levels, '#' suffixes and shared.
func BenchmarkTrieMatch(b *testing.B) {
	benchWorld.once.Do(benchSetup)
	tr, topics := benchWorld.trie, benchWorld.topics
	b.Run("serial", func(b *testing.B) {
		benchMatch(b, tr, topics)
	})
	b.Run("small", func(b *testing.B) {
		// 10,000 subscriptions of the same mix: the trie fits in the CPU
		// caches, which shows how much of "serial" is memory latency.
		r := rand.New(rand.NewPCG(5, 5))
		small := NewTrie[int, uint8]()
		for i := 0; small.Count() < 10_000; i++ {
			small.Subscribe(benchFilter(r), i, 1)
		}
		benchMatch(b, small, topics)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var m Matches[int, uint8]
			for _, tp := range topics[:512] {
				tr.Match(tp, &m)
			}
			i := rand.IntN(len(topics))
			for pb.Next() {
				tr.Match(topics[i%len(topics)], &m)
				i++
			}
		})
	})
}

// BenchmarkTrieSubscribe measures Subscribe into an empty trie ("new", up
// to 65536 filters of the BenchmarkTrieMatch mix), two subscribes and two
// unsubscribes on a filter of 100,000 subscribers ("crowded"), and
// subscribe plus unsubscribe on the 1,000,000-subscription trie ("churn").
func BenchmarkTrieSubscribe(b *testing.B) {
	filters := benchFilters()
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		tr := NewTrie[int, uint8]()
		i := 0
		for b.Loop() {
			if i%len(filters) == 0 {
				tr = NewTrie[int, uint8]()
			}
			tr.Subscribe(filters[i%len(filters)], i, 1)
			i++
		}
	})
	b.Run("crowded", func(b *testing.B) {
		// One filter with 100,000 subscribers: in-place slices with a key
		// index keep this O(1), where copy-on-write would copy 3 MB each time.
		tr := NewTrie[int, uint8]()
		for k := range 100_000 {
			tr.Subscribe("broadcast/all", k, 1)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tr.Subscribe("broadcast/all", -1, 1)
			tr.Unsubscribe("broadcast/all", i%100_000)
			tr.Subscribe("broadcast/all", i%100_000, 1)
			tr.Unsubscribe("broadcast/all", -1)
			i++
		}
	})
	b.Run("churn", func(b *testing.B) {
		benchWorld.once.Do(benchSetup)
		benchChurn(b, benchWorld.trie, filters)
	})
}

// benchMatch matches topics in turn against tr, reporting matches per
// topic; the Matches buffer grows before the clock starts.
func benchMatch(b *testing.B, tr *Trie[int, uint8], topics [][]byte) {
	b.ReportAllocs()
	var m Matches[int, uint8]
	for _, tp := range topics {
		tr.Match(tp, &m)
	}
	n, i := 0, 0
	for b.Loop() {
		tr.Match(topics[i%len(topics)], &m)
		n += len(m.Subs) + len(m.Groups)
		i++
	}
	b.ReportMetric(float64(n)/float64(i), "matches/op")
}

// benchChurn subscribes and unsubscribes filters in turn on tr.
func benchChurn(b *testing.B, tr *Trie[int, uint8], filters []string) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f := filters[i%len(filters)]
		tr.Subscribe(f, -1, 1)
		tr.Unsubscribe(f, -1)
		i++
	}
}
