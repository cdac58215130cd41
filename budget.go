package broker

import (
	"runtime/debug"
	"time"
)

// The broker-wide memory budget (Limits.MaxQueuedBytesTotal) bounds the
// messages held in every session's queue and in-flight window together.
// A watcher sums them a few times a second; while the sum is above the
// budget the broker sheds load rather than grow until the process is
// killed:
//   - new connections are refused (CONNACK 0x89 Server busy; 3.1.x: 3),
//     except those resuming a session, whose reading drains the backlog;
//   - QoS 1 and 2 PUBLISHes are refused: v5 gets PUBACK/PUBREC 0x97 Quota
//     exceeded, a 3.1.x client is disconnected without acknowledgement
//     (it sends again later), so nothing acknowledged is lost;
//   - QoS 0 deliveries to clients that already have a backlog are dropped
//     (DropMemoryBudget).
// Clients that read their messages bring the sum down and end the shedding.

// budgetInterval is how often the watcher sums what sessions hold.
const budgetInterval = 250 * time.Millisecond

// defaultBudget is half of GOMEMLIMIT when one is set, else half of the
// machine's memory, else 1 GiB.
func defaultBudget() int {
	if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < 1<<62 {
		return int(lim / 2)
	}
	if ram := totalRAM(); ram > 0 {
		return int(ram / 2)
	}
	return 1 << 30
}

// hasSession reports whether the broker holds a session for id.
func (b *Broker) hasSession(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.sessions[id]
	return ok
}

// budgetLoop watches the sum of queued and in-flight bytes until stop.
func (b *Broker) budgetLoop(stop <-chan struct{}) {
	t := time.NewTicker(budgetInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			b.checkBudget()
		}
	}
}

// checkBudget sums what sessions hold and sets the shedding state.
func (b *Broker) checkBudget() {
	b.mu.Lock()
	all := make([]*session, 0, len(b.sessions))
	for _, s := range b.sessions {
		all = append(all, s)
	}
	b.mu.Unlock()
	total := 0
	for _, s := range all {
		s.mu.Lock()
		total += s.queue.Bytes() + s.inflight.Bytes()
		s.mu.Unlock()
	}
	b.stats.heldBytes.Store(int64(total))
	over := total > b.limits.MaxQueuedBytesTotal
	if b.overBudget.Swap(over) != over {
		b.log.Warn("memory budget", "shedding", over, "held_bytes", total, "budget", b.limits.MaxQueuedBytesTotal)
	}
}
