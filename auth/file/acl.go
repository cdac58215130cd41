package file

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth/internal/filters"
	"github.com/ternmq/broker/topics"
)

// ACL is a broker.Authorizer over a Mosquitto ACL file. It is safe for
// concurrent use, Reload included.
type ACL struct {
	path  string
	opts  options
	rules atomic.Pointer[rules]
}

var _ broker.Authorizer = (*ACL)(nil)

// LoadACL reads the ACL file at path; an error names the line at fault.
// A pattern without %c or %u is logged as a warning, as Mosquitto does.
func LoadACL(path string, opts ...Option) (*ACL, error) {
	a := &ACL{path: path, opts: buildOptions(opts)}
	if err := a.Reload(); err != nil {
		return nil, err
	}
	return a, nil
}

// Reload reads the file again; on error the rules in force stay.
func (a *ACL) Reload() error {
	data, err := os.ReadFile(a.path)
	if err != nil {
		return fmt.Errorf("acl file: %w", err)
	}
	rs, err := parseACL(a.path, data)
	if err != nil {
		return fmt.Errorf("acl file: %w", err)
	}
	for _, p := range rs.patterns {
		if !p.hasC && !p.hasU {
			a.opts.log.Warn("acl file: pattern without %c or %u applies to every client alike", "file", a.path, "pattern", p.filter)
		}
	}
	a.rules.Store(rs)
	return nil
}

// Authorize answers as Mosquitto 2.0.11 does for publishing and delivery,
// and refuses a subscription only when deny rules cover its filter (see
// the package documentation).
func (a *ACL) Authorize(_ context.Context, c *broker.ClientInfo, acc broker.Access) broker.Decision {
	rs := a.rules.Load()
	ok := false
	switch acc.Action {
	case broker.ActionPublish:
		ok = dollarWritable(acc.Topic) && rs.check(c, acc.Topic, accessWrite)
	case broker.ActionRead:
		ok = rs.check(c, acc.Topic, accessRead)
	case broker.ActionSubscribe:
		ok = !rs.subscriptionDenied(c, acc.Topic)
	}
	if ok {
		return broker.Allow()
	}
	return broker.Deny()
}

// dollarWritable is Mosquitto's acl__check_dollar for writes: under $SYS
// only the bridge state topics may be published (and then only if the
// rules allow it), and nothing under $share.
func dollarWritable(topic string) bool {
	switch {
	case strings.HasPrefix(topic, "$SYS"):
		return topics.Match("$SYS/broker/connection/+/state", topic)
	case strings.HasPrefix(topic, "$share"):
		return false
	}
	return true
}

// own returns the client's own rules and whether it has any entry at all.
func (rs *rules) own(c *broker.ClientInfo) ([]rule, bool) {
	if c.Username == "" {
		return rs.anon, rs.hasAnon
	}
	r, ok := rs.users[c.Username]
	return r, ok
}

// check is mosquitto_acl_check_default for a read or a write of topic.
func (rs *rules) check(c *broker.ClientInfo, topic string, want access) bool {
	own, has := rs.own(c)
	if topic == "" || !has && len(rs.patterns) == 0 {
		return false
	}
	for _, r := range own {
		if topic[0] == '$' && r.filter[0] != '$' {
			continue
		}
		if topics.Match(r.filter, topic) {
			if r.access == accessDeny {
				return false
			}
			if r.access&want != 0 {
				return true
			}
		}
	}
	if len(rs.patterns) == 0 {
		return false
	}
	if filters.Dangerous(c.Username) || filters.Dangerous(c.ID) {
		return false
	}
	for _, p := range rs.patterns {
		f, ok := p.expand(c)
		if !ok || !topics.Match(f, topic) {
			continue
		}
		if p.access == accessDeny {
			return false
		}
		if p.access&want != 0 {
			return true
		}
	}
	return false
}

// expand substitutes %c and %u in a pattern as Mosquitto does (anywhere
// in the filter); a pattern with %u does not apply to a client without a
// user name.
func (p rule) expand(c *broker.ClientInfo) (string, bool) {
	if p.hasU && c.Username == "" {
		return "", false
	}
	f := p.filter
	if p.hasC || p.hasU {
		var b strings.Builder
		for i := 0; i < len(f); i++ {
			if f[i] == '%' && i+1 < len(f) {
				switch f[i+1] {
				case 'c':
					b.WriteString(c.ID)
					i++
					continue
				case 'u':
					b.WriteString(c.Username)
					i++
					continue
				}
			}
			b.WriteByte(f[i])
		}
		f = b.String()
	}
	return f, true
}

// subscriptionDenied reports whether deny rules cover every topic of the
// filter, so that the subscription could never deliver anything: a deny
// rule of the client's own covers it, or a deny pattern covers it and no
// read grant of the client's own (checked before patterns) reaches into
// it.
func (rs *rules) subscriptionDenied(c *broker.ClientInfo, filter string) bool {
	_, filter, _ = topics.ParseShared(filter)
	own, _ := rs.own(c)
	for _, r := range own {
		if r.access == accessDeny && filters.Covers(r.filter, filter) {
			return true
		}
	}
	if filters.Dangerous(c.Username) || filters.Dangerous(c.ID) {
		return false
	}
	for _, p := range rs.patterns {
		if p.access != accessDeny {
			continue
		}
		if f, ok := p.expand(c); ok && filters.Covers(f, filter) && !rs.ownReadOverlaps(own, filter) {
			return true
		}
	}
	return false
}

// ownReadOverlaps reports whether a read grant among own may match a
// topic of filter.
func (rs *rules) ownReadOverlaps(own []rule, filter string) bool {
	for _, r := range own {
		if r.access&accessRead != 0 && filters.Overlap(r.filter, filter) {
			return true
		}
	}
	return false
}
