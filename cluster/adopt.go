package cluster

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ternmq/broker"
)

// Persistent sessions of a dead node. The broker holds a session only
// while its client is connected or after it disconnected from this
// broker; a node that dies takes its sessions' routes with it, and
// nothing would queue for those sessions until their clients reconnect
// somewhere. So each node records the persistent sessions it holds under
// held/<client> (value: the node id, no lease), and when a member leaves,
// the live member with the smallest id adopts the sessions it held: its
// broker loads each one (Broker.AdoptSession) and from then on holds it
// like its own disconnected sessions, with its rules, queue limits and
// expiry timer; the node routes it like the sessions a restarted node
// finds in its broker (hold). An adopted session is let go as soon as its
// client connects anywhere: the broker drops it on the claim, and the
// node reconciles its routes away (sessions.go). A session whose claim
// already names another live member when it is loaded is let go at once
// (its client came back there before that member wrote held/).
//
// A node that restarts with the id it had finds the sessions it held in
// the broker (which restores every stored session at New) and routes
// them again.
//
// Limit: a message queued in the moment between a client's claim and the
// adopter's broker dropping the session stays in the stored queue until
// the client's next reconnect.

// heldKey returns the key recording who holds clientID's session.
func (n *Node) heldKey(clientID string) string { return n.key("held/", url.PathEscape(clientID)) }

// markHeld records that this node holds clientID's persistent session.
func (n *Node) markHeld(clientID string) {
	n.rmu.Lock()
	_, done := n.held[clientID]
	if !done {
		n.held[clientID] = struct{}{}
	}
	n.rmu.Unlock()
	if done {
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
	defer cancel()
	if _, err := n.cli.Put(ctx, n.heldKey(clientID), n.cfg.NodeID); err != nil {
		n.log.Warn("recording a held session", "client", clientID, "err", err)
	}
	n.stats.etcdWrites.Add(1)
}

// unmarkHeld removes the record of clientID's session if it names this node.
func (n *Node) unmarkHeld(clientID string) {
	n.rmu.Lock()
	_, had := n.held[clientID]
	delete(n.held, clientID)
	n.rmu.Unlock()
	if !had {
		return
	}
	k := n.heldKey(clientID)
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
	defer cancel()
	_, err := n.cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(k), "=", n.cfg.NodeID)).Then(clientv3.OpDelete(k)).Commit()
	n.stats.etcdWrites.Add(1)
	if err != nil && n.ctx.Err() == nil {
		n.log.Warn("forgetting a held session", "client", clientID, "err", err)
	}
}

// heldBy lists the clients whose sessions node held, from etcd.
func (n *Node) heldBy(ctx context.Context, node string) ([]string, error) {
	all, err := n.holders(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for id, holder := range all {
		if holder == node {
			out = append(out, id)
		}
	}
	return out, nil
}

// holders reads held/: the node holding each recorded session, by client.
func (n *Node) holders(ctx context.Context) (map[string]string, error) {
	prefix := n.key("held/")
	out := make(map[string]string)
	opts := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithLimit(512)}
	for from := prefix; ; {
		resp, err := n.cli.Get(ctx, from, opts...)
		if err != nil {
			return nil, err
		}
		for _, kv := range resp.Kvs {
			if id, err := url.PathUnescape(strings.TrimPrefix(string(kv.Key), prefix)); err == nil {
				out[id] = string(kv.Value)
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return out, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// rehold routes again the sessions this node held before a restart: the
// broker restored them from storage. It restored every stored session,
// also those another node holds: their copies here are released (they
// would run expiry timers of their own and queue duplicates), their stored
// state left to their holder.
func (n *Node) rehold(ctx context.Context) {
	holders, err := n.holders(ctx)
	if err != nil {
		n.log.Warn("listing held sessions", "err", err)
		return
	}
	released := 0
	for _, id := range n.b.Sessions() {
		switch holder, ok := holders[id]; {
		case holder == n.cfg.NodeID:
			n.hold(id)
		case ok:
			if n.b.ReleaseSession(id) == nil {
				released++
			}
		}
	}
	if released > 0 {
		n.log.Info("released restored sessions other members hold", "sessions", released)
	}
}

// memberLeft adopts the sessions of a member that left, and publishes the
// wills of its clients, when this node has the smallest id among the live
// members.
func (n *Node) memberLeft(m Member) {
	id := m.ID
	if !n.running.Load() || n.store == nil {
		return
	}
	n.wg.Go(func() {
		// A member that lost its lease registers again at once: give it a
		// moment before taking its sessions.
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		if n.peer(id) != nil {
			return
		}
		for _, o := range n.Members() {
			if o.ID < n.cfg.NodeID {
				return
			}
		}
		n.adoptFrom(id)
		n.publishWills(m)
	})
}

func (n *Node) adoptFrom(dead string) {
	ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
	defer cancel()
	ids, err := n.heldBy(ctx, dead)
	if err != nil {
		n.log.Warn("listing a dead member's sessions", "member", dead, "err", err)
		return
	}
	adopted := 0
	for _, id := range ids {
		k := n.heldKey(id)
		resp, err := n.cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(k), "=", dead)).Then(clientv3.OpPut(k, n.cfg.NodeID)).Commit()
		n.stats.etcdWrites.Add(1)
		if err != nil {
			n.log.Warn("adopting a session", "client", id, "err", err)
			continue
		}
		if !resp.Succeeded {
			continue // its client is back somewhere
		}
		if err := n.adopt(ctx, id); err != nil {
			n.log.Warn("adopting a session", "client", id, "err", err)
			continue
		}
		adopted++
	}
	if adopted > 0 {
		n.log.Info("adopted the sessions of a member that left", "member", dead, "sessions", adopted)
	}
}

// adopt makes this node hold a dead member's session, whose held/ record
// names this node already: its broker loads it, and it is routed as the
// sessions a restarted node holds.
func (n *Node) adopt(ctx context.Context, id string) error {
	err := n.b.AdoptSession(ctx, id)
	if err != nil && !errors.Is(err, broker.ErrNoSuchClient) {
		return err
	}
	if err == nil && n.claimedByMember(ctx, id) {
		// Its client came back on a live member before the broker loaded
		// the session, and the broker saw that claim before holding it:
		// that member holds it, two copies would queue twice.
		_ = n.b.ReleaseSession(id)
	}
	n.hold(id) // without a session (it expired meanwhile): forgets held/<id>
	n.rmu.Lock()
	if st, ok := n.b.Session(id); ok && !st.Connected { // under rmu, as in reconcile
		n.adopted[id] = struct{}{}
	}
	n.rmu.Unlock()
	return nil
}

// claimedByMember reports whether clientID's claim names the broker of
// another live member: the client's last CONNECT was there.
func (n *Node) claimedByMember(ctx context.Context, clientID string) bool {
	resp, err := n.cli.Get(ctx, n.ownerKey(clientID))
	if err != nil || len(resp.Kvs) == 0 {
		return false // adopt: a duplicate is better than a session nobody queues for
	}
	owner := string(resp.Kvs[0].Value)
	live, _ := n.liveBroker(owner)
	return live && owner != n.b.ID()
}

// hold routes a session of the broker that held/ says this node holds.
func (n *Node) hold(id string) {
	n.rmu.Lock()
	n.held[id] = struct{}{} // recorded already: reconcile writes nothing
	n.rmu.Unlock()
	n.reconcile(id)
}
