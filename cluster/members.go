package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ternmq/broker"
)

// Member is a node's registration, the value of nodes/<id>.
type Member struct {
	ID      string    `json:"id"`
	Addr    string    `json:"addr"` // link address
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	// Broker is the member's broker.Broker.ID: the owner its client
	// claims name in the shared store (wills.go).
	Broker string `json:"broker,omitempty"`
}

// register grants the node's lease and puts its member key under it, then
// keeps the lease alive until Close, registering again (new lease, member
// key and every route) if etcd lost it. brokers is the value of
// brokerKey (see grantAndPut).
func (n *Node) register(ctx context.Context, brokers string) error {
	// A node restarted right after a crash finds its previous
	// registration alive until that lease expires: wait for it (at most
	// LeaseTTL and a second, within ctx).
	deadline := time.Now().Add(n.cfg.LeaseTTL + time.Second)
	for {
		err := n.grantAndPut(ctx, brokers)
		if err == nil {
			break
		}
		if !errors.Is(err, errIDTaken) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
	n.wg.Go(n.keepAlive)
	return nil
}

// brokerKey records, without a lease, the broker instances of this node
// whose clients' wills may still be unpublished, oldest first, the one
// registered last at the end: a JSON list of broker.Broker.ID values. A
// start publishes the wills of the instances it finds there (wills.go)
// and takes each out once all of its wills are done, so that an instance
// whose next one crashed too before publishing them is still listed at
// the start after. A bare id, as the previous version wrote it, reads as
// a list of one.
func (n *Node) brokerKey() string { return n.key("brokers/", n.cfg.NodeID) }

// maxBrokers bounds the list of brokerKey: the wills of an instance older
// than the 16 last ones are left to a broker built without
// WithoutWillRestore.
const maxBrokers = 16

// previousBrokers returns the broker instances of this node brokerKey
// lists (none the first time).
func (n *Node) previousBrokers(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.EtcdTimeout)
	defer cancel()
	resp, err := n.cli.Get(ctx, n.brokerKey())
	if err != nil {
		return nil, fmt.Errorf("cluster: reading the previous broker instances: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return parseBrokers(resp.Kvs[0].Value), nil
}

// parseBrokers reads the value of brokerKey.
func parseBrokers(v []byte) []string {
	if len(v) == 0 {
		return nil
	}
	if v[0] != '[' {
		return []string{string(v)} // the previous version's single id
	}
	var ids []string
	if err := json.Unmarshal(v, &ids); err != nil {
		return nil
	}
	return ids
}

// brokersValue is the value of brokerKey listing prev, then current, the
// oldest beyond maxBrokers left out.
func brokersValue(prev []string, current string) string {
	ids := append(slices.DeleteFunc(slices.Clone(prev), func(id string) bool { return id == current }), current)
	ids = ids[max(0, len(ids)-maxBrokers):]
	v, _ := json.Marshal(ids)
	return string(v)
}

// forgetBroker takes instance id out of brokerKey: every will of its
// clients is published (or its client came back). A concurrent change of
// the key (another instance's) is retried.
func (n *Node) forgetBroker(id string) {
	for range 5 {
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
		resp, err := n.cli.Get(ctx, n.brokerKey())
		if err != nil || len(resp.Kvs) == 0 {
			cancel()
			return
		}
		kv := resp.Kvs[0]
		ids := parseBrokers(kv.Value)
		if !slices.Contains(ids, id) {
			cancel()
			return
		}
		v, _ := json.Marshal(slices.DeleteFunc(ids, func(s string) bool { return s == id }))
		tr, err := n.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(n.brokerKey()), "=", kv.ModRevision)).
			Then(clientv3.OpPut(n.brokerKey(), string(v))).
			Commit()
		cancel()
		n.stats.etcdWrites.Add(1)
		if err != nil {
			n.log.Warn("forgetting a previous broker instance", "broker", id, "err", err)
			return
		}
		if tr.Succeeded {
			return
		}
	}
}

// errIDTaken: another live member registered the same node id.
var errIDTaken = errors.New("cluster: node id is already a live member")

// grantAndPut registers the node under a new lease; brokers, when not
// empty, is the value brokerKey gets in the same transaction (the first
// registration: a registration again after a lost lease leaves the key,
// and the instances still listed, alone).
func (n *Node) grantAndPut(ctx context.Context, brokers string) error {
	ttl := int64((n.cfg.LeaseTTL + time.Second - 1) / time.Second)
	ctx, cancel := context.WithTimeout(ctx, n.cfg.EtcdTimeout)
	defer cancel()
	l, err := n.cli.Grant(ctx, ttl)
	n.stats.etcdWrites.Add(1)
	if err != nil {
		return fmt.Errorf("cluster: granting lease: %w", err)
	}
	v := n.cfg.Version
	if v == "" {
		v = broker.Version
	}
	val, _ := json.Marshal(Member{ID: n.cfg.NodeID, Addr: n.addr, Version: v, Started: n.started, Broker: n.b.ID()})
	// The member key must be ours alone: refuse to join when a live node
	// already registered the same id.
	k := n.key("nodes/", n.cfg.NodeID)
	ops := []clientv3.Op{clientv3.OpPut(k, string(val), clientv3.WithLease(l.ID))}
	if brokers != "" {
		ops = append(ops, clientv3.OpPut(n.brokerKey(), brokers))
	}
	resp, err := n.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(ops...).
		Commit()
	n.stats.etcdWrites.Add(1)
	if err != nil {
		return fmt.Errorf("cluster: registering node: %w", err)
	}
	if !resp.Succeeded {
		_, _ = n.cli.Revoke(context.WithoutCancel(ctx), l.ID)
		return fmt.Errorf("%w: %q", errIDTaken, n.cfg.NodeID)
	}
	n.lease.Store(int64(l.ID))
	return nil
}

// keepAlive renews the lease; when it is lost (etcd unreachable for longer
// than the TTL) it registers again with backoff and puts the routes back.
func (n *Node) keepAlive() {
	for n.ctx.Err() == nil {
		ch, err := n.cli.KeepAlive(n.ctx, clientv3.LeaseID(n.lease.Load()))
		if err == nil {
			for range ch {
			}
		}
		if n.ctx.Err() != nil {
			return
		}
		n.log.Warn("cluster lease lost; registering again", "err", err)
		n.revoke() // in case it still exists: the member key is under it
		for backoff := 100 * time.Millisecond; n.ctx.Err() == nil; backoff = min(2*backoff, 2*time.Second) {
			if err := n.grantAndPut(n.ctx, ""); err == nil {
				n.reputRoutes()
				break
			} else {
				n.log.Warn("registering node", "err", err)
			}
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(jitter(backoff)):
			}
		}
	}
}

// revoke deletes the lease and with it the member key and every route.
func (n *Node) revoke() {
	id := clientv3.LeaseID(n.lease.Swap(0))
	if id == 0 || n.cli == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.EtcdTimeout)
	defer cancel()
	if _, err := n.cli.Revoke(ctx, id); err != nil {
		n.log.Warn("revoking cluster lease", "err", err)
	}
	n.stats.etcdWrites.Add(1)
}

// loadMembers reads the members, opens a link to each, and watches them.
func (n *Node) loadMembers(ctx context.Context) error {
	prefix := n.key("nodes/")
	resp, err := n.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("cluster: reading members: %w", err)
	}
	seen := make(map[string]bool)
	for _, kv := range resp.Kvs {
		if m, ok := n.member(kv.Value); ok {
			seen[m.ID] = true
			n.addPeer(m)
		}
	}
	n.pmu.Lock()
	for id := range n.peers {
		if !seen[id] {
			defer n.removePeer(id)
		}
	}
	n.pmu.Unlock()
	rev := resp.Header.Revision
	n.wg.Go(func() { n.watchMembers(rev + 1) })
	return nil
}

func (n *Node) watchMembers(rev int64) {
	prefix := n.key("nodes/")
	for n.ctx.Err() == nil {
		wc := n.cli.Watch(clientv3.WithRequireLeader(n.ctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
		for resp := range wc {
			if err := resp.Err(); err != nil {
				n.log.Warn("watching members", "err", err)
				break
			}
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					n.removePeer(strings.TrimPrefix(string(ev.Kv.Key), prefix))
				} else if m, ok := n.member(ev.Kv.Value); ok {
					n.addPeer(m)
				}
			}
			rev = resp.Header.Revision + 1
		}
		if n.ctx.Err() != nil {
			return
		}
		// Lost the watch (compaction, no leader): list again.
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(jitter(200 * time.Millisecond)):
		}
		lctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
		err := n.relistMembers(lctx, &rev)
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			n.log.Warn("listing members", "err", err)
		}
	}
}

func (n *Node) relistMembers(ctx context.Context, rev *int64) error {
	resp, err := n.cli.Get(ctx, n.key("nodes/"), clientv3.WithPrefix())
	if err != nil {
		return err
	}
	seen := make(map[string]bool)
	for _, kv := range resp.Kvs {
		if m, ok := n.member(kv.Value); ok {
			seen[m.ID] = true
			n.addPeer(m)
		}
	}
	n.pmu.Lock()
	var gone []string
	for id := range n.peers {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	n.pmu.Unlock()
	for _, id := range gone {
		n.removePeer(id)
	}
	*rev = resp.Header.Revision + 1
	return nil
}

// member decodes a member value; its own registration is skipped.
func (n *Node) member(v []byte) (Member, bool) {
	var m Member
	if err := json.Unmarshal(v, &m); err != nil || m.ID == "" {
		n.log.Warn("ignoring a malformed member", "value", string(v))
		return m, false
	}
	return m, m.ID != n.cfg.NodeID
}

// Members returns the other live members as this node last saw them.
func (n *Node) Members() []Member {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	out := make([]Member, 0, len(n.peers))
	for _, p := range n.peers {
		out = append(out, p.m)
	}
	return out
}

func (n *Node) addPeer(m Member) {
	n.pmu.Lock()
	old := n.peers[m.ID]
	if old != nil && old.m.Addr == m.Addr && old.m.Started.Equal(m.Started) {
		n.pmu.Unlock()
		return
	}
	if n.ctx.Err() != nil {
		n.pmu.Unlock()
		return
	}
	p := newPeer(n, m)
	n.peers[m.ID] = p
	n.pmu.Unlock()
	if old != nil {
		old.stop(errPeerGone)
	}
	n.log.Info("cluster member joined", "peer", m.ID, "addr", m.Addr)
	n.wg.Go(p.run)
}

// removePeer closes the link to a member that left (its lease expired or
// was revoked). Its routes, under the same lease, go with their own
// delete events: dropping them here could race with the routes a quickly
// re-registered member already wrote again (the two watches are not
// ordered with each other), and a route of a node that is not a member is
// not used.
func (n *Node) removePeer(id string) {
	n.pmu.Lock()
	p := n.peers[id]
	delete(n.peers, id)
	n.pmu.Unlock()
	if p != nil {
		p.stop(errPeerGone)
		n.log.Info("cluster member left", "peer", id)
		n.memberLeft(p.m)
	}
}

func (n *Node) peer(id string) *peer {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	return n.peers[id]
}

func (n *Node) allPeers() []*peer {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	out := make([]*peer, 0, len(n.peers))
	for _, p := range n.peers {
		out = append(out, p)
	}
	return out
}
