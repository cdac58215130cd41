package cluster

import (
	"context"
	"errors"
	"sync"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/topics"
)

// markerKey is the User Property that marks a message this node publishes
// on behalf of another node, so that OnPublish does not forward it again.
// Its value is the node's secret, so that a client cannot forge it, and
// OnPublish strips it before anything else sees the message routed.
const markerKey = "$tern-cluster"

// inject publishes a message received from another node here, as the host
// (Broker.PublishMessage): the publisher was authenticated and authorized
// on its own node, so the Authorizer is not asked again (read
// authorization still applies to each delivery). It returns once the
// message is routed and stored for durable subscribers.
func (n *Node) inject(ctx context.Context, m *broker.Message) error {
	m.UserProperties = append(m.UserProperties, broker.UserProperty{Key: markerKey, Value: n.secret})
	_, err := n.b.PublishMessage(ctx, m)
	if err != nil && !errors.Is(err, broker.ErrClosed) {
		n.log.Warn("publishing a forwarded message", "topic", m.Topic, "err", err)
	}
	return err
}

// injected reports whether m was published by inject, and strips the mark.
func (n *Node) injected(c *broker.ClientInfo, m *broker.Message) bool {
	if c.Listener != "local" {
		return false
	}
	k := len(m.UserProperties) - 1
	if k < 0 || m.UserProperties[k].Key != markerKey || m.UserProperties[k].Value != n.secret {
		return false
	}
	m.UserProperties = m.UserProperties[:k]
	if k == 0 {
		m.UserProperties = nil
	}
	return true
}

// OnPublish implements broker.PublishHook: it forwards m to every other
// node with a matching route (a retained message to every node, so that
// each one's retained index has it), once per node. QoS 0 is queued and
// not waited for. For QoS 1 and 2 it returns once every such node has
// published the message (stored for its durable subscribers), so the
// publisher's PUBACK/PUBREC means "accepted cluster-wide"; a node that
// does not accept within ForwardTimeout refuses the publish (v5:
// Unspecified error, and the publisher sends it again).
func (n *Node) OnPublish(c *broker.ClientInfo, m *broker.Message) error {
	if !n.running.Load() {
		return nil
	}
	if n.injected(c, m) {
		return n.queueForOrphans(m)
	}
	if err := n.queueForOrphans(m); err != nil {
		return err
	}
	fm := *m
	fm.ClientID = c.ID // shards by publisher on the receiving side
	if m.Retain && len(m.Payload) == 0 {
		// Clearing a retained message: the other nodes' indexes learn it
		// from etcd (retained.go); subscribers get it as a plain message.
		fm.Retain = false
	}
	targets := n.targets(&fm)
	if len(targets) == 0 {
		return nil
	}
	if m.QoS == 0 {
		for _, p := range targets {
			_, _ = p.send(n.ctx, &fm, false)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.ForwardTimeout)
	defer cancel()
	reqs := make([]*request, len(targets))
	var first error
	for i, p := range targets {
		r, err := p.send(ctx, &fm, true)
		if err != nil {
			first = err
			break
		}
		reqs[i] = r
	}
	if first == nil {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, r := range reqs {
			if len(reqs) == 1 {
				first = targets[i].wait(ctx, r)
				break
			}
			wg.Go(func() {
				if err := targets[i].wait(ctx, r); err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	} else {
		for i, r := range reqs {
			if r != nil {
				r.abandoned.Store(true)
				targets[i].forget(r)
			}
		}
	}
	if first != nil {
		n.stats.refused.Add(1)
		n.log.Warn("publish refused: not accepted by every node", "client", c.ID, "topic", m.Topic, "err", first)
		if code := packets.CodeOf(first); code.IsError() && code != packets.UnspecifiedError {
			return code
		}
		return packets.UnspecifiedError
	}
	return nil
}

// targets returns the links of the nodes m goes to: every member for a
// retained message, else those with a matching route. A shared group with
// members here is served here; one with members only elsewhere goes to
// one of their nodes, round robin.
func (n *Node) targets(m *broker.Message) []*peer {
	if m.Retain {
		return n.allPeers()
	}
	var ms topics.Matches[string, struct{}]
	n.remote.Match([]byte(m.Topic), &ms)
	if len(ms.Subs) == 0 && len(ms.Groups) == 0 {
		return nil
	}
	ids := make(map[string]struct{}, 4)
	for _, e := range ms.Subs {
		ids[e.Key] = struct{}{}
	}
	for _, g := range ms.Groups {
		if n.hasLocal("$share/" + g.Name + "/" + g.Filter) {
			continue
		}
		if mem := g.Members(); len(mem) > 0 {
			ids[mem[g.Next()%uint32(len(mem))].Key] = struct{}{}
		}
	}
	out := make([]*peer, 0, len(ids))
	n.pmu.Lock()
	for id := range ids {
		if p := n.peers[id]; p != nil {
			out = append(out, p)
		}
	}
	n.pmu.Unlock()
	return out
}

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
