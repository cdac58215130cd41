package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/topics"
)

// inject publishes a message received from another node here
// (Broker.PublishForwarded) on behalf of its publisher (m.ClientID, from
// the frame: No Local applies to it here). The publisher was authenticated
// and authorized, and the PublishHooks ran, on its own node: neither is
// done again (read authorization still applies to each delivery), and
// this node's OnPublish does not see it, so it is not forwarded again. It
// returns once the message is routed and stored for durable subscribers.
func (n *Node) inject(ctx context.Context, m *broker.Message) error {
	_, err := n.b.PublishForwarded(ctx, m)
	if err != nil && !errors.Is(err, broker.ErrClosed) {
		n.log.Warn("publishing a forwarded message", "topic", m.Topic, "err", err)
	}
	return err
}

// OnPublish implements broker.PublishHook: it forwards m to every other
// node with a matching route (a retained set or clear to every node, so
// that each one's retained index has it), once per node. QoS 0 is queued and
// not waited for. QoS 2 returns once every such node has published the
// message (stored for its durable subscribers); QoS 1 returns at once with
// broker.AcceptLater, whose wait the broker calls before the PUBACK. So
// the publisher's PUBACK/PUBREC means "accepted cluster-wide"; a node that
// does not accept within ForwardTimeout refuses the publish with
// broker.ErrNotAccepted: it is not acknowledged (v5: Unspecified error in
// PUBACK/PUBREC; 3.1.x: the connection closes) and the publisher sends it
// again [MQTT-4.4.0-1].
//
// Shared groups are served once cluster-wide [MQTT-4.8.2]: this node
// picks, for each matching group, the node that serves it (see plan), and
// every copy says which groups its node serves (Message.SharedGroups).
// For QoS 1/2, a group the picked node has no member of any more is given
// to another node before the publisher is acknowledged (see serveMissed).
func (n *Node) OnPublish(c *broker.ClientInfo, m *broker.Message) error {
	if !n.running.Load() {
		return nil
	}
	// m.ClientID is the publisher's (the client a host publish was made
	// for, if any): it travels with the message, so that the receiving
	// node applies No Local [MQTT-3.8.3-3] and its hooks see the origin,
	// and shards by publisher there.
	fm := *m
	targets, local := n.plan(&fm)
	if local != nil {
		m.SharedGroups = local
	}
	if len(targets) == 0 {
		return nil
	}
	if m.QoS == 0 {
		for _, t := range targets {
			t.p.sendNoAck(t.m)
		}
		return nil
	}
	deadline := time.Now().Add(n.cfg.ForwardTimeout)
	reqs := make([]*request, len(targets))
	var first error
	for i, t := range targets {
		r, err := t.p.sendBy(t.m, deadline)
		if err != nil {
			first = err
			break
		}
		reqs[i] = r
	}
	if first != nil {
		for i, r := range reqs {
			if r != nil {
				r.abandoned.Store(true)
				targets[i].p.forget(r)
			}
		}
		return n.refused(c, m, first)
	}
	wait := func() error {
		// One after the other: every request is on its way, so this
		// waits about as long as the slowest ack.
		var first error
		for i, r := range reqs {
			if err := targets[i].p.waitBy(r, deadline); err != nil && first == nil {
				first = err
			}
		}
		if first == nil && unserved(reqs) {
			// A node picked for a shared group whose members just left
			// gives the group back; QoS 2 has not routed here yet, so this
			// node may take it too.
			var here *broker.Message
			if m.QoS == 2 {
				here = m
			}
			first = n.serveMissed(deadline, targets[0].m, here, targets, reqs) // any copy: its SharedGroups are replaced
		}
		if first != nil {
			return n.refused(c, m, first)
		}
		return nil
	}
	if m.QoS == 1 {
		// The broker goes on reading the publisher's packets and waits
		// for this before its PUBACK: the forwards of a whole read batch
		// wait together, not one link round trip after another (one
		// publisher to subscribers on other nodes: 20 times slower).
		// QoS 2 waits here: exactly once must know before it routes.
		return broker.AcceptLater(wait)
	}
	return wait()
}

// unserved reports whether the ack of any of reqs named shared groups its
// node could not serve.
func unserved(reqs []*request) bool {
	for _, r := range reqs {
		if len(r.unserved) > 0 {
			return true
		}
	}
	return false
}

// refused counts and logs a forward that failed and returns the error
// that refuses the publish.
func (n *Node) refused(c *broker.ClientInfo, m *broker.Message, err error) error {
	n.stats.refused.Add(1)
	n.log.Warn("publish refused: not accepted by every node", "client", c.ID, "topic", m.Topic, "err", err)
	code := packets.UnspecifiedError
	if rc := packets.CodeOf(err); rc.IsError() {
		code = rc
	}
	return notAccepted(code)
}

// notAccepted is the PublishHook error for a message that was not kept:
// the publisher is not acknowledged and sends it again (v5: code in
// PUBACK/PUBREC; 3.1.x: the connection closes without an acknowledgement,
// broker.ErrNotAccepted).
func notAccepted(code packets.ReasonCode) error {
	return fmt.Errorf("cluster: %w: %w", broker.ErrNotAccepted, code)
}

// target is one node a message is forwarded to, with its copy of the
// message (whose SharedGroups are the groups that node serves).
type target struct {
	p *peer
	m *broker.Message
}

// plan returns the nodes m goes to: every member for a retained message,
// else those with a matching route. Each matching shared group is served
// by one node, taken in turn among this node (if it has members) and the
// live nodes with a route for the group: that node gets it in its copy's
// SharedGroups, and every other copy leaves the group out. local is the
// list of groups this node serves, or nil when no group is served
// elsewhere (then every local group is, as without a cluster). Groups the
// publisher restricted m to (m.SharedGroups) are the only ones planned.
// m is the caller's copy: when no group matches, the targets share it,
// its SharedGroups set to none; else each gets a copy of its own.
func (n *Node) plan(m *broker.Message) (out []target, local []string) {
	ms := matchesPool.Get().(*topics.Matches[string, struct{}])
	defer func() { ms.Reset(); matchesPool.Put(ms) }()
	n.remote.Match([]byte(m.Topic), ms)
	if !m.Retain && len(ms.Subs) == 0 && len(ms.Groups) == 0 {
		return nil, nil
	}
	if !m.Retain && len(ms.Groups) == 0 {
		// Plain subscribers only (most messages): one copy for every
		// node, no group for any.
		m.SharedGroups = noGroups
		for _, e := range ms.Subs {
			if slices.ContainsFunc(out, func(t target) bool { return t.p.m.ID == e.Key }) {
				continue
			}
			if p := n.peer(e.Key); p != nil {
				out = append(out, target{p, m})
			}
		}
		return out, nil
	}
	assigned := make(map[string][]string, 4) // node id → its groups; a key per target
	if m.Retain {
		for _, p := range n.allPeers() {
			assigned[p.m.ID] = nil
		}
	}
	for _, e := range ms.Subs {
		if _, ok := assigned[e.Key]; !ok {
			assigned[e.Key] = nil
		}
	}
	elsewhere := false
	remote := make(map[string]struct{}, len(ms.Groups))
	for _, g := range ms.Groups {
		key := "$share/" + g.Name + "/" + g.Filter
		if m.SharedGroups != nil && !slices.Contains(m.SharedGroups, key) {
			continue
		}
		remote[key] = struct{}{}
		var cands []string
		if n.hasLocal(key) {
			cands = append(cands, n.cfg.NodeID)
		}
		for _, e := range g.Members() {
			if n.peer(e.Key) != nil {
				cands = append(cands, e.Key)
			}
		}
		if len(cands) == 0 {
			continue
		}
		pick := cands[g.Next()%uint32(len(cands))]
		if pick == n.cfg.NodeID {
			local = append(local, key)
			continue
		}
		elsewhere = true
		assigned[pick] = append(assigned[pick], key)
	}
	if elsewhere {
		// Served here: the groups picked for this node and those only this
		// node has members of.
		if local == nil {
			local = []string{} // not nil: restricted
		}
		var ls topics.Matches[string, struct{}]
		n.lshared.Match([]byte(m.Topic), &ls)
		for _, g := range ls.Groups {
			key := "$share/" + g.Name + "/" + g.Filter
			if _, ok := remote[key]; ok || (m.SharedGroups != nil && !slices.Contains(m.SharedGroups, key)) {
				continue
			}
			local = append(local, key)
		}
	} else {
		local = nil
	}
	for id, groups := range assigned {
		p := n.peer(id)
		if p == nil {
			continue
		}
		cm := *m
		cm.SharedGroups = groups
		if cm.SharedGroups == nil {
			cm.SharedGroups = []string{} // not nil: the node skips its groups
		}
		out = append(out, target{p, &cm})
	}
	return out, local
}

// matchesPool holds plan's match results, so that a publish does not grow
// new ones.
var matchesPool = sync.Pool{New: func() any { return new(topics.Matches[string, struct{}]) }}

// noGroups is the SharedGroups of a copy for a node that serves none of
// the message's groups: not nil, so that it skips its own. Never appended
// to (a copy's list is replaced, not extended).
var noGroups = []string{}

func (n *Node) hasLocal(filter string) bool {
	n.rmu.Lock()
	defer n.rmu.Unlock()
	lr := n.local[filter]
	return lr != nil && lr.refs() > 0
}

// forget drops r from the requests waiting for an ack.
func (p *peer) forget(r *request) {
	p.mu.Lock()
	delete(p.pending, r.f.seq)
	p.mu.Unlock()
}
