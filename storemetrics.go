package broker

import (
	"context"
	"time"

	"github.com/ternmq/broker/internal/storewrap"
	"github.com/ternmq/broker/storage"
)

// meter wraps a Store so that every call is reported to Metrics.StorageCall
// with its latency and error.
func meter(s storage.Store, m Metrics) storage.Store {
	return storewrap.Wrap(s, func(_ context.Context, op string, call func() error) error {
		t := time.Now()
		err := call()
		m.StorageCall(op, time.Since(t), err)
		return err
	})
}
