package opcua

import (
	"sync"
	"time"

	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
)

// notifier tells OPC UA subscriptions about changed nodes, on a goroutine
// of its own so that neither the broker's delivery nor gopcua's service
// goroutine waits for a slow OPC UA client. Changes to one node between
// two rounds are merged (the monitored items then get the latest value,
// as with a queue size of 1).
//
// gopcua's own ChangeNotification blocks, holding the monitored item
// service's lock, while a subscription's queue (100 notifications) is
// full; notify here never blocks: a node whose notification does not fit
// is retried on the next round.
type notifier struct {
	srv *server.Server

	mu    sync.Mutex // guards dirty
	dirty map[string]*ua.NodeID
	kick  chan struct{}
	stop  chan struct{}
	done  chan struct{}

	retry time.Duration
}

func newNotifier(srv *server.Server) *notifier {
	return &notifier{
		srv:   srv,
		dirty: make(map[string]*ua.NodeID),
		kick:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		retry: 10 * time.Millisecond,
	}
}

// mark records that nid changed.
func (n *notifier) mark(nid *ua.NodeID) {
	n.mu.Lock()
	n.dirty[nid.String()] = nid
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// run notifies until close.
func (n *notifier) run() {
	defer close(n.done)
	var retry <-chan time.Time
	for {
		select {
		case <-n.stop:
			return
		case <-n.kick:
		case <-retry:
		}
		retry = nil
		n.mu.Lock()
		batch := n.dirty
		n.dirty = make(map[string]*ua.NodeID, len(batch))
		n.mu.Unlock()
		var again []*ua.NodeID
		for _, nid := range batch {
			if !n.notify(nid) {
				again = append(again, nid)
			}
		}
		if len(again) > 0 {
			n.mu.Lock()
			for _, nid := range again {
				if _, newer := n.dirty[nid.String()]; !newer {
					n.dirty[nid.String()] = nid
				}
			}
			n.mu.Unlock()
			retry = time.After(n.retry)
		}
	}
}

// close stops run and waits for it.
func (n *notifier) close() {
	close(n.stop)
	<-n.done
}

// notify queues nid's current value on every monitored item of it; false
// when some subscription's queue was full.
func (n *notifier) notify(nid *ua.NodeID) bool {
	mis := n.srv.MonitoredItemService
	ns, err := n.srv.Namespace(int(nid.Namespace()))
	if mis == nil || err != nil {
		return true
	}
	mis.Mu.Lock()
	defer mis.Mu.Unlock()
	ok := true
	for _, item := range mis.Nodes[nid.String()] {
		if item == nil || item.Sub == nil || item.Req == nil || item.Req.ItemToMonitor == nil || item.Req.RequestedParameters == nil {
			continue
		}
		val := &ua.MonitoredItemNotification{
			ClientHandle: item.Req.RequestedParameters.ClientHandle,
			Value:        ns.Attribute(nid, item.Req.ItemToMonitor.AttributeID),
		}
		select {
		case item.Sub.NotifyChannel <- val:
		default:
			ok = false
		}
	}
	return ok
}
