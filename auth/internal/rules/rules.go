package rules

import (
	"fmt"
	"strings"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth/internal/filters"
	"github.com/ternmq/broker/topics"
)

// Rules is a compiled ACL. The zero value denies everything.
type Rules struct {
	pub, sub, deny []pattern
}

// pattern is one filter, with its placeholders noted.
type pattern struct {
	filter     string
	hasU, hasC bool
}

// Compile checks the filters (each a valid topic filter once %u and %c
// are substituted) and returns the Rules. what names the list in errors
// ("users[2].acl").
func Compile(what string, publish, subscribe, deny []string) (*Rules, error) {
	r := &Rules{}
	for _, l := range []struct {
		name string
		in   []string
		out  *[]pattern
	}{{"publish", publish, &r.pub}, {"subscribe", subscribe, &r.sub}, {"deny", deny, &r.deny}} {
		for i, f := range l.in {
			p := pattern{filter: f, hasU: strings.Contains(f, "%u"), hasC: strings.Contains(f, "%c")}
			probe := strings.NewReplacer("%u", "u", "%c", "c").Replace(f)
			if !filters.Valid(probe) {
				return nil, fmt.Errorf("%s.%s[%d]: %q is not a topic filter", what, l.name, i, f)
			}
			*l.out = append(*l.out, p)
		}
	}
	return r, nil
}

// Decide answers an Access for client c:
//   - publish: allowed when no deny filter matches the topic and a publish
//     filter does;
//   - subscribe: refused when a deny filter covers the whole filter (a
//     "$share/group/" prefix is ignored), allowed when a subscribe filter
//     covers it, refused otherwise;
//   - read (each delivery): allowed when no deny filter matches the topic
//     and a subscribe filter does.
func (r *Rules) Decide(c *broker.ClientInfo, a broker.Access) broker.Decision {
	if r == nil {
		return broker.Deny()
	}
	var ok bool
	switch a.Action {
	case broker.ActionPublish:
		ok = !matchAny(r.deny, c, a.Topic, true) && matchAny(r.pub, c, a.Topic, false)
	case broker.ActionRead:
		ok = !matchAny(r.deny, c, a.Topic, true) && matchAny(r.sub, c, a.Topic, false)
	case broker.ActionSubscribe:
		_, f, _ := topics.ParseShared(a.Topic)
		ok = !coverAny(r.deny, c, f, true) && coverAny(r.sub, c, f, false)
	}
	if ok {
		return broker.Allow()
	}
	return broker.Deny()
}

// expansion is what became of a pattern for one client.
type expansion int

const (
	expanded  expansion = iota
	absent              // names the user name of a client without one: the rule does not apply
	dangerous           // an identity holds a wildcard, which would widen the filter
)

// expand substitutes %u and %c.
func (p pattern) expand(c *broker.ClientInfo) (string, expansion) {
	if !p.hasU && !p.hasC {
		return p.filter, expanded
	}
	if p.hasU && c.Username == "" {
		return "", absent
	}
	if p.hasU && filters.Dangerous(c.Username) || p.hasC && filters.Dangerous(c.ID) {
		return "", dangerous
	}
	return strings.NewReplacer("%u", c.Username, "%c", c.ID).Replace(p.filter), expanded
}

// matchAny reports whether a pattern matches topic. A pattern made
// dangerous by the client's identity matches when it is a deny (refuse
// rather than guess), and does not otherwise.
func matchAny(ps []pattern, c *broker.ClientInfo, topic string, deny bool) bool {
	for _, p := range ps {
		f, e := p.expand(c)
		if e == dangerous && deny || e == expanded && topics.Match(f, topic) {
			return true
		}
	}
	return false
}

// coverAny reports whether a pattern covers filter, with matchAny's rule
// for dangerous patterns.
func coverAny(ps []pattern, c *broker.ClientInfo, filter string, deny bool) bool {
	for _, p := range ps {
		f, e := p.expand(c)
		if e == dangerous && deny || e == expanded && filters.Covers(f, filter) {
			return true
		}
	}
	return false
}
