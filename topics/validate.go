package topics

import (
	"bytes"
	"errors"
)

// Validation errors.
var (
	// ErrEmptyTopic: topic names and filters are at least one character [MQTT-4.7.3-1].
	ErrEmptyTopic = errors.New("topics: empty topic")
	// ErrWildcardInName: a topic name must not contain '+' or '#' [MQTT-3.3.2-2].
	ErrWildcardInName = errors.New("topics: wildcard in topic name")
	// ErrInvalidFilter: '#' not last or not alone in its level, or '+' not alone [MQTT-4.7.1-2, 4.7.1-3].
	ErrInvalidFilter = errors.New("topics: invalid wildcard placement in filter")
	// ErrInvalidShared: a shared subscription needs a non-empty group without
	// wildcards and a non-empty filter [MQTT-4.8.2-1, 4.8.2-2].
	ErrInvalidShared = errors.New("topics: invalid shared subscription")
	// ErrTooLong: topics are at most 65,535 bytes [MQTT-4.7.3-3].
	ErrTooLong = errors.New("topics: longer than 65535 bytes")
	// ErrNullChar: topics must not contain U+0000 [MQTT-4.7.3-2].
	ErrNullChar = errors.New("topics: contains U+0000")
)

const sharePrefix = "$share/"

func checkCommon(b []byte) error {
	if len(b) == 0 {
		return ErrEmptyTopic
	}
	if len(b) > 65535 {
		return ErrTooLong
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return ErrNullChar
	}
	return nil
}

// ValidateName checks a topic name for PUBLISH.
func ValidateName(name []byte) error {
	if err := checkCommon(name); err != nil {
		return err
	}
	if bytes.IndexByte(name, '+') >= 0 || bytes.IndexByte(name, '#') >= 0 {
		return ErrWildcardInName
	}
	return nil
}

// ValidateFilter checks a topic filter for SUBSCRIBE, shared ones included.
func ValidateFilter(filter []byte) error {
	if err := checkCommon(filter); err != nil {
		return err
	}
	if bytes.HasPrefix(filter, []byte(sharePrefix)) {
		rest := filter[len(sharePrefix):]
		i := bytes.IndexByte(rest, '/')
		if i <= 0 {
			return ErrInvalidShared
		}
		group := rest[:i]
		if bytes.ContainsAny(group, "+#") {
			return ErrInvalidShared
		}
		filter = rest[i+1:]
		if len(filter) == 0 {
			return ErrInvalidShared
		}
	}
	for i, c := range filter {
		switch c {
		case '#':
			if i != len(filter)-1 || (i > 0 && filter[i-1] != '/') {
				return ErrInvalidFilter
			}
		case '+':
			if (i > 0 && filter[i-1] != '/') || (i < len(filter)-1 && filter[i+1] != '/') {
				return ErrInvalidFilter
			}
		}
	}
	return nil
}

// IsWildcard reports whether filter contains '+' or '#'.
func IsWildcard(filter string) bool {
	for i := 0; i < len(filter); i++ {
		if filter[i] == '+' || filter[i] == '#' {
			return true
		}
	}
	return false
}

// ParseShared splits "$share/{group}/{filter}" into group and filter;
// shared is false (and inner is filter) for any other filter. Validity is
// ValidateFilter's job.
func ParseShared(filter string) (group, inner string, shared bool) {
	if len(filter) <= len(sharePrefix) || filter[:len(sharePrefix)] != sharePrefix {
		return "", filter, false
	}
	rest := filter[len(sharePrefix):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			return rest[:i], rest[i+1:], true
		}
	}
	return "", filter, false
}
