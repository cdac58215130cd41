package cluster

import (
	"math/rand/v2"
	"time"

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
// until those accept. The copies go to the groups only
// (broker.Message.SharedGroupsOnly): a node that got the message for its
// plain subscribers does not give it to them twice. Each node is asked
// once per group, so it ends; a group no node is left for misses the
// message (counted in Stats.SharedLost). This node may take a group it
// has members of too: here, when not nil, is the message it has yet to
// route (QoS 2: the hook has not returned), and the group is added to its
// SharedGroups; else (QoS 1, routed here already) it publishes a copy for
// the groups alone. base is the message as forwarded.
func (n *Node) serveMissed(deadline time.Time, base, here *broker.Message, targets []target, reqs []*request) error {
	var missed []string
	asked := make(map[string]struct{}) // group + "\x00" + node id: asked to serve it
	for i, r := range reqs {
		gs := targets[i].m.SharedGroups
		for _, k := range r.unserved {
			if k < uint64(len(gs)) {
				missed = append(missed, gs[k])
				asked[gs[k]+"\x00"+targets[i].p.m.ID] = struct{}{}
			}
		}
	}
	if len(missed) == 0 {
		return nil
	}
	var ms topics.Matches[string, struct{}]
	n.remote.Match([]byte(base.Topic), &ms)
	var alone []string // groups this node publishes a copy for (QoS 1)
	for len(missed) > 0 {
		round := make(map[*peer][]string, 1)
		for _, key := range missed {
			switch p, local := n.repick(key, &ms, asked); {
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
			cm := *base
			cm.SharedGroups, cm.SharedGroupsOnly = groups, true
			r, err := p.sendBy(&cm, deadline)
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
			if err := s.p.waitBy(s.r, deadline); err != nil {
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
		cm.SharedGroups, cm.SharedGroupsOnly = alone, true
		if err := n.inject(n.ctx, &cm); err != nil {
			return err
		}
	}
	return nil
}

// repick chooses, at random, among the live nodes with a route for the
// shared group key, and this node if it has members, one not asked to
// serve key yet, and records it as asked: local reports this node, else p
// is the node, nil when none is left.
func (n *Node) repick(key string, ms *topics.Matches[string, struct{}], asked map[string]struct{}) (p *peer, here bool) {
	var cands []*peer
	for _, g := range ms.Groups {
		if "$share/"+g.Name+"/"+g.Filter != key {
			continue
		}
		for _, e := range g.Members() {
			if _, done := asked[key+"\x00"+e.Key]; done {
				continue
			}
			if p := n.peer(e.Key); p != nil {
				cands = append(cands, p)
			}
		}
		break
	}
	self := false
	if _, done := asked[key+"\x00"+n.cfg.NodeID]; !done {
		self = n.hasMember(key)
	}
	k := len(cands)
	if self {
		k++
	}
	if k == 0 {
		return nil, false
	}
	i := rand.IntN(k) // not g.Next(): plan's turn stays as it was
	if i == len(cands) {
		asked[key+"\x00"+n.cfg.NodeID] = struct{}{}
		return nil, true
	}
	asked[key+"\x00"+cands[i].m.ID] = struct{}{}
	return cands[i], false
}
