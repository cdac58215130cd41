package file

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/ternmq/broker/auth/internal/filters"
)

// access is what a rule grants: a set of accessRead and accessWrite, or
// accessDeny (none), as Mosquitto's MOSQ_ACL_* values.
type access uint8

const (
	accessDeny  access = 0
	accessRead  access = 1
	accessWrite access = 2
)

// rule is one "topic" or "pattern" line.
type rule struct {
	filter string
	access access
	// hasC and hasU: a pattern mentions %c or %u.
	hasC, hasU bool
}

// rules is a parsed ACL file. As in Mosquitto, the rules of a user (and
// the patterns) keep the deny rules first.
type rules struct {
	anon     []rule // before any "user" line; nil when there is none
	hasAnon  bool
	users    map[string][]rule
	patterns []rule
}

// parseACL reads an ACL file the way Mosquitto 2.0's aclfile__parse does:
// trailing white space is dropped, a line whose first character is '#' is
// a comment, words are separated by spaces, "topic" and "pattern" take an
// optional access type and a filter (the rest of the line, which may hold
// spaces when the access type is given), "user" takes the rest of the
// line. Anything else is an error naming the line.
func parseACL(name string, data []byte) (*rules, error) {
	rs := &rules{users: make(map[string][]rule)}
	var user *string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r\n\v\f")
		if strings.HasPrefix(line, "#") {
			continue
		}
		word, rest := nextWord(line)
		switch word {
		case "":
			continue
		case "topic", "pattern":
			acc, filter := nextWord(rest)
			if acc == "" {
				return nil, fmt.Errorf("%s:%d: empty topic", name, n)
			}
			a := accessRead | accessWrite
			if filter == "" {
				filter = acc
			} else {
				switch acc {
				case "read":
					a = accessRead
				case "write":
					a = accessWrite
				case "readwrite":
				case "deny":
					a = accessDeny
				default:
					return nil, fmt.Errorf("%s:%d: invalid access type %q (read, write, readwrite or deny)", name, n, acc)
				}
			}
			filter = strings.TrimSpace(filter)
			if !filters.Valid(filter) || len(filter) > 65535 {
				return nil, fmt.Errorf("%s:%d: invalid topic filter %q", name, n, filter)
			}
			r := rule{filter: filter, access: a}
			if word == "pattern" {
				r.hasC, r.hasU = strings.Contains(filter, "%c"), strings.Contains(filter, "%u")
				rs.patterns = append(rs.patterns, r)
			} else if user == nil {
				rs.anon = append(rs.anon, r)
				rs.hasAnon = true
			} else {
				rs.users[*user] = append(rs.users[*user], r)
			}
		case "user":
			u := strings.TrimSpace(rest)
			if u == "" {
				return nil, fmt.Errorf("%s:%d: missing username", name, n)
			}
			user = &u
		default:
			return nil, fmt.Errorf("%s:%d: invalid line (want topic, pattern, user or a # comment)", name, n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	denyFirst := func(a, b rule) int {
		switch {
		case a.access == accessDeny && b.access != accessDeny:
			return -1
		case a.access != accessDeny && b.access == accessDeny:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(rs.anon, denyFirst)
	slices.SortStableFunc(rs.patterns, denyFirst)
	for _, r := range rs.users {
		slices.SortStableFunc(r, denyFirst)
	}
	return rs, nil
}

// nextWord splits s as strtok_r(s, " ") then strtok_r(NULL, "") do: the
// first run of non-space bytes after leading spaces, and what follows the
// single space that ends it.
func nextWord(s string) (word, rest string) {
	s = strings.TrimLeft(s, " ")
	word, rest, _ = strings.Cut(s, " ")
	return word, rest
}
