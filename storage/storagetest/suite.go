package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ternmq/broker/storage"
)

// Run runs the conformance suite. newStore returns a new, empty store for
// each sub-test; the suite closes it. Sub-tests run in parallel (a disk
// backend spends them waiting for fsync), so newStore must be safe to call
// from several goroutines.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	open := func(t *testing.T) storage.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	run(t, "Sessions", func(t *testing.T) { testSessions(t, open) })
	run(t, "Subscriptions", func(t *testing.T) { testSubscriptions(t, open) })
	run(t, "Retained", func(t *testing.T) { testRetained(t, open) })
	run(t, "Wills", func(t *testing.T) { testWills(t, open) })
	run(t, "Queues", func(t *testing.T) { testQueues(t, open) })
	run(t, "RangeCallbackMayCallStore", func(t *testing.T) { testReentrantRange(t, open(t)) })
	run(t, "Concurrent", func(t *testing.T) { testConcurrent(t, open(t)) })
	run(t, "CancelledContext", func(t *testing.T) { testCancelled(t, open(t)) })
	run(t, "Closed", func(t *testing.T) { testClosed(t, newStore(t)) })
	run(t, "Locker", func(t *testing.T) { testLocker(t, open) })
	run(t, "QueueBatcher", func(t *testing.T) { testQueueBatcher(t, open(t)) })
}

// many is how many items the Range tests store: more than one chunk of a
// backend that reads a chunk at a time (bolt reads 128, memory queues 64),
// so resuming after a chunk is tested too.
const many = 150

// run runs fn as a parallel sub-test.
func run(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		fn(t)
	})
}

// opener returns a new empty store that is closed when the test ends.
type opener = func(t *testing.T) storage.Store

// cmpOpts compare stored values: times by instant (a backend may drop the
// location and monotonic reading), empty slices equal to nil.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
}

// mustEqual fails the test if got differs from want.
func mustEqual(t testing.TB, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts); d != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// mustOK fails the test on a non-nil error.
func mustOK(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// mustBe fails the test unless errors.Is(err, want).
func mustBe(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// expiry is a non-zero expiry with nanoseconds and a zone, to catch
// encodings that truncate.
var expiry = time.Date(2031, 4, 5, 6, 7, 8, 123456789, time.FixedZone("X", 5400))

// message returns a distinct message for i, varying every field.
func message(i int) *storage.Message {
	m := &storage.Message{
		Topic:   fmt.Sprintf("sensors/%d/temp", i),
		Payload: []byte(fmt.Sprintf("payload %d", i)),
		QoS:     byte(i % 3),
		Retain:  i%2 == 0,
	}
	if i%3 == 1 {
		// A content type property (0x03) in wire form, length prefix first.
		m.Properties = []byte{6, 0x03, 0, 3, 'x', '/', byte('a' + i%26)}
	}
	if i%4 == 1 {
		m.Expiry = expiry.Add(time.Duration(i) * time.Second)
	}
	return m
}

// scribble overwrites every byte of b, as a caller reusing its buffer would.
func scribble(b []byte) {
	for i := range b {
		b[i] = 0xEE
	}
}
