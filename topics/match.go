package topics

// Match reports whether topic name topic matches filter: '+' matches one
// level, '#' the rest including the parent level ("a/#" matches "a")
// [MQTT-4.7.1-2, 4.7.1-3]; a filter starting with a wildcard does not match a
// topic starting with '$' [MQTT-4.7.2-1]. It is the reference the Trie is
// tested against.
func Match(filter, topic string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := cut(filter)
		tl, trest, tmore := cut(topic)
		switch {
		case fl == "#":
			return true
		case fl == "+" || fl == tl:
		default:
			return false
		}
		if !fmore && !tmore {
			return true
		}
		if !tmore {
			// topic ended: the filter may only continue with "/#".
			return fmore && frest == "#"
		}
		if !fmore {
			return false
		}
		filter, topic = frest, trest
	}
}

// cut splits s at its first '/'.
func cut(s string) (level, rest string, more bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
