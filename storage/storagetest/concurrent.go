package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/ternmq/broker/storage"
)

// testConcurrent drives every store from several goroutines at once; run
// under -race it finds unguarded state, and the end state must still be
// exact.
func testConcurrent(t *testing.T, s storage.Store) {
	const (
		workers = 4
		perWork = 60
	)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	models := make([][]*storage.Queued, workers)
	for w := range workers {
		// Each worker owns one client: queue, session, subscriptions, will.
		wg.Go(func() {
			id := fmt.Sprint("worker-", w)
			var model []*storage.Queued
			for i := range perWork {
				seq, err := s.Queues().Append(ctx, id, message(i))
				if err != nil {
					fail(err)
					return
				}
				model = append(model, queued(seq, i))
				switch i % 3 {
				case 1: // acknowledge the oldest
					if err := s.Queues().Remove(ctx, id, model[0].Seq); err != nil {
						fail(err)
						return
					}
					model = model[1:]
				case 2:
					q := model[len(model)-1]
					q.PacketID, q.State = uint16(i), storage.StateSent
					if err := s.Queues().Update(ctx, id, q); err != nil {
						fail(err)
						return
					}
				}
				if i%10 == 0 {
					st := session(i)
					st.ClientID = id
					if err := s.Sessions().Save(ctx, st); err != nil {
						fail(err)
					}
					if err := s.Subscriptions().Add(ctx, id, subscription(i)); err != nil {
						fail(err)
					}
					if err := s.Wills().Set(ctx, id, will(i)); err != nil {
						fail(err)
					}
				}
			}
			models[w] = model
		})
		// Writers share retained topics: last writer wins, no torn values.
		wg.Go(func() {
			for i := range perWork {
				m := message(i % 5)
				m.Payload = []byte(fmt.Sprintf("from %d: %d", w, i))
				if err := s.Retained().Set(ctx, m); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	// Shared queue: appends from several goroutines get distinct numbers.
	shared := make([][]uint64, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWork / 2 {
				seq, err := s.Queues().Append(ctx, "shared", message(i))
				if err != nil {
					fail(err)
					return
				}
				shared[w] = append(shared[w], seq)
			}
		})
	}
	// Readers range over everything meanwhile.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, err := range []error{
					s.Sessions().Range(ctx, func(*storage.Session) bool { return true }),
					s.Subscriptions().Range(ctx, func(string, storage.Subscription) bool { return true }),
					s.Retained().Range(ctx, func(*storage.Message) bool { return true }),
					s.Wills().Range(ctx, func(string, *storage.Will) bool { return true }),
					s.Queues().Range(ctx, "shared", func(*storage.Queued) bool { return true }),
					s.Queues().Range(ctx, "worker-0", func(*storage.Queued) bool { return true }),
				} {
					if err != nil {
						fail(err)
						return
					}
				}
				if _, err := s.Retained().Get(ctx, message(1).Topic); err != nil && !errors.Is(err, storage.ErrNotFound) {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent call: %v", err)
	}

	for w, model := range models {
		mustEqual(t, fmt.Sprint("queue of worker ", w), model, collectQueue(t, s, fmt.Sprint("worker-", w)))
	}
	var all []uint64
	for _, seqs := range shared {
		all = append(all, seqs...)
	}
	slices.Sort(all)
	var got []uint64
	for _, q := range collectQueue(t, s, "shared") {
		got = append(got, q.Seq)
	}
	mustEqual(t, "shared queue in seq order, every append once", all, got)
	mustEqual(t, "sessions", workers, len(collectSessions(t, s)))
	mustEqual(t, "wills", workers, len(collectWills(t, s)))
	mustEqual(t, "retained topics", 5, len(collectRetained(t, s)))
}
