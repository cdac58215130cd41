package auth

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ternmq/broker"
)

// Throttle slows down addresses that keep failing to authenticate. After
// After failures from one IP address, each new attempt from it waits
// Delay before its credentials are checked, doubling with every further
// failure up to MaxDelay; a success, or Forget without a failure, clears
// the address. An attempt whose connect deadline would pass while waiting
// is refused at once (Server busy, 0x89; 3.1.1 return code 3) instead.
//
// Waiting holds the connection open, not a check: an attacker's parallel
// connections all wait. At most MaxAddresses addresses are remembered;
// when full, the oldest idle ones are forgotten first.
type Throttle struct {
	After        int           // failures allowed before slowing down (default 5)
	Delay        time.Duration // first delay (default 1s)
	MaxDelay     time.Duration // longest delay (default 30s)
	Forget       time.Duration // an address without a failure for this long starts afresh (default 10m)
	MaxAddresses int           // addresses remembered (default 100000, about 10 MB)

	now   func() time.Time // replaced by tests
	sleep func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	addrs map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

// errDeadline: the delay would outlast the connection's deadline.
var errDeadline = errors.New("auth: throttled past the connect deadline")

func (t *Throttle) init() {
	if t.addrs != nil {
		return
	}
	t.addrs = make(map[string]*failures)
	if t.After <= 0 {
		t.After = 5
	}
	if t.Delay <= 0 {
		t.Delay = time.Second
	}
	if t.MaxDelay < t.Delay {
		t.MaxDelay = max(30*time.Second, t.Delay)
	}
	if t.Forget <= 0 {
		t.Forget = 10 * time.Minute
	}
	if t.MaxAddresses <= 0 {
		t.MaxAddresses = 100000
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.sleep == nil {
		t.sleep = sleepCtx
	}
}

// delay is how long an attempt from addr must wait now.
func (t *Throttle) delay(addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	f := t.addrs[addr]
	if f == nil {
		return 0
	}
	if t.now().Sub(f.last) > t.Forget {
		delete(t.addrs, addr)
		return 0
	}
	if f.n < t.After {
		return 0
	}
	d := t.Delay
	for i := t.After; i < f.n && d < t.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.MaxDelay)
}

// Wait blocks as long as addr must wait before an attempt; it returns the
// wait imposed and an error when ctx ends (or would end) first.
func (t *Throttle) Wait(ctx context.Context, addr string) (time.Duration, error) {
	d := t.delay(addr)
	if d == 0 {
		return 0, nil
	}
	if dl, ok := ctx.Deadline(); ok && t.now().Add(d).After(dl) {
		return d, errDeadline
	}
	return d, t.sleep(ctx, d)
}

// Failure records a failed attempt from addr.
func (t *Throttle) Failure(addr string) {
	if addr == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	now := t.now()
	f := t.addrs[addr]
	if f == nil || now.Sub(f.last) > t.Forget {
		if f == nil && len(t.addrs) >= t.MaxAddresses {
			t.evictLocked(now)
		}
		f = &failures{}
		t.addrs[addr] = f
	}
	f.n++
	f.last = now
}

// Success clears addr.
func (t *Throttle) Success(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.addrs, addr)
}

// evictLocked makes room: it drops the addresses idle past Forget, or the
// least recently failing tenth if none is.
func (t *Throttle) evictLocked(now time.Time) {
	for a, f := range t.addrs {
		if now.Sub(f.last) > t.Forget {
			delete(t.addrs, a)
		}
	}
	if len(t.addrs) < t.MaxAddresses {
		return
	}
	oldest := now
	for _, f := range t.addrs {
		if f.last.Before(oldest) {
			oldest = f.last
		}
	}
	cut := oldest.Add(now.Sub(oldest) / 10)
	for a, f := range t.addrs {
		if !f.last.After(cut) {
			delete(t.addrs, a)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hostOf is the IP address of a client, without its port ("" for
// in-process clients).
func hostOf(cr *broker.Credentials) string {
	if cr.Remote == nil {
		return ""
	}
	if ta, ok := cr.Remote.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap().String()
		}
	}
	s := cr.Remote.String()
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}
