package cluster

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// Deadlines of forwards. A QoS 1/2 forward waits for its ack at most
// Config.ForwardTimeout. A context.WithTimeout per message (a timer, a
// context and a goroutine-safe cancel) cost 4 % of a cluster's CPU in a
// QoS 1 pairs run; instead, every waiter watches the node's coarse clock,
// a channel closed every tickEvery, and looks at the time when it closes.
// A forward therefore gives up between ForwardTimeout and ForwardTimeout
// + tickEvery.

// tickEvery is the resolution of forward deadlines.
const tickEvery = 50 * time.Millisecond

// errForwardTimeout is a forward not acknowledged within ForwardTimeout.
var errForwardTimeout = fmt.Errorf("cluster: forward not acknowledged in time: %w", context.DeadlineExceeded)

// coarseClock is a channel closed at every tick, replaced by a new one.
type coarseClock struct {
	ch atomic.Pointer[chan struct{}]
}

// next returns the channel closed at the next tick.
func (c *coarseClock) next() <-chan struct{} {
	if ch := c.ch.Load(); ch != nil {
		return *ch
	}
	ch := make(chan struct{})
	if c.ch.CompareAndSwap(nil, &ch) {
		return ch
	}
	return *c.ch.Load()
}

// run ticks until ctx is done.
func (c *coarseClock) run(ctx context.Context) {
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ch := make(chan struct{})
			if old := c.ch.Swap(&ch); old != nil {
				close(*old)
			}
		}
	}
}
