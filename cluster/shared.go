package cluster

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/topics"
)

// A shared group's node is picked on the publisher's node from the routes
// it knows (plan). A route outlives the group's last member on its node
// by RouteGrace, and a watch event later on the other nodes: a node
// picked in that moment has no member to give the message to. For QoS
// 1/2 that node says so in its ack (servable, the ack's unserved list),
// leaves the group out of its own routing, and the publisher's node gives
// the group to another node with a route for it (serveMissed), before the
// publisher is acknowledged. QoS 0 is best effort: the group misses the
// message.

// servable splits the shared groups that a forwarded message names for
// this node into those it has a member of (keep: groups itself when it
// has them all, else a new list, empty and not nil when it has none) and
// the indices of the others. The node, not its broker, decides: a group
// reported unserved is left out of routing here, so that the node the
// publisher's node picks next is the group's only one [MQTT-4.8.2].
func (n *Node) servable(groups []string) (keep []string, unserved []uint64) {
	keep = groups
	for i, g := range groups {
		if n.hasMember(g) {
			if unserved != nil {
				keep = append(keep, g)
			}
			continue
		}
		if unserved == nil {
			keep = append(make([]string, 0, len(groups)), groups[:i]...)
		}
		unserved = append(unserved, uint64(i))
	}
	return keep, unserved
}

// hasMember reports whether this node has a member of the shared group
// (named "$share/<group>/<filter>"). The counts of localRoute drop as soon
// as a hook tells a subscription is gone (UNSUBSCRIBE, a session ended
// with its connection or expired); a member whose session may have gone
// without a hook (marked dirty: it disconnected, or connected to another
// node, which takes its session over) is asked of the broker. A member
// the broker drops between this check and routing (microseconds) still
// makes the group miss the message.
func (n *Node) hasMember(group string) bool {
	n.rmu.Lock()
	defer n.rmu.Unlock()
	lr := n.local[group]
	if lr == nil || lr.refs() == 0 {
		return false
	}
	if lr.inproc > 0 {
		return true
	}
	for id := range lr.sessions {
		if _, dirty := n.dirty[id]; !dirty {
			return true
		}
	}
	for id := range lr.sessions {
		// Under rmu, as reconcile does: a hook that changes it comes after.
		if st, ok := n.b.Session(id); ok && hasFilter(st, group) {
			return true
		}
	}
	return false
}

// serveMissed gives the shared groups that the nodes of targets reported
// unserved in their acks to other nodes with a route for them, and waits
// until those accept. Only nodes that did not get the message are asked:
// a second copy would reach their plain subscribers twice. Each node is
// asked once per message, so it ends; a group no node is left for misses
// the message (counted in Stats.SharedLost). This node may take a group
// it has members of too: here, when not nil, is the message it has yet
// to route (QoS 2: the hook has not returned), and the group is added to
// its SharedGroups; else (QoS 1, routed here already) it publishes a copy
// for the groups alone, when no plain subscription of this node can match
// the topic and the message is not retained (a retained copy would be
// stored again). base is the message as forwarded.
func (n *Node) serveMissed(ctx context.Context, base, here *broker.Message, targets []target, reqs []*request) error {
	var missed []string
	for i, r := range reqs {
		gs := targets[i].m.SharedGroups
		for _, k := range r.unserved {
			if k < uint64(len(gs)) {
				missed = append(missed, gs[k])
			}
		}
	}
	if len(missed) == 0 {
		return nil
	}
	asked := make(map[string]struct{}, len(targets)+2)
	for _, t := range targets {
		asked[t.p.m.ID] = struct{}{}
	}
	var ms topics.Matches[string, struct{}]
	n.remote.Match([]byte(base.Topic), &ms)
	self := here != nil || !base.Retain && !n.plainMatch(base.Topic)
	var alone []string // groups this node publishes a copy for (QoS 1)
	for len(missed) > 0 {
		round := make(map[*peer][]string, 1)
		for _, key := range missed {
			switch p, local := n.repick(key, &ms, asked, self); {
			case local && here != nil:
				here.SharedGroups = append(here.SharedGroups, key)
				n.stats.sharedRepicked.Add(1)
			case local:
				alone = append(alone, key)
				n.stats.sharedRepicked.Add(1)
			case p == nil:
				n.stats.sharedLost.Add(1)
				n.log.Debug("shared group missed a message: no node left with a member", "group", key, "topic", base.Topic)
			default:
				round[p] = append(round[p], key)
				n.stats.sharedRepicked.Add(1)
			}
		}
		missed = nil
		type sent struct {
			p *peer
			m *broker.Message
			r *request
		}
		var out []sent
		for p, groups := range round {
			asked[p.m.ID] = struct{}{}
			cm := *base
			cm.SharedGroups = groups
			r, err := p.send(ctx, &cm, true)
			if err != nil {
				for _, s := range out {
					s.r.abandoned.Store(true)
					s.p.forget(s.r)
				}
				return err
			}
			out = append(out, sent{p, &cm, r})
		}
		var first error
		for _, s := range out {
			if err := s.p.wait(ctx, s.r); err != nil {
				first = err
				continue
			}
			for _, k := range s.r.unserved {
				if k < uint64(len(s.m.SharedGroups)) {
					missed = append(missed, s.m.SharedGroups[k])
				}
			}
		}
		if first != nil {
			return first
		}
	}
	if len(alone) > 0 {
		cm := *base
		cm.SharedGroups = alone
		cm.UserProperties = slices.Clip(cm.UserProperties) // inject appends its mark
		if err := n.inject(ctx, &cm); err != nil {
			return err
		}
	}
	return nil
}

// maxPlainScan bounds the filters plainMatch looks at: beyond, it says
// yes without looking (the group misses the message), so that a miss
// costs no more than a few thousand matches on a node with a million
// filters.
const maxPlainScan = 4096

// plainMatch reports whether a subscription of this node that is not to
// a shared group may match topic: a filter it counts, or is committing.
func (n *Node) plainMatch(topic string) bool {
	n.rmu.Lock()
	defer n.rmu.Unlock()
	if len(n.local) > maxPlainScan {
		return true
	}
	for f := range n.local {
		if !strings.HasPrefix(f, "$share/") && topics.Match(f, topic) {
			return true
		}
	}
	return false
}

// repick chooses, at random, among the live nodes with a route for the
// shared group key that were not asked yet, and this node if local may
// serve it and has members: local reports this node, else p is the node,
// nil when none is left.
func (n *Node) repick(key string, ms *topics.Matches[string, struct{}], asked map[string]struct{}, local bool) (p *peer, here bool) {
	for _, g := range ms.Groups {
		if "$share/"+g.Name+"/"+g.Filter != key {
			continue
		}
		var cands []*peer
		for _, e := range g.Members() {
			if _, done := asked[e.Key]; done {
				continue
			}
			if p := n.peer(e.Key); p != nil {
				cands = append(cands, p)
			}
		}
		self := local && n.hasMember(key)
		k := len(cands)
		if self {
			k++
		}
		if k == 0 {
			return nil, false
		}
		i := rand.IntN(k) // not g.Next(): plan's turn stays as it was
		if i == len(cands) {
			return nil, true
		}
		return cands[i], false
	}
	if local && n.hasMember(key) {
		return nil, true
	}
	return nil, false
}
