package gcfloor

import (
	"context"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		name        string
		floor, live uint64
		base, want  int
	}{
		{"small live heap: next cycle at the floor", 64 << 20, 8 << 20, 100, 700},
		{"live heap at half the floor: as usual", 64 << 20, 32 << 20, 100, 100},
		{"live heap above the floor", 64 << 20, 100 << 20, 100, 100},
		{"never below the base", 64 << 20, 16 << 20, 400, 400},
		{"nothing measured yet", 64 << 20, 0, 100, 100},
	} {
		if got := Percent(tc.floor, tc.live, tc.base); got != tc.want {
			t.Errorf("%s: Percent(%d, %d, %d) = %d, want %d", tc.name, tc.floor, tc.live, tc.base, got, tc.want)
		}
	}
}

func gogc() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

var sink []byte

// TestRaisedWhileAllocatingRestoredWhenIdle runs the floor against this
// process: GOGC rises while the test allocates fast and is 100 again once
// it stops.
func TestRaisedWhileAllocatingRestoredWhenIdle(t *testing.T) {
	if g := gogc(); g != 100 {
		t.Skipf("GOGC is %d in this process", g)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, Config{Floor: 1 << 30, Busy: 64 << 20, Idle: 8 << 20, Interval: 50 * time.Millisecond}, 100)
	}()
	defer func() { cancel(); <-done }()

	raised := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !raised; {
		for range 1000 {
			sink = make([]byte, 16<<10) // far above 64 MiB/s
		}
		raised = gogc() > 100
	}
	if !raised {
		t.Fatal("GOGC still 100 while allocating")
	}
	sink = nil
	restored := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !restored; {
		time.Sleep(20 * time.Millisecond)
		restored = gogc() == 100
	}
	if !restored {
		t.Fatalf("GOGC %d after the allocation stopped, want 100", gogc())
	}
	cancel()
	<-done
	if g := gogc(); g != 100 {
		t.Fatalf("GOGC %d after Run returned, want 100", g)
	}
}
