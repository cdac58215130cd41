package cluster

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
)

// Wills of a dead broker's clients. The broker stores the will of every
// connected client (storage/etcd wills/<client>); a cluster's brokers are
// built WithoutWillRestore, so that a restarted one does not publish at
// New every will of the shared store, also those of clients connected to
// the other, live, nodes. Each client's claim (owners/<client>) names the
// broker instance it is connected to (broker.Broker.ID). The wills of the
// clients of a broker that died are published by one node, once:
//
//   - a member that left: by the node that adopts its sessions (adopt.go),
//     for the clients whose claim names the member's broker;
//   - this node's own previous instances (a crash, then a restart): by
//     this node at Start, for the clients whose claim names one of the
//     instances brokers/<node id> lists (kept without a lease: those
//     whose wills a start has not all published yet, so that two crashes
//     in a row leave none behind).
//
// An etcd transaction deletes the will if the claim is unchanged, and only
// the node whose transaction succeeded publishes it [MQTT-3.1.2-8]: when
// both apply to the same instance (the node restarted just as its lease
// expired), the will is still published once. A will waits for its Will
// Delay Interval, cut short by the session's expiry [MQTT-3.1.3-9],
// counted from when it was found; a client that connected again meanwhile
// (its claim changed) has its will kept, unpublished [MQTT-3.1.3-9]. The
// will is published as the host on behalf of its client
// (Broker.PublishMessage with Message.ClientID), so the Authorizer is not
// asked again: the client was authenticated by the broker that died.

// publishWills publishes the stored wills of the clients of m, a member
// that died.
func (n *Node) publishWills(m Member) {
	if m.Broker == "" {
		return // a member of a version that did not say
	}
	n.publishWillsOf(m.Broker)
}

// publishWillsOf publishes the stored wills of the clients whose claim
// names owner, a broker instance that died, and returns once each is
// done: published, or left to its client, which came back; those with a
// Will Delay Interval after it. It reports whether every one is done
// (false when etcd failed, or the node stopped while a will waited).
func (n *Node) publishWillsOf(owner string) bool {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
	defer cancel()
	type found struct {
		id string
		w  *storage.Will
	}
	var all []found
	err := n.store.Wills().Range(ctx, func(id string, w *storage.Will) bool {
		all = append(all, found{id, w})
		return true
	})
	if err != nil {
		n.log.Warn("listing the wills of a dead broker's clients", "broker", owner, "err", err)
		return false
	}
	var ok atomic.Bool
	ok.Store(true)
	var wg sync.WaitGroup
	for _, f := range all {
		resp, err := n.cli.Get(ctx, n.ownerKey(f.id))
		if err != nil {
			n.log.Warn("reading a client claim", "client", f.id, "err", err)
			ok.Store(false)
			continue
		}
		if len(resp.Kvs) == 0 || string(resp.Kvs[0].Value) != owner {
			continue // a client of another broker, or connected again
		}
		delay := time.Duration(f.w.Delay) * time.Second
		if delay > 0 {
			st, err := n.store.Sessions().Get(ctx, f.id)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				delay = 0 // the session ended with the connection
			case err == nil && st.ExpiryInterval != 0xFFFFFFFF:
				delay = min(delay, time.Duration(st.ExpiryInterval)*time.Second)
			}
		}
		if delay == 0 {
			if !n.publishWill(f.id, owner, f.w) {
				ok.Store(false)
			}
			continue
		}
		wg.Go(func() {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-n.ctx.Done():
				ok.Store(false)
			case <-t.C:
				if !n.publishWill(f.id, owner, f.w) {
					ok.Store(false)
				}
			}
		})
	}
	wg.Wait()
	return ok.Load()
}

// publishWill takes clientID's will from the store, if its claim still
// names owner, and publishes it. It reports false when etcd failed (the
// will is still stored: a later try may publish it).
func (n *Node) publishWill(clientID, owner string, w *storage.Will) bool {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
	defer cancel()
	wk := n.willKey(clientID)
	resp, err := n.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(n.ownerKey(clientID)), "=", owner), clientv3.Compare(clientv3.CreateRevision(wk), ">", 0)).
		Then(clientv3.OpDelete(wk)).
		Commit()
	n.stats.etcdWrites.Add(1)
	if err != nil {
		n.log.Warn("taking a will", "client", clientID, "err", err)
		return false
	}
	if resp.Succeeded { // else connected again, or already published
		n.publishTaken(clientID, w) // taken from the store: not published twice
	}
	return true
}

func (n *Node) ownerKey(clientID string) string {
	return n.cfg.StoragePrefix + "owners/" + url.PathEscape(clientID)
}

// willMessage is a stored will as a message to publish: its Message Expiry
// Interval counts from now, its publication.
func willMessage(w *storage.Will) (*broker.Message, error) {
	m := &broker.Message{Topic: w.Topic, Payload: w.Payload, QoS: w.QoS, Retain: w.Retain}
	if len(w.Properties) == 0 {
		return m, nil
	}
	var p packets.Properties
	if _, err := p.Decode(w.Properties, packets.PUBLISH); err != nil {
		return nil, err
	}
	m.PayloadUTF8 = p.Present.Has(packets.PropPayloadFormat) && p.PayloadFormat == 1
	if p.Present.Has(packets.PropMessageExpiry) {
		m.Expiry = time.Duration(p.MessageExpiry) * time.Second
	}
	m.ContentType = string(p.ContentType)
	m.ResponseTopic = string(p.ResponseTopic)
	if p.Present.Has(packets.PropCorrelationData) {
		m.CorrelationData = append([]byte{}, p.CorrelationData...)
	}
	for _, u := range p.User {
		m.UserProperties = append(m.UserProperties, broker.UserProperty{Key: string(u.Key), Value: string(u.Value)})
	}
	return m, nil
}
