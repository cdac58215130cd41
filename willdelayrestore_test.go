package broker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/brokertest"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/memory"
)

// willRecorder is a WillHook that counts the wills published.
type willRecorder struct {
	mu   sync.Mutex
	msgs []*broker.Message
}

func (r *willRecorder) OnWillPublished(_ *broker.ClientInfo, m *broker.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

func (r *willRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// crashedWith runs a broker on a store, connects client "dev" with a will
// of the given Will Delay Interval and Session Expiry Interval, and returns
// a copy of the store as the broker left it with the client connected: a
// broker started on it finds what a crash would have left (the broker
// itself is then closed, on its own store).
func crashedWith(t *testing.T, willDelay, sessionExpiry uint32) storage.Store {
	t.Helper()
	ctx := context.Background()
	st := memory.New()
	b, addr := startBroker(t, broker.WithStorage(st))
	c := dialRaw(t, addr)
	p := connect5("dev", false)
	withExpiry(&p.Properties, sessionExpiry)
	p.WillFlag, p.WillQoS, p.WillTopic, p.WillPayload = true, 1, []byte("wills/dev"), []byte("gone")
	p.WillProperties.WillDelay = willDelay
	p.WillProperties.Present.Add(packets.PropWillDelay)
	c.connect(p, packets.Success)
	checkFor(t, 5*time.Second, func() error {
		if _, err := st.Wills().Get(ctx, "dev"); err != nil {
			return err
		}
		if _, err := st.Sessions().Get(ctx, "dev"); sessionExpiry > 0 && err != nil {
			return err
		}
		return nil
	})
	snap := memory.New()
	if err := st.Sessions().Range(ctx, func(s *storage.Session) bool {
		if err := snap.Sessions().Save(ctx, s); err != nil {
			t.Fatal(err)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Wills().Range(ctx, func(id string, w *storage.Will) bool {
		if err := snap.Wills().Set(ctx, id, w); err != nil {
			t.Fatal(err)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	return snap
}

// TestRestoredWillWaitsForItsDelay: a broker started on what a crash left
// publishes a restored will when its Will Delay Interval has passed
// (counted from the start), or when the client's session expires if that
// comes first, and not at all if the client resumes its session before
// [MQTT-3.1.3-9]; the will stays stored while it waits. Before, every
// restored will was published at New.
func TestRestoredWillWaitsForItsDelay(t *testing.T) {
	ctx := context.Background()
	stored := func(st storage.Store) bool {
		_, err := st.Wills().Get(ctx, "dev")
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	for _, tc := range []struct {
		name          string
		delay, expiry uint32
		resume        bool
		atNew         int           // wills published by New
		advance       time.Duration // then the clock moves this far
		after         int           // wills published by then
	}{
		{"published when the delay ends", 30, 300, false, 0, 30 * time.Second, 1},
		{"session expiry cuts the delay short", 30, 10, false, 0, 10 * time.Second, 1},
		{"not published when the session resumes first", 30, 300, true, 0, 30 * time.Second, 0},
		{"no delay: published at New", 0, 300, false, 1, time.Hour, 1},
		{"no session left: published at New", 30, 0, false, 1, time.Hour, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := crashedWith(t, tc.delay, tc.expiry)
			clk := brokertest.NewClock()
			rec := &willRecorder{}
			_, addr := startBroker(t, broker.WithStorage(st), broker.WithClock(clk), broker.WithHooks(rec))
			if got := rec.count(); got != tc.atNew {
				t.Fatalf("%d wills published at New, want %d", got, tc.atNew)
			}
			if tc.atNew == 0 {
				if !stored(st) {
					t.Error("the waiting will is not stored: another crash would lose it")
				}
				clk.Advance(tc.advance - time.Second)
				if got := rec.count(); got != 0 {
					t.Fatalf("%d wills published a second before their time", got)
				}
			}
			if tc.resume {
				c := dialRaw(t, addr)
				p := connect5("dev", false)
				withExpiry(&p.Properties, tc.expiry)
				if ack := c.connect(p, packets.Success); !ack.SessionPresent {
					t.Fatal("session not resumed")
				}
			}
			clk.Advance(time.Second)
			if tc.atNew == 0 {
				clk.Advance(tc.advance)
			}
			if got := rec.count(); got != tc.after {
				t.Errorf("%d wills published, want %d", got, tc.after)
			}
			// The broker forgets the will after it writes CONNACK: wait
			// for it rather than race it.
			checkFor(t, 5*time.Second, func() error {
				if stored(st) {
					return errors.New("the will is still stored")
				}
				return nil
			})
		})
	}
}

// TestDelayedWillKeepsNewConnectionsWill: a delayed will whose session a
// clean start discarded still goes out when its delay ends, and leaves
// the new connection's stored will alone (before, it deleted it: a crash
// afterwards lost the new connection's will).
func TestDelayedWillKeepsNewConnectionsWill(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	clk := brokertest.NewClock()
	rec := &willRecorder{}
	_, addr := startBroker(t, broker.WithStorage(st), broker.WithClock(clk), broker.WithHooks(rec))
	withWill := func(clean bool, payload string, delay uint32) *packets.Connect {
		p := connect5("dev", clean)
		withExpiry(&p.Properties, 300)
		p.WillFlag, p.WillQoS, p.WillTopic, p.WillPayload = true, 1, []byte("wills/dev"), []byte(payload)
		p.WillProperties.WillDelay = delay
		p.WillProperties.Present.Add(packets.PropWillDelay)
		return p
	}
	old := dialRaw(t, addr)
	old.connect(withWill(false, "old", 30), packets.Success)
	_ = old.NC.Close() // abnormally: the will waits for its delay
	checkFor(t, 5*time.Second, func() error {
		if clk.Pending() < 2 { // the session's expiry and the will's delay
			return errors.New("the will delay has not started")
		}
		return nil
	})
	fresh := dialRaw(t, addr)
	fresh.connect(withWill(true, "new", 0), packets.Success)
	clk.Advance(30 * time.Second)
	checkFor(t, 5*time.Second, func() error {
		if rec.count() != 1 {
			return errors.New("the old will was not published")
		}
		return nil
	})
	// The broker stores the new connection's will after it writes
	// CONNACK: wait for it rather than race it.
	checkFor(t, 5*time.Second, func() error {
		w, err := st.Wills().Get(ctx, "dev")
		if err != nil {
			return fmt.Errorf("the new connection's will is not stored: %v", err)
		}
		if string(w.Payload) != "new" {
			return fmt.Errorf("stored will %q, want the new connection's", w.Payload)
		}
		return nil
	})
}
