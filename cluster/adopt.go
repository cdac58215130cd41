package cluster

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/topics"
)

// Persistent sessions of a dead node. The broker holds a session only
// while its client is connected or after it disconnected from this
// broker; a node that dies takes its sessions' routes with it, and
// nothing would queue for those sessions until their clients reconnect
// somewhere. So each node records the persistent sessions it holds under
// held/<client> (value: the node id, no lease), and when a member leaves,
// the live member with the smallest id adopts the sessions it held: it
// reads their subscriptions from the shared store, routes their filters
// to itself and appends every matching QoS 1/2 message to their stored
// queues, where the node the client comes back to finds them. An adopted
// session is let go as soon as its client connects anywhere (its claim).
//
// A node that restarts with the id it had finds the sessions it held in
// the broker (which restores every stored session at New) and routes
// them again.
//
// Limits: adopted sessions do not expire (their expiry needs the broker's
// timers); a message appended in the moment between a client's claim and
// the adopter seeing it stays queued until the client's next reconnect.

// heldKey returns the key recording who holds clientID's session.
func (n *Node) heldKey(clientID string) string { return n.key("held/", url.PathEscape(clientID)) }

// orphanRef is the pseudo client id an adopted session counts its routes
// under (no MQTT client id can contain NUL).
func orphanRef(clientID string) string { return "\x00orphan/" + clientID }

// orphan is an adopted session.
type orphan struct {
	subs   []storage.Subscription
	queued int
	routed bool // its routes are committed and applied by the members
	// expires is when the session expires; zero: never. The adopter is
	// the only node that holds it, so it expires once, here.
	expires time.Time
}

// orphans holds the adopted sessions of this node.
type orphans struct {
	mu   sync.Mutex
	byID map[string]*orphan
	trie *topics.Trie[string, storage.Subscription]
	n    atomic.Int64 // len(byID), read without mu on every publish
}

// maxOrphanQueue bounds what is appended for one adopted session.
const maxOrphanQueue = 10000

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
			n.rmu.Lock()
			n.held[id] = struct{}{}
			n.rmu.Unlock()
			n.reconcile(id)
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

// adopt routes an orphaned session's filters here and queues for it.
func (n *Node) adopt(ctx context.Context, id string) error {
	if _, held := n.b.Session(id); held {
		n.rmu.Lock()
		n.held[id] = struct{}{}
		n.rmu.Unlock()
		n.reconcile(id) // a restored copy: the broker queues for it
		return nil
	}
	subs, err := n.store.Subscriptions().ForClient(ctx, id)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	o := &orphan{subs: subs}
	st, err := n.store.Sessions().Get(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // expired or removed meanwhile
	}
	if err != nil {
		return err
	}
	if st.ExpiryInterval != 0xFFFFFFFF {
		from := st.DisconnectedAt
		if from.IsZero() { // connected when its node died
			from = time.Now()
		}
		o.expires = from.Add(time.Duration(st.ExpiryInterval) * time.Second)
	}
	n.orph.mu.Lock()
	if n.orph.byID[id] != nil {
		n.orph.mu.Unlock()
		return nil
	}
	n.orph.byID[id] = o
	n.orph.n.Store(int64(len(n.orph.byID)))
	for _, s := range subs {
		n.orph.trie.Subscribe(s.Filter, id, s)
	}
	n.orph.mu.Unlock()
	n.rmu.Lock()
	n.held[id] = struct{}{}
	ref := orphanRef(id)
	for _, s := range subs {
		n.routeLocked(s.Filter).sessions[ref] = struct{}{}
	}
	n.rmu.Unlock()
	for _, s := range subs {
		if err := n.ensureRoute(ctx, s.Filter); err != nil {
			return err
		}
	}
	n.orph.mu.Lock()
	o.routed = true
	n.orph.mu.Unlock()
	return nil
}

// expireOrphans removes the adopted sessions whose expiry passed, with
// their stored state, as the broker would have [MQTT-3.1.2-23].
func (n *Node) expireOrphans() {
	now := time.Now()
	var ids []string
	n.orph.mu.Lock()
	for id, o := range n.orph.byID {
		if !o.expires.IsZero() && now.After(o.expires) {
			ids = append(ids, id)
		}
	}
	n.orph.mu.Unlock()
	for _, id := range ids {
		n.releaseOrphan(id)
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
		st := n.store
		err := errors.Join(st.Sessions().Delete(ctx, id), st.Subscriptions().RemoveAll(ctx, id), st.Queues().Clear(ctx, id))
		_ = st.Wills().Delete(ctx, id) // usually none
		cancel()
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			n.log.Warn("expiring an adopted session", "client", id, "err", err)
		}
		n.rmu.Lock()
		n.held[id] = struct{}{}
		n.rmu.Unlock()
		n.unmarkHeld(id)
		n.log.Info("adopted session expired", "client", id)
	}
}

// release lets an adopted session go: its client connected somewhere.
func (n *Node) releaseOrphan(id string) {
	n.orph.mu.Lock()
	o := n.orph.byID[id]
	delete(n.orph.byID, id)
	n.orph.n.Store(int64(len(n.orph.byID)))
	if o != nil {
		for _, s := range o.subs {
			n.orph.trie.Unsubscribe(s.Filter, id)
		}
	}
	n.orph.mu.Unlock()
	if o == nil {
		return
	}
	n.rmu.Lock()
	ref := orphanRef(id)
	for _, s := range o.subs {
		if lr := n.local[s.Filter]; lr != nil {
			n.unrefLocked(lr, ref)
		}
	}
	delete(n.held, id) // the new holder wrote held/<id> already
	n.rmu.Unlock()
}

// queueForOrphans appends m to the stored queue of every adopted session
// with a matching subscription, before the publisher is acknowledged.
func (n *Node) queueForOrphans(m *broker.Message) error {
	if m.QoS == 0 || n.orph.n.Load() == 0 {
		return nil // QoS 0 is not queued for offline sessions
	}
	n.orph.mu.Lock()
	if len(n.orph.byID) == 0 {
		n.orph.mu.Unlock()
		return nil
	}
	var ms topics.Matches[string, storage.Subscription]
	n.orph.trie.Match([]byte(m.Topic), &ms)
	type target struct {
		id  string
		qos byte
		ret bool
	}
	var ts []target
	for _, e := range ms.Subs {
		q := min(m.QoS, e.Value.QoS)
		if i := slices.IndexFunc(ts, func(t target) bool { return t.id == e.Key }); i >= 0 {
			ts[i].qos = max(ts[i].qos, q)
			continue
		}
		if o := n.orph.byID[e.Key]; o != nil && o.queued < maxOrphanQueue && q > 0 {
			o.queued++
			ts = append(ts, target{e.Key, q, e.Value.RetainAsPublished && m.Retain})
		}
	}
	for _, g := range ms.Groups {
		if m.SharedGroups != nil && !slices.Contains(m.SharedGroups, "$share/"+g.Name+"/"+g.Filter) {
			continue // another node serves this group
		}
		if mem := g.Members(); len(mem) > 0 {
			e := mem[g.Next()%uint32(len(mem))]
			if q := min(m.QoS, e.Value.QoS); q > 0 {
				ts = append(ts, target{e.Key, q, false})
			}
		}
	}
	n.orph.mu.Unlock()
	if len(ts) == 0 {
		return nil
	}
	sm := storedMessage(m)
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
	defer cancel()
	for _, t := range ts {
		c := *sm
		c.QoS, c.Retain = t.qos, t.ret
		if _, err := n.store.Queues().Append(ctx, t.id, &c); err != nil {
			n.log.Error("queueing for an adopted session", "client", t.id, "err", err)
			return notAccepted(packets.ImplementationSpecificError)
		}
	}
	return nil
}

// storedMessage is m in the stored form the broker reads back.
func storedMessage(m *broker.Message) *storage.Message {
	sm := &storage.Message{Topic: m.Topic, Payload: m.Payload, QoS: m.QoS, Retain: m.Retain}
	if m.Expiry > 0 {
		sm.Expiry = time.Now().Add(m.Expiry)
	}
	var p packets.Properties
	if m.PayloadUTF8 {
		p.PayloadFormat = 1
		p.Present.Add(packets.PropPayloadFormat)
	}
	if m.ContentType != "" {
		p.ContentType = []byte(m.ContentType)
		p.Present.Add(packets.PropContentType)
	}
	if m.ResponseTopic != "" {
		p.ResponseTopic = []byte(m.ResponseTopic)
		p.Present.Add(packets.PropResponseTopic)
	}
	if m.CorrelationData != nil {
		p.CorrelationData = m.CorrelationData
		p.Present.Add(packets.PropCorrelationData)
	}
	for _, u := range m.UserProperties {
		p.User = append(p.User, packets.UserProperty{Key: []byte(u.Key), Value: []byte(u.Value)})
	}
	if len(p.User) > 0 {
		p.Present.Add(packets.PropUserProperty)
	}
	if p.Present != 0 {
		if b, err := p.Append(nil, packets.PUBLISH); err == nil {
			sm.Properties = b
		}
	}
	return sm
}
