package filters

import "strings"

// Covers reports whether every topic that inner matches is also matched
// by outer: "a/#" covers "a/+/c", "+/b" covers "x/b", "a/+" does not cover
// "a/#" (which matches "a").
func Covers(outer, inner string) bool {
	if outer == "" || inner == "" {
		return false
	}
	o, in := strings.Split(outer, "/"), strings.Split(inner, "/")
	for i := 0; ; i++ {
		oEnd, iEnd := i == len(o), i == len(in)
		switch {
		case !oEnd && o[i] == "#":
			// A leading '#' misses the '$' topics a literal '$' level names.
			return i > 0 || !dollar(in[0])
		case iEnd:
			return oEnd
		case i == 0 && in[0] == "#" && len(o) == 2 && o[0] == "+" && o[1] == "#":
			return true // "+/#" matches every topic "#" does: each has a first level
		case oEnd || in[i] == "#":
			return false
		case o[i] == "+":
			if in[i] != "+" && i == 0 && dollar(in[0]) {
				return false
			}
		case o[i] != in[i]:
			return false
		}
	}
}

// Overlap reports whether some topic is matched by both filters.
func Overlap(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	x, y := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; ; i++ {
		xEnd, yEnd := i == len(x), i == len(y)
		switch {
		case !xEnd && x[i] == "#":
			return i > 0 && !(yEnd && emptyFirst(x, y, i)) || i == 0 && !dollar(y[0])
		case !yEnd && y[i] == "#":
			return i > 0 && !(xEnd && emptyFirst(x, y, i)) || i == 0 && !dollar(x[0])
		case xEnd || yEnd:
			return xEnd && yEnd
		case x[i] == "+" && y[i] == "+":
		case x[i] == "+":
			if i == 0 && dollar(y[0]) {
				return false
			}
		case y[i] == "+":
			if i == 0 && dollar(x[0]) {
				return false
			}
		case x[i] != y[i]:
			return false
		}
	}
}

// emptyFirst reports whether the only topics two filters share at depth
// i would be the one-level topic "" (no topic: names are not empty), as
// "/#" and "+" would.
func emptyFirst(x, y []string, i int) bool { return i == 1 && (x[0] == "" || y[0] == "") }

// dollar reports whether a first level is a literal starting with '$'.
func dollar(level string) bool { return level != "" && level[0] == '$' }

// Valid reports whether filter is a well-formed topic filter: not empty,
// '#' only as the whole last level, '+' only as a whole level.
func Valid(filter string) bool {
	if filter == "" {
		return false
	}
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		if strings.ContainsAny(l, "+#") && l != "+" && l != "#" {
			return false
		}
		if l == "#" && i != len(levels)-1 {
			return false
		}
	}
	return true
}

// Dangerous reports whether an identity substituted into a filter could
// widen it: it holds a wildcard.
func Dangerous(id string) bool { return strings.ContainsAny(id, "+#") }
