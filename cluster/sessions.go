package cluster

import (
	"context"
	"net/url"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// Subscriptions are counted per filter: an MQTT session's by client id
// (so a SUBSCRIBE that replaces a subscription is not counted twice), an
// in-process Client's by number. A session can lose its subscriptions
// without an UnsubscribedHook (it ended with its connection, expired, was
// discarded by a clean start, or was taken over by another node): such
// clients are reconciled with Broker.Session, at once when a hook tells,
// and a few times over the next seconds when only a claim in etcd tells.

// reconcileChecks is how many sweeps (250 ms apart) a client marked dirty
// is reconciled.
const reconcileChecks = 8

// OnSubscribe implements broker.SubscribeHook: the route is committed to
// etcd (and applied by every member) before SUBACK, so that a message
// published anywhere after SUBACK reaches the subscriber. When etcd cannot
// be written the filter is refused with Implementation specific error.
func (n *Node) OnSubscribe(c *broker.ClientInfo, sub *broker.Subscription) error {
	if !n.running.Load() {
		return nil
	}
	if err := n.ensureRoute(n.ctx, sub.Filter); err != nil {
		n.log.Error("subscription refused: route not committed", "client", c.ID, "filter", sub.Filter, "err", err)
		return packets.ImplementationSpecificError
	}
	return nil
}

// OnSubscribed implements broker.SubscribedHook: it counts the
// subscription (an in-process Client's, which has no OnSubscribe, also
// commits its route here, before Client.Subscribe returns).
func (n *Node) OnSubscribed(c *broker.ClientInfo, sub broker.Subscription) {
	if n.b == nil { // not started: nothing is routed yet
		return
	}
	n.rmu.Lock()
	lr := n.routeLocked(sub.Filter)
	if st, ok := n.b.Session(c.ID); ok && hasFilter(st, sub.Filter) {
		lr.sessions[c.ID] = struct{}{}
		fs := n.sessSubs[c.ID]
		if fs == nil {
			fs = make(map[string]struct{})
			n.sessSubs[c.ID] = fs
		}
		fs[sub.Filter] = struct{}{}
	} else {
		lr.inproc++
	}
	committed := lr.committed
	n.rmu.Unlock()
	if !committed && n.running.Load() {
		if err := n.ensureRoute(n.ctx, sub.Filter); err != nil {
			n.log.Error("route not committed", "filter", sub.Filter, "err", err)
		}
	}
}

// OnUnsubscribed implements broker.UnsubscribedHook.
func (n *Node) OnUnsubscribed(c *broker.ClientInfo, filter string) {
	n.rmu.Lock()
	defer n.rmu.Unlock()
	lr := n.local[filter]
	if lr == nil {
		return
	}
	if fs := n.sessSubs[c.ID]; fs != nil {
		if _, ok := fs[filter]; ok {
			delete(fs, filter)
			if len(fs) == 0 {
				delete(n.sessSubs, c.ID)
			}
			n.unrefLocked(lr, c.ID)
			return
		}
	}
	if lr.inproc > 0 {
		lr.inproc--
		if lr.refs() == 0 {
			lr.zeroSince = time.Now()
		}
	}
}

func (n *Node) unrefLocked(lr *localRoute, clientID string) {
	delete(lr.sessions, clientID)
	if lr.refs() == 0 {
		lr.zeroSince = time.Now()
	}
}

// OnConnect implements broker.ConnectHook: a client resuming a session
// that this node does not hold (it lived on another node, or on this one
// before a restart) gets the routes of its stored subscriptions committed
// before CONNACK, so that nothing published after CONNACK misses it. It
// costs one etcd range read per such CONNECT; a failure refuses the
// connection with Server unavailable.
func (n *Node) OnConnect(c *broker.ClientInfo) error {
	if !n.running.Load() {
		return nil
	}
	n.willOnConnect(c) // before the broker stores this connection's will
	if c.CleanStart {
		return nil
	}
	if _, held := n.b.Session(c.ID); held {
		return nil
	}
	prefix := n.cfg.StoragePrefix + "subs/" + url.PathEscape(c.ID) + "/"
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
	defer cancel()
	resp, err := n.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		n.log.Error("reading a resumed session's subscriptions", "client", c.ID, "err", err)
		return packets.ServerUnavailable
	}
	for _, kv := range resp.Kvs {
		f := strings.TrimPrefix(string(kv.Key), prefix)
		if err := n.ensureRoute(ctx, f); err != nil {
			n.log.Error("route not committed", "client", c.ID, "filter", f, "err", err)
			return packets.ServerUnavailable
		}
	}
	return nil
}

// OnSessionCreated implements broker.SessionHook: a clean start may have
// discarded subscriptions this node counted.
func (n *Node) OnSessionCreated(c *broker.ClientInfo) { n.reconcile(c.ID) }

// OnSessionResumed implements broker.SessionHook: a session resumed here,
// perhaps loaded from etcd after it lived on another node, brings its
// subscriptions, whose routes are committed now.
func (n *Node) OnSessionResumed(c *broker.ClientInfo) { n.reconcile(c.ID) }

// OnSessionExpired implements broker.SessionHook.
func (n *Node) OnSessionExpired(clientID string) { n.reconcile(clientID) }

// OnDisconnect implements broker.DisconnectHook: a session with no expiry
// ended; a taken-over one ends a moment later.
func (n *Node) OnDisconnect(c *broker.ClientInfo, err error) {
	n.reconcile(c.ID)
	n.markDirty(c.ID)
}

func (n *Node) markDirty(id string) {
	n.rmu.Lock()
	_, subs := n.sessSubs[id]
	if _, held := n.held[id]; subs || held {
		n.dirty[id] = reconcileChecks
	}
	n.rmu.Unlock()
}

// reconcile makes the counted subscriptions of a client those of its
// session in the broker (none when it has no session here), and commits
// the routes that are new.
func (n *Node) reconcile(id string) {
	if n.b == nil {
		return
	}
	var added []string
	n.rmu.Lock()
	st, ok := n.b.Session(id) // under rmu: a hook that changes it comes after
	want := make(map[string]struct{})
	if ok {
		for _, s := range st.Subscriptions {
			want[s.Filter] = struct{}{}
		}
	}
	if !ok || st.Connected {
		delete(n.adopted, id) // its client came back, or it ended
	}
	have := n.sessSubs[id]
	for f := range have {
		if _, keep := want[f]; !keep {
			if lr := n.local[f]; lr != nil {
				n.unrefLocked(lr, id)
			}
			delete(have, f)
		}
	}
	for f := range want {
		if _, had := have[f]; had {
			continue
		}
		if have == nil {
			have = make(map[string]struct{})
			n.sessSubs[id] = have
		}
		have[f] = struct{}{}
		lr := n.routeLocked(f)
		lr.sessions[id] = struct{}{}
		if !lr.committed {
			added = append(added, f)
		}
	}
	if len(have) == 0 {
		delete(n.sessSubs, id)
	}
	n.rmu.Unlock()
	if !n.running.Load() {
		return
	}
	if ok && st.ExpiryInterval > 0 {
		n.markHeld(id)
	} else if !ok {
		n.unmarkHeld(id)
	}
	for _, f := range added {
		if err := n.ensureRoute(n.ctx, f); err != nil {
			n.log.Error("route not committed", "filter", f, "err", err)
		}
	}
}

// sweepDirty reconciles the clients marked dirty.
func (n *Node) sweepDirty() {
	n.rmu.Lock()
	ids := make([]string, 0, len(n.dirty))
	for id, left := range n.dirty {
		ids = append(ids, id)
		if left <= 1 {
			delete(n.dirty, id)
		} else {
			n.dirty[id] = left - 1
		}
	}
	n.rmu.Unlock()
	for _, id := range ids {
		n.reconcile(id)
	}
}

// watchClaims watches the brokers' client claims in the shared store
// (storage/etcd's owners/<id>): a claim means the client connected
// somewhere, and a session it had here is about to be released.
func (n *Node) watchClaims() {
	prefix := n.cfg.StoragePrefix + "owners/"
	for n.ctx.Err() == nil {
		for resp := range n.cli.Watch(clientv3.WithRequireLeader(n.ctx), prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly()) {
			if resp.Err() != nil {
				break
			}
			for _, ev := range resp.Events {
				if id, err := url.PathUnescape(strings.TrimPrefix(string(ev.Kv.Key), prefix)); err == nil {
					n.markDirty(id)
				}
			}
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(jitter(500 * time.Millisecond)):
		}
	}
}

func hasFilter(st broker.SessionStatus, filter string) bool {
	for _, s := range st.Subscriptions {
		if s.Filter == filter {
			return true
		}
	}
	return false
}
