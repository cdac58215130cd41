package broker

import (
	"sync"
	"time"
)

// rate is a token bucket: up to perSecond events per second, with a burst
// of one second's worth.
type rate struct {
	mu        sync.Mutex // guards tokens and last; uncontended for per-client buckets
	perSecond float64
	tokens    float64
	last      time.Time
}

func newRate(perSecond int) *rate {
	if perSecond <= 0 {
		return nil
	}
	return &rate{perSecond: float64(perSecond), tokens: float64(perSecond), last: time.Now()}
}

// allow takes a token; a nil rate always allows.
func (r *rate) allow(now time.Time) bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = min(r.perSecond, r.tokens+now.Sub(r.last).Seconds()*r.perSecond)
	r.last = now
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}
