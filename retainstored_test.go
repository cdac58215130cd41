package broker_test

import (
	"context"
	"sync"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/internal/storewrap"
	"github.com/ternmq/broker/storage/memory"
)

// TestRetainStoredUpdatesTheIndexOnly: a retained message the host marks
// as already in the shared store (Message.RetainStored: another broker on
// the store set it) is set and cleared in the broker's index, returned to
// a subscriber [MQTT-3.3.1-6], and not written to the store again; an
// ordinary retained publish still is.
func TestRetainStoredUpdatesTheIndexOnly(t *testing.T) {
	var mu sync.Mutex
	writes := map[string]int{}
	st := storewrap.Wrap(memory.New(), func(ctx context.Context, op string, call func() error) error {
		mu.Lock()
		writes[op]++
		mu.Unlock()
		return call()
	})
	b, _ := startBroker(t, broker.WithStorage(st))
	count := func(op string) int { mu.Lock(); defer mu.Unlock(); return writes[op] }
	ctx := t.Context()

	if _, err := b.PublishMessage(ctx, &broker.Message{Topic: "r/a", Payload: []byte("v"), QoS: 1, Retain: true, RetainStored: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Retained("r/#"); err != nil || len(got) != 1 || string(got[0].Payload) != "v" {
		t.Fatalf("retained index: %v, %v; want r/a", got, err)
	}
	if n := count("retained_set"); n != 0 {
		t.Fatalf("%d retained_set calls for a message marked RetainStored, want 0", n)
	}
	if _, err := b.PublishMessage(ctx, &broker.Message{Topic: "r/a", QoS: 1, Retain: true, RetainStored: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Retained("r/#"); len(got) != 0 {
		t.Fatalf("after an index-only clear: %d retained, want 0", len(got))
	}
	if n := count("retained_delete"); n != 0 {
		t.Fatalf("%d retained_delete calls for a clear marked RetainStored, want 0", n)
	}

	if _, err := b.PublishMessage(ctx, &broker.Message{Topic: "r/b", Payload: []byte("w"), Retain: true}); err != nil {
		t.Fatal(err)
	}
	if n := count("retained_set"); n != 1 {
		t.Fatalf("%d retained_set calls for an ordinary retained publish, want 1", n)
	}
}
