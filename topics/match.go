package topics

import "strings"

const sharePrefix = "$share/"

// IsWildcard reports whether filter contains a wildcard, '+' or '#'.
func IsWildcard(filter string) bool {
	return strings.ContainsAny(filter, "+#")
}

// ParseShared splits a shared subscription filter [MQTT-4.8.2]:
// "$share/g/a/b" gives "g", "a/b", true. Any other filter gives "", filter,
// false. It does not check validity ("$share/g" gives "g", "", true): that
// is ValidateFilter's job.
func ParseShared(filter string) (group, inner string, shared bool) {
	if !hasSharePrefix(filter) {
		return "", filter, false
	}
	group, inner, _ = strings.Cut(filter[len(sharePrefix):], "/")
	return group, inner, true
}

// Match reports whether the topic name matches the filter. It is the
// reference matcher, written for clarity; Trie and Retained are tested
// against it. '+' matches exactly one level and '#' any number of levels,
// including none, so "sport/#" matches "sport" [MQTT-4.7.1-2, MQTT-4.7.1-3].
// A filter starting with a wildcard does not match a topic starting with
// '$' [MQTT-4.7.2-1]. A shared filter matches as its inner filter. An empty
// filter or topic matches nothing, nor does a '#' that is not last.
func Match(filter, topic string) bool {
	if _, inner, shared := ParseShared(filter); shared {
		filter = inner
	}
	if filter == "" || topic == "" {
		return false
	}
	if topic[0] == '$' && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		t, trest, tmore := strings.Cut(topic, "/")
		switch {
		case f == "#":
			return !fmore
		case f != "+" && f != t:
			return false
		}
		switch {
		case !fmore:
			return !tmore
		case !tmore:
			return frest == "#" // "sport/#" matches "sport"
		}
		filter, topic = frest, trest
	}
}
