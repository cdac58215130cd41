package cluster

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ternmq/broker"
)

// Cluster-wide counts for $SYS. Every StatsInterval each node puts a few
// of its broker's counters under its lease (stats/<id>: one put), reads
// every node's (one range) and keeps the sums, which its broker publishes
// with its own $SYS topics under $SYS/broker/cluster/ (broker.SysHook).
// Never per message: two etcd requests per node per interval. A node that
// died takes its entry with its lease; its counters since start (messages)
// leave the sums with it.

// nodeStats is one node's entry, the value of stats/<id>.
type nodeStats struct {
	Connected     int64 `json:"connected"`
	Sessions      int   `json:"sessions"`
	Subscriptions int   `json:"subscriptions"`
	Received      int64 `json:"received"` // messages received since the node started
	Sent          int64 `json:"sent"`     // messages delivered since the node started
}

// clusterSums are the sums over the nodes that reported.
type clusterSums struct {
	mu    sync.Mutex
	nodes int // 0: nothing gathered yet
	sum   nodeStats
}

// statsLoop reports and gathers the counters every StatsInterval.
func (n *Node) statsLoop() {
	t := time.NewTicker(n.cfg.StatsInterval)
	defer t.Stop()
	for {
		n.gatherStats()
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gatherStats puts this node's counters and sums every node's.
func (n *Node) gatherStats() {
	lease := clientv3.LeaseID(n.lease.Load())
	if lease == 0 {
		return // registering again: the entry would outlive the node
	}
	st := n.b.Stats()
	own, _ := json.Marshal(nodeStats{
		Connected: st.Connected, Sessions: st.Sessions, Subscriptions: st.Subscriptions,
		Received: st.MessagesReceived, Sent: st.MessagesDelivered,
	})
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
	defer cancel()
	_, err := n.cli.Put(ctx, n.key("stats/", n.cfg.NodeID), string(own), clientv3.WithLease(lease))
	n.stats.etcdWrites.Add(1)
	if err != nil {
		n.log.Debug("reporting node counters", "err", err)
		return
	}
	resp, err := n.cli.Get(ctx, n.key("stats/"), clientv3.WithPrefix())
	if err != nil {
		n.log.Debug("reading node counters", "err", err)
		return
	}
	var sum nodeStats
	nodes := 0
	for _, kv := range resp.Kvs {
		var ns nodeStats
		if json.Unmarshal(kv.Value, &ns) != nil {
			continue
		}
		nodes++
		sum.Connected += ns.Connected
		sum.Sessions += ns.Sessions
		sum.Subscriptions += ns.Subscriptions
		sum.Received += ns.Received
		sum.Sent += ns.Sent
	}
	n.sums.mu.Lock()
	n.sums.nodes, n.sums.sum = nodes, sum
	n.sums.mu.Unlock()
}

// SysValues implements broker.SysHook: the cluster-wide sums as last
// gathered, none before the first gathering.
func (n *Node) SysValues() []broker.SysValue {
	n.sums.mu.Lock()
	nodes, s := n.sums.nodes, n.sums.sum
	n.sums.mu.Unlock()
	if nodes == 0 {
		return nil
	}
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []broker.SysValue{
		{Topic: "$SYS/broker/cluster/nodes", Value: i(int64(nodes))},
		{Topic: "$SYS/broker/cluster/clients/connected", Value: i(s.Connected)},
		{Topic: "$SYS/broker/cluster/sessions/count", Value: i(int64(s.Sessions))},
		{Topic: "$SYS/broker/cluster/subscriptions/count", Value: i(int64(s.Subscriptions))},
		{Topic: "$SYS/broker/cluster/messages/received", Value: i(s.Received)},
		{Topic: "$SYS/broker/cluster/messages/sent", Value: i(s.Sent)},
	}
}
