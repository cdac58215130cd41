package topics

import (
	"errors"
	"unicode/utf8"
)

// MaxLen is the longest topic name or filter, in bytes: the length prefix of
// an MQTT UTF-8 string is two bytes [MQTT-1.5.4, MQTT-4.7.3-3].
const MaxLen = 65535

// The errors returned by ValidateName and ValidateFilter. They are plain
// values (no wrapping), so validation never allocates; compare with == or
// errors.Is.
var (
	// ErrEmptyTopic: a topic name or filter must be at least one character
	// long [MQTT-4.7.3-1].
	ErrEmptyTopic = errors.New("topic is empty")
	// ErrTooLong: the topic is longer than MaxLen bytes [MQTT-4.7.3-3].
	ErrTooLong = errors.New("topic is longer than 65535 bytes")
	// ErrNullChar: the topic contains U+0000 [MQTT-4.7.3-2].
	ErrNullChar = errors.New("topic contains U+0000")
	// ErrInvalidUTF8: the topic is not well-formed UTF-8 [MQTT-1.5.4-1].
	// The packet decoder checks this for packets; ValidateName and
	// ValidateFilter check it again for topics that come from elsewhere
	// (the in-process API, storage, bridges).
	ErrInvalidUTF8 = errors.New("topic is not valid UTF-8")
	// ErrWildcardInName: a topic name (PUBLISH) contains '+' or '#'
	// [MQTT-3.3.2-2, MQTT-4.7.1-1].
	ErrWildcardInName = errors.New("topic name contains a wildcard")
	// ErrInvalidFilter: a wildcard is misplaced in a topic filter: '#' not
	// alone in the last level [MQTT-4.7.1-2] or '+' not alone in its level
	// [MQTT-4.7.1-3].
	ErrInvalidFilter = errors.New("topic filter has a misplaced wildcard")
	// ErrInvalidShared: a shared subscription "$share/{group}/{filter}" has
	// an empty group, a group containing '+' or '#', or no filter
	// [MQTT-4.8.2-1, MQTT-4.8.2-2]. ('/' cannot be in the group: the first
	// '/' after "$share/" ends it.)
	ErrInvalidShared = errors.New("shared subscription filter is malformed")
)

// ValidateName reports whether name is a valid topic name for PUBLISH:
// non-empty [MQTT-4.7.3-1], at most MaxLen bytes, UTF-8 without U+0000
// [MQTT-1.5.4-1, MQTT-4.7.3-2] and without wildcards [MQTT-3.3.2-2]. It
// returns nil or one of the Err values, and does not allocate.
func ValidateName(name []byte) error {
	if len(name) == 0 {
		return ErrEmptyTopic
	}
	if len(name) > MaxLen {
		return ErrTooLong
	}
	ascii := true
	for _, c := range name {
		switch {
		case c == '+' || c == '#':
			return ErrWildcardInName
		case c == 0:
			return ErrNullChar
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(name) {
		return ErrInvalidUTF8
	}
	return nil
}

// ValidateFilter reports whether filter is a valid topic filter for
// SUBSCRIBE or UNSUBSCRIBE: non-empty, at most MaxLen bytes, UTF-8 without
// U+0000, '#' only as the whole last level [MQTT-4.7.1-2] and '+' only as a
// whole level [MQTT-4.7.1-3]. A shared filter "$share/{group}/{filter}" needs
// a non-empty group without '+' or '#' and a non-empty valid filter
// [MQTT-4.8.2-1, MQTT-4.8.2-2]. It returns nil or one of the Err values.
func ValidateFilter(filter []byte) error {
	if len(filter) == 0 {
		return ErrEmptyTopic
	}
	if len(filter) > MaxLen {
		return ErrTooLong
	}
	if hasSharePrefix(filter) {
		rest := filter[len(sharePrefix):]
		i := 0
		for i < len(rest) && rest[i] != '/' {
			if rest[i] == '+' || rest[i] == '#' {
				return ErrInvalidShared
			}
			i++
		}
		if i == 0 || i >= len(rest)-1 { // empty group, or nothing after it
			return ErrInvalidShared
		}
		if err := validText(rest[:i]); err != nil {
			return err
		}
		filter = rest[i+1:]
	}
	ascii := true
	start := 0 // first byte of the current level
	for i, c := range filter {
		switch c {
		case '/':
			start = i + 1
		case '#':
			if i != start || i != len(filter)-1 {
				return ErrInvalidFilter
			}
		case '+':
			if i != start || (i+1 < len(filter) && filter[i+1] != '/') {
				return ErrInvalidFilter
			}
		case 0:
			return ErrNullChar
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
		}
	}
	if !ascii && !utf8.Valid(filter) {
		return ErrInvalidUTF8
	}
	return nil
}

// validText checks the UTF-8 rules alone.
func validText(b []byte) error {
	for _, c := range b {
		if c == 0 {
			return ErrNullChar
		}
	}
	if !utf8.Valid(b) {
		return ErrInvalidUTF8
	}
	return nil
}

func hasSharePrefix[T string | []byte](f T) bool {
	return len(f) >= len(sharePrefix) && string(f[:len(sharePrefix)]) == sharePrefix
}
