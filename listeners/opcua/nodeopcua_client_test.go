package opcua

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/ternmq/broker/listeners"
)

// freePort returns a TCP port free on 127.0.0.1 just now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startPLC runs the node-opcua test server on port and waits until it
// listens.
func startPLC(t testing.TB, bin string, port int, tick time.Duration) *nodeProc {
	t.Helper()
	p := startNode(t, bin, "plc.js", strconv.Itoa(port), strconv.Itoa(int(tick/time.Millisecond)))
	p.event(60*time.Second, isEvent("ready"))
	return p
}

// change decodes a JSON data change payload.
type change struct {
	Value           any    `json:"value"`
	Type            string `json:"type"`
	Status          string `json:"status"`
	SourceTimestamp string `json:"source_timestamp"`
}

func decodeChange(t testing.TB, m paho.Message) change {
	t.Helper()
	var c change
	if err := json.Unmarshal(m.Payload(), &c); err != nil {
		t.Fatalf("%s: payload %q: %v", m.Topic(), m.Payload(), err)
	}
	return c
}

// TestNodeOPCUAServerToClientMode runs client mode against node-opcua's
// server: its tags reach a paho subscriber on the mapped topics with
// their values and types, a command is written back to the node-opcua
// variable, and killing and restarting the node-opcua server is survived
// (state down, then up, and data flows again) while the broker keeps
// serving MQTT.
func TestNodeOPCUAServerToClientMode(t *testing.T) {
	bin := needNode(t)
	port := freePort(t)
	plc := startPLC(t, bin, port, 50*time.Millisecond)

	c, err := NewClient("plc", ClientConfig{
		Endpoint: fmt.Sprintf("opc.tcp://127.0.0.1:%d/plc", port),
		Nodes: []NodeMap{
			{NodeID: "nsu=urn:tern:test-plc;s=Line1.Temperature", Topic: "factory/line1/temperature", QoS: 1, Retain: true},
			{NodeID: "nsu=urn:tern:test-plc;s=Line1.Counter", Topic: "factory/line1/counter"},
			{NodeID: "nsu=urn:tern:test-plc;s=Line1.Name", Topic: "factory/line1/name", Retain: true},
			{NodeID: "nsu=urn:tern:test-plc;s=Line1.Setpoint", Topic: "factory/line1/setpoint", QoS: 1, CommandTopic: "factory/line1/setpoint/set"},
		},
		PublishingInterval: 20 * time.Millisecond,
		ReconnectMin:       50 * time.Millisecond,
		ReconnectMax:       200 * time.Millisecond,
		RequestTimeout:     2 * time.Second,
		Logger:             testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A second connection logs in with a user name and password (sent
	// encrypted with the server's certificate, as its user token policy
	// asks, over a channel without security).
	login, err := NewClient("plc-login", ClientConfig{
		Endpoint:       fmt.Sprintf("opc.tcp://127.0.0.1:%d/plc", port),
		Username:       "operator",
		Password:       "s3cret",
		Nodes:          []NodeMap{{NodeID: "nsu=urn:tern:test-plc;s=Line1.Name", Topic: "login/name", Retain: true}},
		Browse:         []BrowseMap{{Root: "nsu=urn:tern:test-plc;s=Line1", Prefix: "browsed/line1", Retain: true}},
		Payload:        PayloadRaw,
		StateTopic:     "login/state",
		ReconnectMin:   50 * time.Millisecond,
		ReconnectMax:   200 * time.Millisecond,
		RequestTimeout: 2 * time.Second,
		Logger:         testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startBroker(t, []listeners.Listener{c, login})
	sub := mqttClient(t, addr, "scada")
	data := subscribe(t, sub, "factory/#", 1)
	states := subscribe(t, sub, "$SYS/opcua/plc/state", 1)
	states.next(t, 30*time.Second, func(m paho.Message) bool { return string(m.Payload()) == "up" })

	loginName := subscribe(t, sub, "login/name", 1)
	if m := loginName.next(t, 30*time.Second, nil); string(m.Payload()) != "press-7" {
		t.Errorf("login/name %q", m.Payload())
	}
	// The same connection browsed Line1: a topic per variable under it.
	browsed := subscribe(t, sub, "browsed/#", 1)
	seen := map[string]string{}
	browsed.next(t, 10*time.Second, func(m paho.Message) bool {
		seen[m.Topic()] = string(m.Payload())
		return len(seen) == 4
	})
	if seen["browsed/line1/Name"] != "press-7" || seen["browsed/line1/Setpoint"] != "50" {
		t.Errorf("browsed topics %v", seen)
	}

	// Values and types, per topic.
	name := decodeChange(t, data.next(t, 10*time.Second, onTopic("factory/line1/name")))
	if name.Value != "press-7" || name.Type != "String" || name.Status != "Good" {
		t.Errorf("name: %+v", name)
	}
	var last float64
	for range 3 {
		m := data.next(t, 10*time.Second, onTopic("factory/line1/temperature"))
		tc := decodeChange(t, m)
		v, ok := tc.Value.(float64)
		if !ok || tc.Type != "Double" || tc.Status != "Good" || v < 20 || v <= last || m.Qos() != 1 {
			t.Fatalf("temperature %+v at QoS %d after %v", tc, m.Qos(), last)
		}
		if _, err := time.Parse(time.RFC3339Nano, tc.SourceTimestamp); err != nil {
			t.Errorf("source timestamp %q: %v", tc.SourceTimestamp, err)
		}
		last = v
	}
	if cc := decodeChange(t, data.next(t, 10*time.Second, onTopic("factory/line1/counter"))); cc.Type != "Int32" {
		t.Errorf("counter: %+v", cc)
	}

	// Write-back: the command reaches node-opcua's variable, the result
	// topic says Good, and the new value comes back as a data change.
	results := subscribe(t, sub, "factory/line1/setpoint/set/result", 1)
	publish(t, sub, "factory/line1/setpoint/set", 1, false, "42.5")
	w := plc.event(10*time.Second, isEvent("written"))
	if w["value"] != 42.5 {
		t.Errorf("node-opcua got %v, want 42.5", w["value"])
	}
	var res resultJSON
	_ = json.Unmarshal(results.next(t, 10*time.Second, nil).Payload(), &res)
	if res.Status != "Good" || res.NodeID != "nsu=urn:tern:test-plc;s=Line1.Setpoint" {
		t.Errorf("result %+v", res)
	}
	data.next(t, 10*time.Second, func(m paho.Message) bool {
		return m.Topic() == "factory/line1/setpoint" && decodeChange(t, m).Value == 42.5
	})
	publish(t, sub, "factory/line1/setpoint/set", 1, false, "warm")
	_ = json.Unmarshal(results.next(t, 10*time.Second, nil).Payload(), &res)
	if res.Status != "BadTypeMismatch" {
		t.Errorf("result of a non-number: %+v", res)
	}

	// Kill the server: the state goes down, the broker keeps serving.
	plc.kill()
	states.next(t, 10*time.Second, func(m paho.Message) bool { return string(m.Payload()) == "down" })
	echo := subscribe(t, sub, "still/alive", 1)
	publish(t, sub, "still/alive", 1, false, "yes")
	echo.next(t, 5*time.Second, nil)
	publish(t, sub, "factory/line1/setpoint/set", 1, false, "40")
	_ = json.Unmarshal(results.next(t, 10*time.Second, nil).Payload(), &res)
	if res.Status != "BadNotConnected" {
		t.Errorf("result while down: %+v", res)
	}

	// Restart it: up again, and data flows again.
	startPLC(t, bin, port, 50*time.Millisecond)
	states.next(t, 30*time.Second, func(m paho.Message) bool { return string(m.Payload()) == "up" })
	since := time.Now()
	data.next(t, 10*time.Second, func(m paho.Message) bool {
		if m.Topic() != "factory/line1/temperature" {
			return false
		}
		ts, err := time.Parse(time.RFC3339Nano, decodeChange(t, m).SourceTimestamp)
		return err == nil && ts.After(since.Add(-time.Second))
	})
	if st := c.Stats(); st.Connects < 2 || st.State != "up" || st.Writes < 1 || st.WriteErrors < 2 {
		t.Errorf("stats %+v", st)
	}
}
