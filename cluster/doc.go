// Package cluster makes several Tern brokers on one etcd act as one
// broker: a message published on any node reaches the subscribers of
// every node, retained messages are set on every node, and a client may
// connect to any node and resume its session there.
//
//	node, err := cluster.New(cluster.Config{NodeID: "a", LinkAddress: ":7946", Endpoints: eps})
//	b, err := broker.New(broker.WithStorage(etcdStore), broker.WithHooks(node), broker.WithoutWillRestore())
//	err = node.Start(ctx, b) // before b.Start
//	err = b.Start(ctx)
//	defer b.Shutdown(ctx)    // leaves the cluster (LifecycleHook)
//
// It is an optional package: a single-node embedding does not import it.
// It plugs into the broker through its public hooks only (publish,
// subscribe, session, disconnect, lifecycle, $SYS) and publishes what other
// nodes forward through Broker.PublishForwarded (the PublishHooks run on the
// publisher's node only). docs/cluster.md describes
// the design, its guarantees and a capacity model.
//
// # etcd
//
// etcd coordinates and is never on the per-message path. Under Prefix:
//
//	nodes/<id>              a member: {id, addr, version, started, broker}, under the node's lease
//	routes/<id>/<filter>    node <id> has subscribers for <filter>, under its lease
//	held/<client>           the node holding the client's persistent session (no lease)
//	brokers/<id>            node <id>'s broker instances whose wills are not all published, the current last (no lease)
//	stats/<id>              node <id>'s broker counters, for $SYS/broker/cluster/, under its lease
//	wills/<broker>/<client> a will moved aside by the node a client reconnected to, while it learns whether broker died (under that node's lease)
//
// and the node watches storage/etcd's client claims (owners/<client>
// under StoragePrefix). A route is written when a node gets its first
// subscription to a filter and deleted some time after its last one:
// 10,000 clients on one filter make one key. A node whose lease expires
// (DefaultLeaseTTL after it stopped renewing) disappears with its routes.
//
// # Node links
//
// Each node dials every other member once (TCP, TLS optional) and sends
// length-prefixed binary frames (frame.go): messages, route syncs, and
// acks back. A writer goroutine batches queued frames into one write;
// the receiving side publishes with a pool of workers, the messages of
// one publisher always on the same worker, so their order is kept.
//
// # Lock order
//
// Node.rmu (local routes) may be held while calling Broker.Session, which
// takes broker locks; the broker calls hooks under no lock, so this cannot
// deadlock. remMu, pmu, revMu, inMu and peer.mu are leaves: nothing is
// called while they are held except the topics trie (itself a leaf).
package cluster
