package cluster

import (
	"context"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Retained messages. Setting or clearing one is forwarded to every node
// (OnPublish), which publishes it as retained: each node's in-memory index
// has the change before the publisher is acknowledged (QoS 1/2). Only the
// publisher's node writes the shared store (or deletes the key): the
// others publish it with broker.Message.RetainStored, index only (see
// server.go).
//
// Every node also drops from its index a topic whose key it sees deleted
// in etcd: what Broker.DeleteRetained on another node did, or a QoS 0
// clear dropped on a full link. It asks etcd first whether the key is
// still gone, so that a delete event seen late does not undo a set that
// came after it.

// watchRetained drops from the local index the retained messages deleted
// from the shared store.
func (n *Node) watchRetained() {
	prefix := n.cfg.StoragePrefix + "retained/"
	for n.ctx.Err() == nil {
		wc := n.cli.Watch(clientv3.WithRequireLeader(n.ctx), prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithFilterPut())
		for resp := range wc {
			if resp.Err() != nil {
				break
			}
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete && n.stillDeleted(string(ev.Kv.Key)) {
					_ = n.b.DeleteRetained(strings.TrimPrefix(string(ev.Kv.Key), prefix))
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

// stillDeleted reports whether key is absent from etcd now (true when
// etcd cannot tell: the delete was seen).
func (n *Node) stillDeleted(key string) bool {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
	defer cancel()
	resp, err := n.cli.Get(ctx, key, clientv3.WithCountOnly())
	return err != nil || resp.Count == 0
}
