package opcua

import (
	"strings"
	"testing"
	"time"
)

// TestNodeOPCUAClientAgainstServerMode drives node-opcua's client against
// Tern's server mode: it browses the namespace, reads a value a paho
// client published, monitors it and gets the next publish as a data
// change, and writes a value that a paho subscriber receives.
func TestNodeOPCUAClientAgainstServerMode(t *testing.T) {
	bin := needNode(t)
	s, _, addr := startServerMode(t, ServerConfig{
		Identity: Identity{ClientID: "opcua-bridge"},
		Expose: []Expose{
			{Filter: "factory/+/temperature", Encoding: EncodingNumber, Writable: true, QoS: 1},
			{Filter: "factory/#", Encoding: EncodingJSON},
		},
	})
	pub := mqttClient(t, addr, "plc-gateway")
	publish(t, pub, "factory/line1/temperature", 1, true, "21.5")
	publish(t, pub, "factory/line1/status", 1, true, `{"state":"running","speed":3}`)
	publish(t, pub, "office/coffee", 1, true, "hot") // not exposed

	ns := "ns=" + str(s.NamespaceIndex()) + ";s="
	c := startNode(t, bin, "client.js", s.EndpointURL())
	c.event(30*time.Second, isEvent("connected"))

	nss := c.call(map[string]any{"cmd": "namespaces"}, 10*time.Second)["namespaces"].([]any)
	if int(s.NamespaceIndex()) >= len(nss) || nss[s.NamespaceIndex()] != DefaultNamespace {
		t.Fatalf("NamespaceArray %v: want %s at %d", nss, DefaultNamespace, s.NamespaceIndex())
	}

	// Browse: the topic tree under Objects/MQTT, a folder per level.
	var paths []string
	checkFor(t, 10*time.Second, func() error {
		paths = paths[:0]
		for _, n := range c.call(map[string]any{"cmd": "browse"}, 10*time.Second)["nodes"].([]any) {
			m := n.(map[string]any)
			paths = append(paths, str(m["path"])+" "+str(m["node"])+" "+str(m["class"]))
		}
		if len(paths) < 5 {
			return errorf("browsed %v", paths)
		}
		return nil
	})
	want := []string{
		"/MQTT " + ns + "# Object",
		"/MQTT/factory " + ns + "factory/# Object",
		"/MQTT/factory/line1 " + ns + "factory/line1/# Object",
		"/MQTT/factory/line1/temperature " + ns + "factory/line1/temperature Variable",
		"/MQTT/factory/line1/status " + ns + "factory/line1/status Variable",
	}
	for _, w := range want {
		if !contains(paths, w) {
			t.Errorf("browse: missing %q in\n%s", w, strings.Join(paths, "\n"))
		}
	}
	for _, p := range paths {
		if strings.Contains(p, "office") {
			t.Errorf("browse shows an unexposed topic: %s", p)
		}
	}

	// Read: the retained values, per encoding.
	r := c.call(map[string]any{"cmd": "read", "node": ns + "factory/line1/temperature"}, 10*time.Second)
	if r["status"] != "Good" || r["type"] != "Double" || r["value"] != 21.5 {
		t.Errorf("read temperature: %v", r)
	}
	r = c.call(map[string]any{"cmd": "read", "node": ns + "factory/line1/status"}, 10*time.Second)
	if r["status"] != "Good" || r["type"] != "String" || r["value"] != `{"state":"running","speed":3}` {
		t.Errorf("read status: %v", r)
	}

	// Monitor: the initial value, then the next publish as a data change.
	c.call(map[string]any{"cmd": "monitor", "node": ns + "factory/line1/temperature"}, 10*time.Second)
	c.event(10*time.Second, func(e map[string]any) bool { return e["event"] == "change" && e["value"] == 21.5 })
	before := time.Now()
	publish(t, pub, "factory/line1/temperature", 0, false, "22.25")
	e := c.event(10*time.Second, func(e map[string]any) bool { return e["event"] == "change" && e["value"] == 22.25 })
	if ts, err := time.Parse(time.RFC3339Nano, str(e["source_timestamp"])); err != nil || ts.Before(before.Add(-time.Second)) {
		t.Errorf("data change source timestamp %v, want about %v", e["source_timestamp"], before)
	}

	// Write: a paho subscriber receives the value; the node follows.
	sub := mqttClient(t, addr, "scada-listener")
	got := subscribe(t, sub, "factory/line1/temperature", 1)
	got.next(t, 5*time.Second, nil) // the retained message
	r = c.call(map[string]any{"cmd": "write", "node": ns + "factory/line1/temperature", "type": "Double", "value": 19.75}, 10*time.Second)
	if r["status"] != "Good" {
		t.Fatalf("write: %v", r)
	}
	m := got.next(t, 5*time.Second, nil)
	if string(m.Payload()) != "19.75" || m.Qos() != 1 {
		t.Errorf("paho got %q at QoS %d, want 19.75 at QoS 1", m.Payload(), m.Qos())
	}
	c.event(10*time.Second, func(e map[string]any) bool { return e["event"] == "change" && e["value"] == 19.75 })

	// Writes the bridge refuses.
	for _, tc := range []struct {
		node, typ string
		value     any
		status    string
	}{
		{ns + "factory/line1/status", "String", "stopped", "BadNotWritable"},    // exposed read-only
		{ns + "office/coffee", "String", "cold", "BadUserAccessDenied"},         // not exposed
		{ns + "factory/line1/temperature", "String", "warm", "BadTypeMismatch"}, // not a number
		{"i=2255", "String", "x", "BadNotWritable"},                             // the server's own nodes
	} {
		r := c.call(map[string]any{"cmd": "write", "node": tc.node, "type": tc.typ, "value": tc.value}, 10*time.Second)
		if r["status"] != tc.status {
			t.Errorf("write %s: %v, want %s", tc.node, r["status"], tc.status)
		}
	}
	c.call(map[string]any{"cmd": "quit"}, 10*time.Second)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
