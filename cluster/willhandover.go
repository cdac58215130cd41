package cluster

import (
	"context"
	"errors"
	"net/url"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/storage"
)

// A client whose broker died may connect to another node before the
// node that adopts the dead broker's clients publishes its will: the new
// connection's claim then names this broker, the adopter's transaction
// (claim unchanged) fails, and the new connection's will replaces the old
// one in the store. Yet the old connection ended abnormally, so its will
// goes out [MQTT-3.1.2-8], at once when it has no Will Delay Interval; a
// will with one goes out only if the session ends rather than resumes
// [MQTT-3.1.3-9]. The node accepting the CONNECT (willOnConnect, called by
// OnConnect before the broker stores the new connection's will) decides:
//
//   - the claim names a broker that is no live member's (nor this one's):
//     it is dead. The node takes the will from the store in a transaction
//     that requires the claim and the will unchanged (so it and the
//     adopter never both publish it) and publishes it if it is due.
//   - the claim names a live member's broker: the member may be alive
//     (the claim makes it close the old connection, and it publishes the
//     will itself) or dead within its lease, still listed. The node moves
//     the will, if due, from wills/<client> to wills/<broker>/<client>
//     under the cluster prefix and its own lease (one transaction, the
//     same conditions), and decides a lease TTL and 2 s later: the member
//     is still listed, so it was alive — the copy is put back if the
//     client is still that member's (this CONNECT failed), else dropped
//     when the member published the will itself (no delay, or a session
//     that had ended) and published when it did not (a delayed will of a
//     session this clean start ended: the member drops it with the
//     session); or the member left — the copy is published, once.
//
// If this node dies before it decides, its lease takes the copy: that
// will is lost (two nodes died within one lease TTL).

// handoverWait is how long after the CONNECT the node decides about a
// will moved aside: a member that was dead then has left by this time
// (its lease expired), one that is still listed is alive.
func (n *Node) handoverWait() time.Duration { return n.cfg.LeaseTTL + 2*time.Second }

// willOnConnect handles the stored will of the previous connection of a
// client that connects here (see above). It costs one etcd request per
// CONNECT (the claim), and a few more when the claim names another broker
// and a will is stored. Errors are logged: the old will is then left as
// it was (the CONNECT is not refused for it).
func (n *Node) willOnConnect(c *broker.ClientInfo) {
	if !n.running.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
	defer cancel()
	ck, wk := n.ownerKey(c.ID), n.willKey(c.ID)
	resp, err := n.cli.Txn(ctx).Then(clientv3.OpGet(ck), clientv3.OpGet(wk)).Commit()
	if err != nil {
		n.log.Warn("reading a connecting client's claim", "client", c.ID, "err", err)
		return
	}
	claims, wills := resp.Responses[0].GetResponseRange().Kvs, resp.Responses[1].GetResponseRange().Kvs
	if len(claims) == 0 || len(wills) == 0 {
		return
	}
	owner := string(claims[0].Value)
	if owner == n.b.ID() {
		return // this broker's: it handles its own connections
	}
	raw, rev := wills[0].Value, wills[0].ModRevision
	w, err := n.store.Wills().Get(ctx, c.ID) // decoded (the raw value is the store's format)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			n.log.Warn("reading a connecting client's old will", "client", c.ID, "err", err)
		}
		return
	}
	ended := false // the session ended with the old connection
	if w.Delay > 0 {
		_, err := n.store.Sessions().Get(ctx, c.ID)
		ended = errors.Is(err, storage.ErrNotFound)
	}
	// Due: the will goes out now, the session having ended or ending with
	// this clean start [MQTT-3.1.3-9]. A live owner publishes it itself
	// when the claim closes the old connection only without a delay or
	// with the session ended: a delayed will it drops, for a session that
	// moves on.
	due := w.Delay == 0 || ended || c.CleanStart
	ownerPublishes := w.Delay == 0 || ended
	unchanged := []clientv3.Cmp{
		clientv3.Compare(clientv3.Value(ck), "=", owner),
		clientv3.Compare(clientv3.ModRevision(wk), "=", rev),
	}
	live, known := n.liveBroker(owner)
	switch {
	case !known:
		return // a member of a version that does not say its broker: leave it
	case !live:
		// Dead: taken from the store in any case (a resumed session drops
		// its delayed will [MQTT-3.1.3-9]), published if due.
		tr, err := n.cli.Txn(ctx).If(unchanged...).Then(clientv3.OpDelete(wk)).Commit()
		n.stats.etcdWrites.Add(1)
		if err != nil || !tr.Succeeded {
			return // changed meanwhile: the adopter (or a CONNECT elsewhere) has it
		}
		if due {
			n.wg.Go(func() { n.publishTaken(c.ID, w) })
		}
	case due:
		lease := clientv3.LeaseID(n.lease.Load())
		if lease == 0 {
			return
		}
		ak := n.asideKey(owner, c.ID)
		tr, err := n.cli.Txn(ctx).If(unchanged...).
			Then(clientv3.OpPut(ak, string(raw), clientv3.WithLease(lease)), clientv3.OpDelete(wk)).
			Commit()
		n.stats.etcdWrites.Add(1)
		if err != nil || !tr.Succeeded {
			return
		}
		n.wg.Go(func() { n.decideAside(c.ID, owner, w, raw, ownerPublishes) })
	}
}

// liveBroker reports whether id is the broker of a live member or of this
// node; known is false when some member does not say its broker (a node
// of an older version), so that id may be its.
func (n *Node) liveBroker(id string) (live, known bool) {
	if id == n.b.ID() {
		return true, true
	}
	known = true
	for _, p := range n.allPeers() {
		switch p.m.Broker {
		case id:
			return true, true
		case "":
			known = false
		}
	}
	return false, known
}

// decideAside waits handoverWait, then drops or publishes the will of
// clientID moved aside from its connection to owner (see above);
// ownerPublishes says whether owner, alive, published it itself.
func (n *Node) decideAside(clientID, owner string, w *storage.Will, raw []byte, ownerPublishes bool) {
	t := time.NewTimer(n.handoverWait())
	defer t.Stop()
	select {
	case <-n.ctx.Done():
		return // the lease, revoked or expiring, takes the copy
	case <-t.C:
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
	defer cancel()
	ak, ck, wk := n.asideKey(owner, clientID), n.ownerKey(clientID), n.willKey(clientID)
	if live, _ := n.liveBroker(owner); live {
		// Alive. If the claim is still its own (the CONNECT here did not
		// go through), the will goes back where it was; else the copy is
		// dropped, and published if owner did not.
		tr, err := n.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.Value(ck), "=", owner), clientv3.Compare(clientv3.CreateRevision(wk), "=", 0)).
			Then(clientv3.OpPut(wk, string(raw)), clientv3.OpDelete(ak)).
			Else(clientv3.OpDelete(ak), clientv3.OpGet(ck)).
			Commit()
		n.stats.etcdWrites.Add(1)
		if err != nil {
			n.log.Warn("dropping a will moved aside", "client", clientID, "err", err)
			return
		}
		if tr.Succeeded || ownerPublishes {
			return
		}
		del, claim := tr.Responses[0].GetResponseDeleteRange(), tr.Responses[1].GetResponseRange()
		if del.Deleted > 0 && (len(claim.Kvs) == 0 || string(claim.Kvs[0].Value) != owner) {
			n.publishTaken(clientID, w)
		}
		return
	}
	tr, err := n.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(ak), ">", 0)).Then(clientv3.OpDelete(ak)).Commit()
	n.stats.etcdWrites.Add(1)
	if err != nil {
		n.log.Warn("taking a will moved aside", "client", clientID, "err", err)
		return
	}
	if tr.Succeeded {
		n.publishTaken(clientID, w)
	}
}

// publishTaken publishes a will this node took from etcd (it is the only
// one to publish it), as the host on behalf of its client: its origin, as
// for a will the broker publishes (No Local, hooks).
func (n *Node) publishTaken(clientID string, w *storage.Will) {
	m, err := willMessage(w)
	if err != nil {
		n.log.Warn("a stored will cannot be read", "client", clientID, "err", err)
		return
	}
	m.ClientID = clientID
	if _, err := n.b.PublishMessage(n.ctx, m); err != nil {
		n.log.Warn("publishing the will of a dead broker's client", "client", clientID, "err", err)
		return
	}
	n.log.Info("published the will of a dead broker's client", "client", clientID, "topic", m.Topic)
}

func (n *Node) willKey(clientID string) string {
	return n.cfg.StoragePrefix + "wills/" + url.PathEscape(clientID)
}

// asideKey is where willOnConnect keeps the will of clientID's connection
// to broker owner while it decides.
func (n *Node) asideKey(owner, clientID string) string {
	return n.key("wills/", owner, "/", url.PathEscape(clientID))
}
