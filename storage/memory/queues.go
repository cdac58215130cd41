package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/ternmq/broker/storage"
)

// queueStore is the Store seen as a storage.QueueStore.
type queueStore Store

// rangeChunk is how many entries Range copies out per lock acquisition.
const rangeChunk = 64

// queue is one client's outbound queue: a slice in sequence order with a
// moving head, since acknowledgements mostly remove the oldest entries.
// Removing from the middle leaves a tombstone; tombstones are compacted
// away once they are half the slice. Entries are immutable: Update
// replaces an entry's pointer, so Range can copy entries out without the
// lock.
type queue struct {
	// mu guards every field below.
	mu    sync.Mutex
	next  uint64 // last sequence number handed out
	items []slot // items[head:] in increasing seq order
	head  int
	dead  int // tombstones in items[head:]
}

// slot is one queue position; e is nil once the entry is removed.
type slot struct {
	seq uint64
	e   *storage.Queued
}

// find returns the index in q.items of the live entry seq, or -1.
func (q *queue) find(seq uint64) int {
	live := q.items[q.head:]
	i, ok := slices.BinarySearchFunc(live, seq, bySeq)
	if !ok || live[i].e == nil {
		return -1
	}
	return q.head + i
}

// remove turns entry i into a tombstone and reclaims space.
func (q *queue) remove(i int) {
	q.items[i].e = nil
	q.dead++
	for q.head < len(q.items) && q.items[q.head].e == nil {
		q.head++
		q.dead--
	}
	switch {
	case q.head == len(q.items):
		// Empty: reuse the array from its start.
		q.items, q.head, q.dead = q.items[:0], 0, 0
	case len(q.items) >= 32 && 2*(q.head+q.dead) > len(q.items):
		q.compact()
	}
}

// compact moves the live entries to the start of q.items.
func (q *queue) compact() {
	n := 0
	for _, s := range q.items[q.head:] {
		if s.e != nil {
			q.items[n] = s
			n++
		}
	}
	clear(q.items[n:])
	q.items, q.head, q.dead = q.items[:n], 0, 0
}

// bySeq orders a slot against a sequence number, for binary search.
func bySeq(s slot, seq uint64) int { return cmp.Compare(s.seq, seq) }

// queue returns the client's queue, nil if it has none. The caller holds
// s.qmu.
func (s *Store) queue(clientID string) *queue { return s.queues[clientID] }

// Append stores a copy of m at the tail of the client's queue.
func (qs *queueStore) Append(ctx context.Context, clientID string, m *storage.Message) (uint64, error) {
	s := (*Store)(qs)
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	e := &storage.Queued{Message: copyMessage(m)}
	for {
		s.qmu.RLock()
		if q := s.queue(clientID); q != nil {
			q.mu.Lock()
			q.next++
			e.Seq = q.next
			q.items = append(q.items, slot{e.Seq, e})
			q.mu.Unlock()
			s.qmu.RUnlock()
			return e.Seq, nil
		}
		s.qmu.RUnlock()
		s.qmu.Lock()
		if s.queues[clientID] == nil {
			s.queues[clientID] = &queue{next: s.floor}
		}
		s.qmu.Unlock()
	}
}

// Update stores q.PacketID and q.State in the entry q.Seq, or returns
// storage.ErrNotFound.
func (qs *queueStore) Update(ctx context.Context, clientID string, u *storage.Queued) error {
	s := (*Store)(qs)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	q := s.queue(clientID)
	if q == nil {
		return storage.ErrNotFound
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	i := q.find(u.Seq)
	if i < 0 {
		return storage.ErrNotFound
	}
	n := *q.items[i].e // shares the immutable payload
	n.PacketID, n.State = u.PacketID, u.State
	q.items[i].e = &n
	return nil
}

// Remove deletes the entry seq, or returns storage.ErrNotFound.
func (qs *queueStore) Remove(ctx context.Context, clientID string, seq uint64) error {
	s := (*Store)(qs)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	q := s.queue(clientID)
	if q == nil {
		return storage.ErrNotFound
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	i := q.find(seq)
	if i < 0 {
		return storage.ErrNotFound
	}
	q.remove(i)
	return nil
}

// Range calls fn with a copy of each of the client's entries in sequence
// order until fn returns false. It copies a few entries at a time under the
// queue's lock and calls fn without it, so it sees entries appended while
// it runs and fn may modify the queue.
func (qs *queueStore) Range(ctx context.Context, clientID string, fn func(*storage.Queued) bool) error {
	s := (*Store)(qs)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.qmu.RLock()
	q := s.queue(clientID)
	s.qmu.RUnlock()
	if q == nil {
		return nil
	}
	var (
		chunk [rangeChunk]*storage.Queued
		after uint64 // entries up to after were delivered
	)
	for {
		if err := s.check(ctx); err != nil {
			return err
		}
		q.mu.Lock()
		live := q.items[q.head:]
		i, _ := slices.BinarySearchFunc(live, after+1, bySeq)
		n := 0
		for ; i < len(live) && n < rangeChunk; i++ {
			if live[i].e != nil {
				chunk[n] = live[i].e
				n++
			}
		}
		q.mu.Unlock()
		for _, e := range chunk[:n] {
			c := *e
			c.Payload, c.Properties = copyBytes2(e.Payload, e.Properties)
			if !fn(&c) {
				return nil
			}
		}
		if n < rangeChunk {
			return nil
		}
		after = chunk[n-1].Seq
	}
}

// Clear deletes the client's queue. Its sequence numbers are remembered in
// s.floor, so a new queue for the client continues above them.
func (qs *queueStore) Clear(ctx context.Context, clientID string) error {
	s := (*Store)(qs)
	if err := s.check(ctx); err != nil {
		return err
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	q := s.queue(clientID)
	if q == nil {
		return nil
	}
	q.mu.Lock()
	s.floor = max(s.floor, q.next)
	q.mu.Unlock()
	delete(s.queues, clientID)
	return nil
}
