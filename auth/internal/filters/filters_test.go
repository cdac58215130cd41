package filters

import (
	"fmt"
	"github.com/ternmq/broker/topics"
	"testing"
)

// topicsUniverse is a set of topic names rich enough to decide Covers and
// Overlap by brute force for the filters below.
var topicsUniverse = func() []string {
	levels := []string{"a", "b", "c", "$SYS", "$x", ""}
	var out []string
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		for _, l := range levels {
			t := l
			if depth > 0 {
				t = prefix + "/" + l
			}
			if t != "" { // topic names are not empty [MQTT-4.7.3-1]
				out = append(out, t)
			}
			if depth < 3 {
				gen(t, depth+1)
			}
		}
	}
	gen("", 0)
	return out
}()

var someFilters = []string{
	"#", "+", "a", "a/#", "a/+", "a/b", "+/b", "+/+", "+/#", "a/+/c", "a/b/#",
	"$SYS/#", "$SYS/+", "+/+/+", "a/b/c", "$x", "$x/#", "b/#", "/#", "/a", "a//b",
}

// TestCoversAgreesWithMatch checks Covers against its definition on every
// pair of filters: outer covers inner iff no topic of the universe matches
// inner without matching outer.
func TestCoversAgreesWithMatch(t *testing.T) {
	for _, outer := range someFilters {
		for _, inner := range someFilters {
			want := true
			for _, topic := range topicsUniverse {
				if topics.Match(inner, topic) && !topics.Match(outer, topic) {
					want = false
					break
				}
			}
			if got := Covers(outer, inner); got != want {
				t.Errorf("Covers(%q, %q) = %v, want %v", outer, inner, got, want)
			}
		}
	}
}

// TestOverlapAgreesWithMatch checks Overlap against its definition.
func TestOverlapAgreesWithMatch(t *testing.T) {
	for _, a := range someFilters {
		for _, b := range someFilters {
			want := false
			for _, topic := range topicsUniverse {
				if topics.Match(a, topic) && topics.Match(b, topic) {
					want = true
					break
				}
			}
			if got := Overlap(a, b); got != want {
				t.Errorf("Overlap(%q, %q) = %v, want %v", a, b, got, want)
			}
		}
	}
}

func TestValid(t *testing.T) {
	for f, want := range map[string]bool{
		"a/#": true, "#": true, "+/a/+": true, "a//b": true, "/": true,
		"": false, "a#": false, "a/#/b": false, "a+/b": false, "a/b+": false,
	} {
		if got := Valid(f); got != want {
			t.Errorf("Valid(%q) = %v, want %v", f, got, want)
		}
	}
}

func ExampleCovers() {
	fmt.Println(Covers("test/#", "test/nosubscribe"), Covers("a/+", "a/#"))
	// Output: true false
}
