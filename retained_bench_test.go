package broker_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/ternmq/broker"
)

// BenchmarkRetainedMemory reports what one retained message with a 1 KiB
// payload costs the broker (heap per message, 100,000 topics of the shape
// site/N/device/M/temp). Issue 11: 3,240 bytes before, Mosquitto 1,350.
func BenchmarkRetainedMemory(b *testing.B) {
	const n = 100_000
	payload := make([]byte, 1024)
	for b.Loop() {
		br, _ := broker.New(broker.WithSysInterval(-1))
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for i := range n {
			_ = br.Publish(fmt.Sprintf("site/%d/device/%d/temp", i/100, i%100), payload, 1, true)
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "bytes/retained")
		_ = br.Close()
	}
}
