package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Routes. A route says "node N has subscribers for filter F": the key
// routes/<N>/<F> under the node's lease, written once whatever the number
// of local subscriptions to F (they are counted here, in localRoute), and
// deleted when the last one is gone for RouteGrace. Every node mirrors
// the others' routes into a trie fed by a watch.

// localRoute counts this node's subscriptions to one filter.
type localRoute struct {
	sessions  map[string]struct{} // client ids of MQTT sessions
	inproc    int                 // in-process subscriptions (broker.Client)
	committed bool                // the key is in etcd
	busy      chan struct{}       // a put or delete is in flight; closed when done
	zeroSince time.Time           // when it last had no subscription
}

func (lr *localRoute) refs() int { return len(lr.sessions) + lr.inproc }

// route returns the localRoute of filter, created if absent; n.rmu held.
func (n *Node) routeLocked(filter string) *localRoute {
	lr := n.local[filter]
	if lr == nil {
		lr = &localRoute{sessions: make(map[string]struct{}), zeroSince: time.Now()}
		n.local[filter] = lr
		if strings.HasPrefix(filter, "$share/") {
			n.lshared.Subscribe(filter, "", struct{}{})
		}
	}
	return lr
}

// dropRouteLocked forgets the localRoute of filter; n.rmu held.
func (n *Node) dropRouteLocked(filter string) {
	delete(n.local, filter)
	if strings.HasPrefix(filter, "$share/") {
		n.lshared.Unsubscribe(filter, "")
	}
}

// ensureRoute commits the route of filter to etcd if it is not there yet,
// then waits (at most SyncTimeout) until every other member confirms it
// applied it, so that a message published anywhere after it returns is
// forwarded here. It costs no etcd request when the route exists.
func (n *Node) ensureRoute(ctx context.Context, filter string) error {
	for {
		n.rmu.Lock()
		lr := n.routeLocked(filter)
		if lr.refs() == 0 {
			lr.zeroSince = time.Now() // keep it from the sweeper while it is taken
		}
		if lr.committed {
			n.rmu.Unlock()
			return nil
		}
		if busy := lr.busy; busy != nil {
			n.rmu.Unlock()
			select {
			case <-busy:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		busy := make(chan struct{})
		lr.busy = busy
		n.rmu.Unlock()

		rev, err := n.putRoute(ctx, filter)
		n.rmu.Lock()
		lr.busy = nil
		lr.committed = err == nil
		n.rmu.Unlock()
		close(busy)
		if err != nil {
			return err
		}
		n.syncPeers(ctx, rev)
		return nil
	}
}

func (n *Node) putRoute(ctx context.Context, filter string) (int64, error) {
	lease := clientv3.LeaseID(n.lease.Load())
	if lease == 0 {
		return 0, fmt.Errorf("cluster: no lease (not registered)")
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.EtcdTimeout)
	defer cancel()
	resp, err := n.cli.Put(ctx, n.key("routes/", n.cfg.NodeID, "/", filter), "", clientv3.WithLease(lease))
	n.stats.etcdWrites.Add(1)
	if err != nil {
		return 0, fmt.Errorf("cluster: committing route %q: %w", filter, err)
	}
	return resp.Header.Revision, nil
}

// reputRoutes writes every committed route again under a new lease.
func (n *Node) reputRoutes() {
	n.rmu.Lock()
	var fs []string
	for f, lr := range n.local {
		if lr.committed {
			fs = append(fs, f)
		}
	}
	n.rmu.Unlock()
	for _, f := range fs {
		if _, err := n.putRoute(n.ctx, f); err != nil {
			n.log.Warn("restoring route", "filter", f, "err", err)
		}
	}
}

// syncPeers asks every connected member to confirm it applied routes up to
// rev; it gives up on a member after SyncTimeout (the route reaches it
// through its watch all the same, a little later).
func (n *Node) syncPeers(ctx context.Context, rev int64) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.SyncTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range n.allPeers() {
		if !p.isUp() {
			continue
		}
		wg.Go(func() {
			if err := p.sync(ctx, rev); err != nil {
				n.log.Debug("route sync", "peer", p.m.ID, "err", err)
			}
		})
	}
	wg.Wait()
}

// sweepLoop reconciles dirty sessions and deletes unused routes.
func (n *Node) sweepLoop() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		n.sweepDirty()
		n.sweepRoutes()
	}
}

// sweepRoutes deletes the routes that had no subscription for RouteGrace.
func (n *Node) sweepRoutes() {
	now := time.Now()
	type del struct {
		f    string
		lr   *localRoute
		busy chan struct{}
	}
	var dels []del
	n.rmu.Lock()
	for f, lr := range n.local {
		if lr.refs() > 0 || lr.busy != nil || now.Sub(lr.zeroSince) < n.cfg.RouteGrace {
			continue
		}
		if !lr.committed {
			n.dropRouteLocked(f)
			continue
		}
		b := make(chan struct{})
		lr.busy = b
		dels = append(dels, del{f, lr, b})
	}
	n.rmu.Unlock()
	for _, d := range dels {
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
		_, err := n.cli.Delete(ctx, n.key("routes/", n.cfg.NodeID, "/", d.f))
		cancel()
		n.stats.etcdWrites.Add(1)
		n.rmu.Lock()
		d.lr.busy = nil
		if err == nil {
			d.lr.committed = false
			if d.lr.refs() == 0 && n.local[d.f] == d.lr {
				n.dropRouteLocked(d.f)
			}
		}
		n.rmu.Unlock()
		close(d.busy)
	}
}

// loadRoutes reads the other nodes' routes and watches them.
func (n *Node) loadRoutes(ctx context.Context) error {
	var rev int64
	if err := n.relistRoutes(ctx, &rev); err != nil {
		return fmt.Errorf("cluster: reading routes: %w", err)
	}
	n.wg.Go(func() { n.watchRoutes(rev) })
	return nil
}

func (n *Node) relistRoutes(ctx context.Context, rev *int64) error {
	prefix := n.key("routes/")
	resp, err := n.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return err
	}
	want := make(map[string]map[string]struct{})
	for _, kv := range resp.Kvs {
		node, filter, ok := n.parseRoute(string(kv.Key), prefix)
		if !ok {
			continue
		}
		if want[node] == nil {
			want[node] = make(map[string]struct{})
		}
		want[node][filter] = struct{}{}
	}
	n.remMu.Lock()
	for node, fs := range n.remoteSet {
		for f := range fs {
			if _, ok := want[node][f]; !ok {
				n.remote.Unsubscribe(f, node)
			}
		}
	}
	for node, fs := range want {
		for f := range fs {
			n.remote.Subscribe(f, node, struct{}{})
		}
	}
	n.remoteSet = want
	n.remMu.Unlock()
	*rev = resp.Header.Revision + 1
	n.advance(resp.Header.Revision)
	return nil
}

func (n *Node) watchRoutes(rev int64) {
	prefix := n.key("routes/")
	for n.ctx.Err() == nil {
		wc := n.cli.Watch(clientv3.WithRequireLeader(n.ctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(rev), clientv3.WithKeysOnly())
		for resp := range wc {
			if err := resp.Err(); err != nil {
				n.log.Warn("watching routes", "err", err)
				break
			}
			n.remMu.Lock()
			for _, ev := range resp.Events {
				node, filter, ok := n.parseRoute(string(ev.Kv.Key), prefix)
				if !ok {
					continue
				}
				if ev.Type == clientv3.EventTypeDelete {
					if fs := n.remoteSet[node]; fs != nil {
						delete(fs, filter)
						if len(fs) == 0 {
							delete(n.remoteSet, node)
						}
					}
					n.remote.Unsubscribe(filter, node)
				} else {
					if n.remoteSet[node] == nil {
						n.remoteSet[node] = make(map[string]struct{})
					}
					n.remoteSet[node][filter] = struct{}{}
					n.remote.Subscribe(filter, node, struct{}{})
				}
			}
			n.remMu.Unlock()
			rev = resp.Header.Revision + 1
			n.advance(resp.Header.Revision)
		}
		if n.ctx.Err() != nil {
			return
		}
		// Lost the watch (compaction, no leader): list again, keeping the
		// last known routes meanwhile.
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(jitter(200 * time.Millisecond)):
		}
		lctx, cancel := context.WithTimeout(n.ctx, n.cfg.EtcdTimeout)
		if err := n.relistRoutes(lctx, &rev); err != nil && n.ctx.Err() == nil {
			n.log.Warn("listing routes", "err", err)
		}
		cancel()
	}
}

// parseRoute splits routes/<node>/<filter>; this node's own are skipped.
func (n *Node) parseRoute(key, prefix string) (node, filter string, ok bool) {
	node, filter, ok = strings.Cut(strings.TrimPrefix(key, prefix), "/")
	return node, filter, ok && node != n.cfg.NodeID && filter != ""
}

// advance records that routes up to rev are applied.
func (n *Node) advance(rev int64) {
	n.revMu.Lock()
	if rev > n.applied {
		n.applied = rev
		close(n.revCh)
		n.revCh = make(chan struct{})
	}
	n.revMu.Unlock()
}

// waitApplied waits until routes up to rev are applied, or ctx is done.
func (n *Node) waitApplied(ctx context.Context, rev int64) error {
	for {
		n.revMu.Lock()
		applied, ch := n.applied, n.revCh
		n.revMu.Unlock()
		if applied >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
