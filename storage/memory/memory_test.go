package memory_test

import (
	"testing"

	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/memory"
	"github.com/ternmq/broker/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Store { return memory.New() })
}

func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(*testing.B) storage.Store { return memory.New() })
}
