package bolt_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/bolt"
	"github.com/ternmq/broker/storage/storagetest"
)

// modes are the sync modes every test and benchmark runs in.
var modes = []bolt.SyncMode{bolt.SyncAlways, bolt.SyncBatch, bolt.SyncNone}

func open(tb testing.TB, path string, mode bolt.SyncMode, opts ...bolt.Option) storage.Store {
	tb.Helper()
	s, err := bolt.Open(path, append(opts, bolt.WithSync(mode))...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			if testing.Short() && mode != bolt.SyncNone {
				t.Skip("-short: the suite runs in SyncNone only; the modes differ in fsync, not in logic")
			}
			storagetest.Run(t, func(t *testing.T) storage.Store {
				// The suite writes from one goroutine mostly: a short
				// batch delay keeps SyncBatch from waiting 2ms per write
				// for company that never comes.
				return open(t, filepath.Join(t.TempDir(), "tern.db"), mode, bolt.WithBatchDelay(100*time.Microsecond))
			})
		})
	}
}

func TestPersistence(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			storagetest.RunPersistence(t, func(t *testing.T, dir string) storage.Store {
				return open(t, filepath.Join(dir, "tern.db"), mode)
			})
		})
	}
}

func BenchmarkStore(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode.String(), func(b *testing.B) {
			storagetest.Bench(b, func(b *testing.B) storage.Store {
				return open(b, filepath.Join(b.TempDir(), "tern.db"), mode)
			})
		})
	}
}
