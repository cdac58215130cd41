package broker_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/memory"
)

// TestWillRestore: New publishes the wills it finds in storage (clients
// connected when the broker stopped without tearing them down
// [MQTT-3.1.2-8]) and deletes them; with WithoutWillRestore it leaves
// them stored and unpublished, for the host (a cluster node) to publish
// those of its own previous clients.
func TestWillRestore(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       []broker.Option
		wantQueued int  // the will, queued for a restored subscriber
		wantStored bool // the will still in storage after New
	}{
		{"default publishes", nil, 1, false},
		{"WithoutWillRestore leaves them", []broker.Option{broker.WithoutWillRestore()}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := memory.New()
			if err := st.Sessions().Save(ctx, &storage.Session{ClientID: "watch", Version: 5, ExpiryInterval: 300}); err != nil {
				t.Fatal(err)
			}
			if err := st.Subscriptions().Add(ctx, "watch", storage.Subscription{Filter: "wills/#", QoS: 1}); err != nil {
				t.Fatal(err)
			}
			w := &storage.Will{Message: storage.Message{Topic: "wills/gone", Payload: []byte("gone"), QoS: 1}}
			if err := st.Wills().Set(ctx, "gone", w); err != nil {
				t.Fatal(err)
			}
			b, err := broker.New(append([]broker.Option{broker.WithStorage(st), broker.WithLogger(quietLogger())}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ss, ok := b.Session("watch")
			if !ok {
				t.Fatal("the stored session was not restored")
			}
			if ss.Queued != tc.wantQueued {
				t.Errorf("%d messages queued for the restored subscriber, want %d", ss.Queued, tc.wantQueued)
			}
			_, err = st.Wills().Get(ctx, "gone")
			if stored := err == nil; stored != tc.wantStored {
				t.Errorf("will still stored: %v (%v), want %v", stored, err, tc.wantStored)
			}
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("reading the will: %v", err)
			}
		})
	}
}
