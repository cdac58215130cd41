package broker_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/broker"
)

// groupHook restricts every publish on its topic to the groups it names.
type groupHook struct{ groups []string }

func (h groupHook) OnPublish(c *broker.ClientInfo, m *broker.Message) error {
	if m.Topic == "hooked" {
		m.SharedGroups = h.groups
	}
	return nil
}

// TestSharedGroupsRestrictDelivery: Message.SharedGroups names the only
// shared groups a publish goes to, set by the host or by a PublishHook;
// plain subscriptions are not affected; nil means every group
// [MQTT-4.8.2].
func TestSharedGroupsRestrictDelivery(t *testing.T) {
	b, _ := startBroker(t, broker.WithHooks(groupHook{groups: []string{"$share/b/#"}}))
	var mu sync.Mutex
	got := map[string][]string{} // subscriber → payloads
	for _, f := range []string{"$share/a/#", "$share/b/#", "$share/a/x/#", "#"} {
		cancel, err := b.Subscribe(f, 0, func(m *broker.Message) {
			mu.Lock()
			got[f] = append(got[f], string(m.Payload))
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cancel)
	}
	ctx := context.Background()
	for _, m := range []*broker.Message{
		{Topic: "x/1", Payload: []byte("only-a"), SharedGroups: []string{"$share/a/#"}},
		{Topic: "x/1", Payload: []byte("none"), SharedGroups: []string{}},
		{Topic: "x/1", Payload: []byte("a-and-ax"), SharedGroups: []string{"$share/a/#", "$share/a/x/#", "$share/zz/#"}},
		{Topic: "x/1", Payload: []byte("all")},
		{Topic: "hooked", Payload: []byte("hook-b")},
		{Topic: "x/1", Payload: []byte("end")},
	} {
		if _, err := b.PublishMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{
		"$share/a/#":   {"only-a", "a-and-ax", "all", "end"},
		"$share/b/#":   {"all", "hook-b", "end"},
		"$share/a/x/#": {"a-and-ax", "all", "end"},
		"#":            {"only-a", "none", "a-and-ax", "all", "hook-b", "end"},
	}
	checkFor(t, 5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		for f := range want {
			if n := len(got[f]); n == 0 || got[f][n-1] != "end" {
				return errorf("%s: %v, no end yet", f, got[f])
			}
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for f, w := range want {
		if !slices.Equal(got[f], w) {
			t.Errorf("%s got %v, want %v", f, got[f], w)
		}
	}
	if n := broker.SharedOnlyPending(b); n != 0 {
		t.Errorf("%d restrictions left behind after routing", n)
	}
}
