package broker

import (
	"testing"
	"unsafe"
)

// An idle connection costs its conn and session structures (and the
// runtime's socket state): they decide how many devices a broker holds.
// 352 and 256 bytes are size classes of the allocator; a field more moves
// every connection to the next class (384, 288).
func TestIdleStructuresStayInTheirSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n > 352 {
		t.Errorf("conn is %d bytes, want at most 352: keep what only a busy connection needs in batch", n)
	}
	if n := unsafe.Sizeof(session{}); n > 256 {
		t.Errorf("session is %d bytes, want at most 256", n)
	}
}
