package broker_test

import (
	"testing"
	"time"

	"github.com/ternmq/broker"
)

// sysValues is a SysHook with fixed values.
type sysValues []broker.SysValue

func (v sysValues) SysValues() []broker.SysValue { return v }

// TestSysHookAddsTopics: a SysHook's values are published with the $SYS
// round, retained; a topic outside $SYS/ is skipped.
func TestSysHookAddsTopics(t *testing.T) {
	b, _ := startBroker(t, broker.WithSysInterval(20*time.Millisecond), broker.WithHooks(sysValues{
		{Topic: "$SYS/broker/extra/count", Value: "7"},
		{Topic: "app/extra", Value: "no"},
	}))
	checkFor(t, 5*time.Second, func() error {
		ms, err := b.Retained("$SYS/broker/extra/#")
		if err != nil || len(ms) != 1 || string(ms[0].Payload) != "7" {
			return errorf("retained $SYS/broker/extra/#: %v (%v), want count=7", ms, err)
		}
		return nil
	})
	if ms, _ := b.Retained("app/#"); len(ms) != 0 {
		t.Errorf("a SysHook value outside $SYS/ was published: %v", ms)
	}
}
