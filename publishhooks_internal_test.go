package broker

import (
	"testing"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
)

type hookFunc func(*ClientInfo, *Message) error

func (f hookFunc) OnPublish(c *ClientInfo, m *Message) error { return f(c, m) }

// A PublishHook that only looks costs no rebuilt message: the message is
// routed as it came. Any change, in place or by replacing a field, is
// routed as the hook left it.
func TestPublishHookThatOnlyLooksKeepsTheMessage(t *testing.T) {
	props := &packets.Properties{CorrelationData: []byte("c"), User: []packets.UserProperty{{Key: []byte("k"), Value: []byte("v")}}}
	props.Present.Add(packets.PropCorrelationData)
	props.Present.Add(packets.PropUserProperty)
	for _, tc := range []struct {
		name    string
		hook    func(*Message)
		same    bool
		payload string
	}{
		{"reads", func(m *Message) { _ = m.Topic + string(m.Payload) }, true, "data"},
		{"payload in place", func(m *Message) { m.Payload[0] = 'D' }, false, "Data"},
		{"payload replaced", func(m *Message) { m.Payload = []byte("other") }, false, "other"},
		{"user property in place", func(m *Message) { m.UserProperties[0].Value = "w" }, false, "data"},
		{"correlation data in place", func(m *Message) { m.CorrelationData[0] = 'x' }, false, "data"},
		{"retain", func(m *Message) { m.Retain = true }, false, "data"},
		{"content type", func(m *Message) { m.ContentType = "text/plain" }, false, "data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(WithHooks(hookFunc(func(_ *ClientInfo, m *Message) error { tc.hook(m); return nil })))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			m := sessions.NewMessage([]byte("t/1"), []byte("data"), 1, false, props)
			out, err := b.runPublishHooks(&ClientInfo{}, m)
			if err != nil {
				t.Fatal(err)
			}
			if (out == m) != tc.same {
				t.Fatalf("routed the original message: %v, want %v", out == m, tc.same)
			}
			if string(out.Payload) != tc.payload || string(m.Payload) != "data" {
				t.Fatalf("routed payload %q (original now %q), want %q", out.Payload, m.Payload, tc.payload)
			}
		})
	}
}
