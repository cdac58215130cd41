package broker

import "time"

// Clock is the broker's source of time for what MQTT measures in seconds
// and minutes: session expiry, will delay and message expiry. A test can
// pass a fake one (brokertest.Clock) to advance those without waiting.
// Network deadlines (keep alive, connect and write timeouts) and rate
// limits always use the real time.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f on a goroutine of its own once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending call of Clock.AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not run, and reports whether it
	// did so.
	Stop() bool
}

// WithClock sets the clock of session expiry, will delay and message
// expiry (default: the system clock).
func WithClock(c Clock) Option {
	return func(b *Broker) {
		if c == nil {
			b.invalid("WithClock", "nil clock")
			return
		}
		b.clock = c
	}
}

// systemClock is the real time.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// now is the broker clock's time.
func (b *Broker) now() time.Time { return b.clock.Now() }
