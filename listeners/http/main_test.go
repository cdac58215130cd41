package httpbridge_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if a goroutine of the bridge (or of the broker
// behind it) outlives the tests that started it: every test shuts its
// broker down, and Shutdown closes the bridge.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leak := waitNoLeak(5 * time.Second); leak != "" {
			fmt.Fprintf(os.Stderr, "goroutines left behind:\n%s\n", leak)
			code = 1
		}
	}
	os.Exit(code)
}

func waitNoLeak(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaks []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "github.com/ternmq/broker") && !strings.Contains(g, "TestMain") && !strings.Contains(g, "testing.tRunner") {
				leaks = append(leaks, g)
			}
		}
		if len(leaks) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(leaks, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
