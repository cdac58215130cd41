package filters

import (
	"fmt"
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
				if Match(inner, topic) && !Match(outer, topic) {
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
				if Match(a, topic) && Match(b, topic) {
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

// TestMatch pins the MQTT matching rules [MQTT-4.7.1-2, MQTT-4.7.1-3,
// MQTT-4.7.2-1].
func TestMatch(t *testing.T) {
	cases := []struct {
		filter, topic string
		want          bool
	}{
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/+", "a", false},
		{"a/+", "a/", true},
		{"+/+", "/a", true},
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"$share/g/a", "a", false}, // no shared-subscription meaning here
		{"", "a", false},
		{"a", "", false},
	}
	for _, c := range cases {
		if got := Match(c.filter, c.topic); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.filter, c.topic, got, c.want)
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
