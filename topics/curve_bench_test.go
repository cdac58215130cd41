package topics

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"testing"
)

// BenchmarkTrieCurve is the cost curve of routing: the BenchmarkTrieMatch
// mix (70% exact, 15% '+', 15% '#', topics like site/dev/sensor/...) at
// 1,000 to 1,000,000 subscriptions, matching a topic ("match") and
// subscribing plus unsubscribing a filter ("churn"). Matching should grow
// with the matches found, not with the subscriptions; churn should stay
// flat (a path walk).
func BenchmarkTrieCurve(b *testing.B) {
	filters := benchFilters()
	for _, size := range []int{1_000, 10_000, 100_000, 1_000_000} {
		old := debug.SetGCPercent(400)
		r := rand.New(rand.NewPCG(42, 42))
		tr := NewTrie[int, uint8]()
		for i := 0; tr.Count() < size; i++ {
			tr.Subscribe(benchFilter(r), i%200_000, uint8(i%3))
		}
		debug.SetGCPercent(old)
		topics := make([][]byte, 4096)
		for i := range topics {
			topics[i] = []byte(strings.Join(benchTopic(r), "/"))
		}
		b.Run(fmt.Sprintf("match/%d", size), func(b *testing.B) { benchMatch(b, tr, topics) })
		b.Run(fmt.Sprintf("churn/%d", size), func(b *testing.B) { benchChurn(b, tr, filters) })
	}
}

// BenchmarkRetainedCurve: '#' over 10,000 to 1,000,000 retained topics
// (site/dev/sensor/... as BenchmarkRetainedMatch), and one exact topic
// lookup at each size. '#' is linear in what it returns; the lookup should
// not grow.
func BenchmarkRetainedCurve(b *testing.B) {
	for _, size := range []int{10_000, 100_000, 1_000_000} {
		r := NewRetained[int]()
		rnd := rand.New(rand.NewPCG(1, 1))
		var some string
		for r.Len() < size {
			ls := []string{fmt.Sprintf("site%d", rnd.IntN(100)), fmt.Sprintf("dev%d", rnd.IntN(1000)), fmt.Sprintf("sensor%d", rnd.IntN(20))}
			for range rnd.IntN(3) {
				ls = append(ls, fmt.Sprintf("m%d", rnd.IntN(5)))
			}
			some = strings.Join(ls, "/")
			r.Set(some, r.Len())
		}
		b.Run(fmt.Sprintf("all/%d", size), func(b *testing.B) {
			n := 0
			for b.Loop() {
				r.Match("#", func(string, int) bool { n++; return true })
			}
			b.ReportMetric(float64(n)/float64(b.N), "topics/op")
		})
		b.Run(fmt.Sprintf("exact/%d", size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Match(some, func(string, int) bool { return true })
			}
		})
	}
}
