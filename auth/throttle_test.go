package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth"
	"github.com/ternmq/broker/internal/authtest"
)

// TestThrottleSlowsRepeatedFailuresOverTCP: after the allowed failures
// from 127.0.0.1, the next CONNECT waits the delay before it is checked,
// right password or not; a success clears the address.
func TestThrottleSlowsRepeatedFailuresOverTCP(t *testing.T) {
	const delay = 300 * time.Millisecond
	chain, err := auth.NewChain([]auth.Member{{Name: "m", Authenticator: users{"ann": "right"}}},
		quiet, auth.WithThrottle(&auth.Throttle{After: 2, Delay: delay, MaxDelay: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	_, addr := authtest.StartTern(t, broker.WithAuthenticator(chain), broker.WithAuthorizer(chain))
	attempt := func(pw string) (time.Duration, error) {
		start := time.Now()
		c, _, err := authtest.Connect(authtest.V5, addr, authtest.Login{ClientID: "c", Username: "ann", Password: pw})
		if err == nil {
			c.Close()
		}
		return time.Since(start), err
	}
	// Durations are checked from below only: a loaded machine may make
	// any CONNECT slow, never a delayed one fast. Stats say which waited.
	for i := range 2 {
		if _, err := attempt("wrong"); !errors.Is(err, authtest.ErrRefused) {
			t.Fatalf("failure %d: %v, want refused", i+1, err)
		}
	}
	if s := chain.Stats(); s.Delayed != 0 {
		t.Fatalf("delayed within the allowance: %+v", s)
	}
	if d, err := attempt("wrong"); !errors.Is(err, authtest.ErrRefused) || d < delay {
		t.Fatalf("third failure: %v after %v, want refused after at least %v", err, d, delay)
	}
	if d, err := attempt("right"); err != nil || d < 2*delay {
		t.Fatalf("right password after 3 failures: %v after %v, want accepted after at least %v", err, d, 2*delay)
	}
	if _, err := attempt("right"); err != nil {
		t.Fatalf("after a success: %v, want accepted", err)
	}
	if s := chain.Stats(); s.Delayed != 2 || s.Refused != 3 || s.Accepted != 2 {
		t.Errorf("stats %+v, want 2 delayed, 3 refused, 2 accepted", s)
	}
}
