package bolt

import (
	"fmt"
	"time"
)

// SyncMode says when a write reaches the disk; see the package comment.
type SyncMode int

const (
	// SyncAlways fsyncs every write transaction before the call returns.
	SyncAlways SyncMode = iota
	// SyncBatch groups concurrent writes into one fsynced transaction; each
	// call returns once its group is on disk.
	SyncBatch
	// SyncNone never waits for the disk; a background fsync runs about once
	// a second. Power loss loses up to the last seconds of writes.
	SyncNone
)

// String returns the mode's name, as used in configuration.
func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncBatch:
		return "batch"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// Option configures Open.
type Option func(*config)

type config struct {
	sync        SyncMode
	batchDelay  time.Duration
	lockTimeout time.Duration
}

func defaults() config {
	return config{sync: SyncAlways, batchDelay: 2 * time.Millisecond, lockTimeout: time.Second}
}

// WithSync sets the durability mode; the default is SyncAlways.
func WithSync(mode SyncMode) Option { return func(c *config) { c.sync = mode } }

// WithBatchDelay sets how long SyncBatch waits for more writes before it
// commits a group: the latency a write may gain. The default is 2ms.
func WithBatchDelay(d time.Duration) Option { return func(c *config) { c.batchDelay = d } }

// WithLockTimeout sets how long Open waits for another process to release
// the file (bbolt locks it for one process at a time). The default is 1s.
func WithLockTimeout(d time.Duration) Option { return func(c *config) { c.lockTimeout = d } }
