package broker

import "time"

// WithParkAfter sets how long a connection reads nothing before it is
// parked (park.go); 0 never parks. For tests, which cannot wait seconds.
func WithParkAfter(d time.Duration) Option {
	return func(b *Broker) { b.parkAfter = d }
}
