package cluster

import (
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Retained messages. Setting one is forwarded to every node (OnPublish),
// which publishes it as retained: each node's in-memory index has it
// before the publisher is acknowledged (QoS 1/2), and each writes the same
// value to the shared store. Clearing one cannot go the same way: the
// first node to delete the key from the shared store succeeds, every later
// delete finds nothing, and the broker reports that as a storage failure
// (refusing the publish). So a clear is forwarded as a plain message to
// the nodes with matching routes, and every node drops the topic from its
// index when it sees the key deleted in etcd (Broker.DeleteRetained: the
// index entry goes, the delete in storage then finds nothing, which is
// ignored here). A clear is therefore seen by other nodes' new
// subscriptions a watch delay after it was acknowledged, not at once.

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
				if ev.Type == clientv3.EventTypeDelete {
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
