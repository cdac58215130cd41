package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/ternmq/broker/storage"
)

// readyKey is the session Ready reads: no client identifier from a CONNECT
// is looked up by this name, so the read finds nothing, quickly, on every
// backend.
const readyKey = "$tern/ready"

// Ready reports whether the broker can serve clients: nil when it has
// started and is not shutting down, every listener is accepting (its
// Serve is running, and it reports no new accept errors such as running
// out of file descriptors since the last call), and storage answers a read
// within ctx. Otherwise the error names each problem. mqttd serves it on
// /readyz.
func (b *Broker) Ready(ctx context.Context) error {
	if !b.started.Load() {
		return errors.New("not started")
	}
	if b.isClosing() {
		return errors.New("shutting down")
	}
	var problems []error
	for i, l := range b.listeners {
		if !b.serving[i].Load() {
			problems = append(problems, fmt.Errorf("listener %s: not accepting", l.Name()))
		}
		if ae, ok := l.(interface{ AcceptErrors() uint64 }); ok {
			n := ae.AcceptErrors()
			if last := b.acceptErrs[i].Swap(n); n > last {
				problems = append(problems, fmt.Errorf("listener %s: %d accept errors since the last check (out of file descriptors?)", l.Name(), n-last))
			}
		}
	}
	if _, err := b.store.Sessions().Get(ctx, readyKey); err != nil && !errors.Is(err, storage.ErrNotFound) {
		problems = append(problems, fmt.Errorf("storage: %w", err))
	}
	return errors.Join(problems...)
}
