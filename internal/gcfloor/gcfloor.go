// Package gcfloor keeps the Go garbage collector from running many times a
// second while a small broker is busy, and gives the memory back once it is
// idle.
//
// The collector starts a cycle when the heap has grown by GOGC percent of
// what the last cycle found live. A broker's live heap is small (buffers
// and sessions: tens of MiB) while messages pass through it at hundreds of
// MiB per second, so with the default GOGC=100 it collects dozens of times
// a second, and each cycle's fixed costs (stacks, write barriers, assists)
// take 10 to 20 % of the CPU that routes messages. While the allocation
// rate is high, the floor raises GOGC so that the next cycle starts no
// sooner than at Floor bytes of heap (never lower than GOGC=100: a live
// heap above Floor/2 is collected as usual). When the rate falls, GOGC is
// restored and the heap returned to the system (debug.FreeOSMemory), so
// that idle connections cost what they cost without the floor.
//
// This is what tuners in other Go servers do (a heap floor, formerly a
// "ballast"); it changes a process-wide setting, so it belongs to the
// daemon, not to the library: a host that embeds the broker keeps its own
// GC settings.
package gcfloor

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Config says when the floor applies.
type Config struct {
	// Floor is the heap size, in bytes, below which no cycle starts while
	// busy.
	Floor uint64
	// Busy is the allocation rate (bytes per second) above which the
	// floor applies; Idle the rate below which, for a whole second, it is
	// lifted again. Idle is below Busy so that a rate near one bound does
	// not flip it.
	Busy, Idle uint64
	// Interval is how often the rate is measured and GOGC set again
	// (default 100 ms). GOGC scales what the last cycle found live: a
	// queue that fills between two settings raises the next goal by its
	// size times GOGC/100 until the next setting, so the heap can exceed
	// the floor by about what is allocated in one interval.
	Interval time.Duration
}

// DefaultConfig is the floor mqttd uses: 32 MiB while allocating more than
// 32 MiB/s (about 150,000 messages a second), lifted after a second under
// 4 MiB/s.
func DefaultConfig() Config {
	return Config{Floor: 32 << 20, Busy: 32 << 20, Idle: 4 << 20, Interval: 100 * time.Millisecond}
}

// Percent returns the GOGC that makes the next cycle start at floor bytes
// of heap when live bytes survived the last one, and never less than base.
func Percent(floor, live uint64, base int) int {
	if live == 0 || floor <= live {
		return base
	}
	p := int((floor - live) * 100 / live)
	return max(p, base)
}

// Run applies cfg until ctx is done, then restores GOGC. base is the GOGC
// to restore and the least it ever sets (100 unless the process set
// another).
func Run(ctx context.Context, cfg Config, base int) {
	if cfg.Interval <= 0 {
		cfg.Interval = 100 * time.Millisecond
	}
	quiet := int(max(time.Second/cfg.Interval, 1)) // intervals under Idle that lift the floor
	samples := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(samples)
	last, lastAt := samples[0].Value.Uint64(), time.Now()
	busy, calm, percent := false, 0, base
	defer func() {
		if busy {
			debug.SetGCPercent(base)
		}
	}()
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			metrics.Read(samples)
			allocs, live := samples[0].Value.Uint64(), samples[1].Value.Uint64()
			rate := uint64(float64(allocs-last) / now.Sub(lastAt).Seconds())
			last, lastAt = allocs, now
			if rate > cfg.Idle {
				calm = 0
			} else {
				calm++
			}
			switch {
			case rate >= cfg.Busy || (busy && calm < quiet):
				busy = true
				if p := Percent(cfg.Floor, live, base); p != percent {
					percent = p
					debug.SetGCPercent(p)
				}
			case busy:
				busy, percent = false, base
				debug.SetGCPercent(base)
				debug.FreeOSMemory()
			}
		}
	}
}
