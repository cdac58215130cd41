package auth

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// clock is a fake time for Throttle.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestThrottle(c *clock, slept *[]time.Duration) *Throttle {
	t := &Throttle{After: 3, Delay: time.Second, MaxDelay: 8 * time.Second, Forget: time.Minute, MaxAddresses: 4}
	t.now = c.now
	t.sleep = func(_ context.Context, d time.Duration) error { *slept = append(*slept, d); return nil }
	return t
}

// TestThrottleDelaysDoubleAfterTheAllowance: After failures are free,
// then Delay doubling to MaxDelay; a success clears the address; other
// addresses are not affected.
func TestThrottleDelaysDoubleAfterTheAllowance(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var slept []time.Duration
	th := newTestThrottle(c, &slept)
	var delays []time.Duration
	for range 8 {
		d, err := th.Wait(context.Background(), "a")
		if err != nil {
			t.Fatal(err)
		}
		delays = append(delays, d)
		th.Failure("a")
	}
	want := []time.Duration{0, 0, 0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	if fmt.Sprint(delays) != fmt.Sprint(want) {
		t.Errorf("delays %v, want %v", delays, want)
	}
	if d, _ := th.Wait(context.Background(), "b"); d != 0 {
		t.Errorf("another address waits %v", d)
	}
	th.Success("a")
	if d, _ := th.Wait(context.Background(), "a"); d != 0 {
		t.Errorf("after a success: %v", d)
	}
}

// TestThrottleForgets: an address idle past Forget starts afresh.
func TestThrottleForgets(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var slept []time.Duration
	th := newTestThrottle(c, &slept)
	for range 5 {
		th.Failure("a")
	}
	if d, _ := th.Wait(context.Background(), "a"); d == 0 {
		t.Fatal("not delayed")
	}
	c.t = c.t.Add(2 * time.Minute)
	if d, _ := th.Wait(context.Background(), "a"); d != 0 {
		t.Errorf("still delayed %v after Forget", d)
	}
}

// TestThrottleRefusesWhatTheDeadlineCannotWaitFor: a wait longer than the
// connect deadline is refused at once, without sleeping.
func TestThrottleRefusesWhatTheDeadlineCannotWaitFor(t *testing.T) {
	c := &clock{t: time.Now()}
	var slept []time.Duration
	th := newTestThrottle(c, &slept)
	for range 6 {
		th.Failure("a")
	}
	ctx, cancel := context.WithDeadline(context.Background(), c.t.Add(500*time.Millisecond))
	defer cancel()
	if _, err := th.Wait(ctx, "a"); err == nil {
		t.Fatal("no error")
	}
	if len(slept) != 0 {
		t.Errorf("slept %v", slept)
	}
}

// TestThrottleIsBounded: never more than MaxAddresses remembered.
func TestThrottleIsBounded(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var slept []time.Duration
	th := newTestThrottle(c, &slept)
	for i := range 50 {
		c.t = c.t.Add(time.Second)
		th.Failure(fmt.Sprint("addr", i))
		if n := len(th.addrs); n > th.MaxAddresses {
			t.Fatalf("%d addresses remembered, max %d", n, th.MaxAddresses)
		}
	}
	if _, ok := th.addrs["addr49"]; !ok {
		t.Error("the newest address was evicted")
	}
}
