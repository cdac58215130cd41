package opcua

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners"
)

// uaClient connects gopcua's client to endpoint.
func uaClient(t *testing.T, endpoint string) *gopcua.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c *gopcua.Client
	checkFor(t, 10*time.Second, func() error {
		var err error
		c, err = gopcua.NewClient(endpoint, gopcua.SecurityMode(ua.MessageSecurityModeNone), gopcua.AuthAnonymous(), gopcua.AutoReconnect(false))
		if err != nil {
			return err
		}
		if err := c.Connect(ctx); err != nil {
			c.Close(ctx)
			return err
		}
		return nil
	})
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// readValue reads a node's Value attribute.
func readValue(t *testing.T, c *gopcua.Client, nid *ua.NodeID) *ua.DataValue {
	t.Helper()
	res, err := c.Read(context.Background(), &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: nid, AttributeID: ua.AttributeIDValue}}})
	if err != nil {
		t.Fatalf("read %s: %v", nid, err)
	}
	return res.Results[0]
}

// writeValue writes v to a node's Value and returns the status.
func writeValue(t *testing.T, c *gopcua.Client, nid *ua.NodeID, v any) ua.StatusCode {
	t.Helper()
	res, err := c.Write(context.Background(), &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID: nid, AttributeID: ua.AttributeIDValue,
		Value: &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(v)},
	}}})
	if err != nil {
		t.Fatalf("write %s: %v", nid, err)
	}
	return res.Results[0]
}

// lockedACL forbids the user "bridge" to publish under factory/locked/.
type lockedACL struct{}

func (lockedACL) CanPublish(c *broker.ClientInfo, topic string) bool {
	return !(c.Username == "bridge" && strings.HasPrefix(topic, "factory/locked/"))
}
func (lockedACL) CanSubscribe(*broker.ClientInfo, string) bool { return true }

// TestServerMode runs server mode in one broker (gopcua's server takes
// seconds to start under the race detector) with gopcua's client, and
// client mode against it.
func TestServerMode(t *testing.T) {
	s, err := NewServer("opcua", "127.0.0.1:0", ServerConfig{
		Identity: Identity{ClientID: "opcua-bridge", Username: "bridge"},
		Expose: []Expose{
			{Filter: "factory/locked/#", Encoding: EncodingNumber, Writable: true},
			{Filter: "factory/+/temperature", Encoding: EncodingNumber, Writable: true, QoS: 1},
			{Filter: "factory/#", Encoding: EncodingJSON},
			{Filter: "raw/#", Encoding: EncodingBytes, Writable: true},
			{Filter: "text/#", Encoding: EncodingString, Writable: true, Retain: true},
		},
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Client mode against server mode, in the same broker: text/greeting
	// mirrored to mirror/greeting, written back from mirror/greeting/set.
	mirror, err := NewClient("mirror", ClientConfig{
		Endpoint:           s.EndpointURL(),
		Nodes:              []NodeMap{{NodeID: "nsu=" + DefaultNamespace + ";s=text/greeting", Topic: "mirror/greeting", Retain: true, CommandTopic: "mirror/greeting/set"}},
		Payload:            PayloadRaw,
		PublishingInterval: 20 * time.Millisecond,
		ReconnectMin:       50 * time.Millisecond,
		ReconnectMax:       200 * time.Millisecond,
		StateTopic:         "status/mirror",
		RequestTimeout:     2 * time.Second,
		Logger:             testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startBroker(t, []listeners.Listener{s, mirror}, broker.WithAuthorizer(broker.SimpleAuthorizer(lockedACL{})))
	pub := mqttClient(t, addr, "pub")
	publish(t, pub, "factory/line1/temperature", 1, true, "21.5")
	publish(t, pub, "factory/locked/valve", 1, true, "1")
	publish(t, pub, "text/greeting", 1, true, "hello")
	publish(t, pub, "other/topic", 1, true, "1") // not exposed
	c := uaClient(t, s.EndpointURL())
	ns := s.NamespaceIndex()
	node := func(topic string) *ua.NodeID { return ua.NewStringNodeID(ns, topic) }

	t.Run("retained value is the initial value and the topic tree browses", func(t *testing.T) {
		if got := c.Namespaces(); len(got) <= int(ns) || got[ns] != DefaultNamespace {
			t.Fatalf("namespaces %v, want %s at %d", got, DefaultNamespace, ns)
		}
		checkFor(t, 5*time.Second, func() error {
			if dv := readValue(t, c, node("factory/line1/temperature")); dv.Status != ua.StatusOK || dv.Value == nil || dv.Value.Value() != 21.5 {
				return fmt.Errorf("value %+v", dv)
			}
			return nil
		})
		if dv := readValue(t, c, node("other/topic")); dv.Status != ua.StatusBadNodeIDUnknown {
			t.Errorf("unexposed topic: status %v, want BadNodeIdUnknown", dv.Status)
		}
		at := ua.NewNumericNodeID(0, id.ObjectsFolder)
		for _, name := range []string{DefaultRootName, "factory", "line1", "temperature"} {
			res, err := c.Browse(context.Background(), &ua.BrowseRequest{NodesToBrowse: []*ua.BrowseDescription{{
				NodeID: at, BrowseDirection: ua.BrowseDirectionForward,
				ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences), IncludeSubtypes: true,
				ResultMask: uint32(ua.BrowseResultMaskAll),
			}}})
			if err != nil {
				t.Fatal(err)
			}
			var next *ua.NodeID
			for _, r := range res.Results[0].References {
				if r.BrowseName.Name == name {
					next = r.NodeID.NodeID
				}
			}
			if next == nil {
				t.Fatalf("browsing %s: no %q among %d references", at, name, len(res.Results[0].References))
			}
			at = next
		}
		if at.String() != node("factory/line1/temperature").String() {
			t.Errorf("browsed to %s", at)
		}
		// Inverse: the variable's parent is its level's folder.
		res, err := c.Browse(context.Background(), &ua.BrowseRequest{NodesToBrowse: []*ua.BrowseDescription{{
			NodeID: at, BrowseDirection: ua.BrowseDirectionInverse, ReferenceTypeID: ua.NewNumericNodeID(0, id.Organizes),
		}}})
		if err != nil || len(res.Results[0].References) != 1 || res.Results[0].References[0].NodeID.NodeID.StringID() != "factory/line1/#" {
			t.Errorf("inverse browse: %+v %v", res, err)
		}
	})

	t.Run("a publish updates the value and notifies monitored items", func(t *testing.T) {
		notifs := make(chan *gopcua.PublishNotificationData, 100)
		sub, err := c.Subscribe(context.Background(), &gopcua.SubscriptionParameters{Interval: 20 * time.Millisecond}, notifs)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Cancel(context.Background())
		if _, err := sub.Monitor(context.Background(), ua.TimestampsToReturnBoth, gopcua.NewMonitoredItemCreateRequestWithDefaults(node("factory/line1/temperature"), ua.AttributeIDValue, 7)); err != nil {
			t.Fatal(err)
		}
		before := time.Now().Add(-time.Second)
		publish(t, pub, "factory/line1/temperature", 0, false, "23.75")
		deadline := time.After(10 * time.Second)
		for {
			select {
			case n := <-notifs:
				if n.Error != nil {
					t.Fatal(n.Error)
				}
				dc, ok := n.Value.(*ua.DataChangeNotification)
				if !ok {
					continue
				}
				for _, item := range dc.MonitoredItems {
					if item.ClientHandle == 7 && item.Value.Value != nil && item.Value.Value.Value() == 23.75 {
						if item.Value.SourceTimestamp.Before(before) {
							t.Errorf("source timestamp %v", item.Value.SourceTimestamp)
						}
						return
					}
				}
			case <-deadline:
				t.Fatal("no data change")
			}
		}
	})

	t.Run("payloads convert per encoding", func(t *testing.T) {
		invalid := s.Stats().Invalid
		for _, tc := range []struct {
			topic, payload string
			want           any
			status         ua.StatusCode
		}{
			{"factory/line2/temperature", "  -4.5e1 ", -45.0, ua.StatusOK},
			{"factory/line2/status", `{"a": [1, 2]}`, `{"a": [1, 2]}`, ua.StatusOK},
			{"factory/line2/on", "true", true, ua.StatusOK},
			{"factory/line2/speed", "3", 3.0, ua.StatusOK},
			{"factory/line2/label", `"fast"`, "fast", ua.StatusOK},
			{"factory/line2/empty", "", nil, ua.StatusBadNoData},
			{"factory/line2/broken", "{", nil, ua.StatusBadDataEncodingInvalid},
			{"factory/line3/temperature", "warm", nil, ua.StatusBadDataEncodingInvalid},
			{"raw/blob", "\x00\xff", []byte{0, 0xff}, ua.StatusOK},
			{"text/latin1", "caf\xe9", nil, ua.StatusBadDataEncodingInvalid},
			{"text/empty", "", "", ua.StatusOK},
		} {
			publish(t, pub, tc.topic, 1, false, tc.payload)
			checkFor(t, 5*time.Second, func() error {
				dv := readValue(t, c, node(tc.topic))
				var got any
				if dv.Value != nil {
					got = dv.Value.Value()
				}
				if dv.Status != tc.status || fmt.Sprint(got) != fmt.Sprint(tc.want) {
					return fmt.Errorf("%s %q: %v %v (%T), want %v %v", tc.topic, tc.payload, dv.Status, got, got, tc.status, tc.want)
				}
				return nil
			})
		}
		if got := s.Stats().Invalid - invalid; got != 3 {
			t.Errorf("invalid conversions counted %d, want 3", got)
		}
	})

	t.Run("writes publish under the identity's ACL", func(t *testing.T) {
		sub := mqttClient(t, addr, "sub")
		got := subscribe(t, sub, "#", 1)
		checkFor(t, 5*time.Second, func() error { // the retained values, first
			if dv := readValue(t, c, node("factory/locked/valve")); dv.Status != ua.StatusOK {
				return fmt.Errorf("valve: %v", dv.Status)
			}
			return nil
		})
		for _, tc := range []struct {
			name   string
			node   *ua.NodeID
			value  any
			status ua.StatusCode
			topic  string // where paho gets it, for Good writes
			want   string
		}{
			{"number to a number topic", node("factory/line1/temperature"), 19.5, ua.StatusOK, "factory/line1/temperature", "19.5"},
			{"integer to a number topic", node("factory/line1/temperature"), int32(20), ua.StatusOK, "factory/line1/temperature", "20"},
			{"text to a number topic", node("factory/line1/temperature"), "warm", ua.StatusBadTypeMismatch, "", ""},
			{"bytes to a bytes topic", node("raw/blob"), []byte{1, 2}, ua.StatusOK, "raw/blob", "\x01\x02"},
			{"boolean to a string topic", node("text/greeting"), true, ua.StatusOK, "text/greeting", "true"},
			{"to a read-only filter", node("factory/line2/status"), "x", ua.StatusBadNotWritable, "", ""},
			{"denied by the ACL", node("factory/locked/valve"), 0.0, ua.StatusBadUserAccessDenied, "", ""},
			{"to an unexposed topic", node("other/topic"), "x", ua.StatusBadUserAccessDenied, "", ""},
			{"to a topic with no node yet", node("text/new"), "x", ua.StatusBadNodeIDUnknown, "", ""},
			{"to a folder", node("factory/#"), "x", ua.StatusBadNotWritable, "", ""},
			{"to the server's own nodes", ua.NewNumericNodeID(0, id.Server_ServerStatus_State), int32(0), ua.StatusBadNotWritable, "", ""},
			{"to an unknown namespace", ua.NewStringNodeID(9, "x"), "x", ua.StatusBadNodeIDUnknown, "", ""},
		} {
			if st := writeValue(t, c, tc.node, tc.value); st != tc.status {
				t.Errorf("%s: status %v, want %v", tc.name, st, tc.status)
				continue
			}
			if tc.topic != "" {
				m := got.next(t, 5*time.Second, func(m paho.Message) bool { return m.Topic() == tc.topic && !m.Retained() })
				if !bytes.Equal(m.Payload(), []byte(tc.want)) {
					t.Errorf("%s: paho got %q, want %q", tc.name, m.Payload(), tc.want)
				}
			}
		}
		if st := s.Stats(); st.Writes < 4 || st.Rejected < 2 {
			t.Errorf("stats %+v", st)
		}
	})

	t.Run("client mode mirrors a node and writes back", func(t *testing.T) {
		sub := mqttClient(t, addr, "mirror-sub")
		got := subscribe(t, sub, "mirror/#", 1)
		state := subscribe(t, sub, "status/mirror", 1)
		state.next(t, 10*time.Second, func(m paho.Message) bool { return string(m.Payload()) == "up" })
		got.next(t, 10*time.Second, func(m paho.Message) bool { return m.Topic() == "mirror/greeting" })
		publish(t, sub, "mirror/greeting/set", 1, false, "bonjour")
		r := got.next(t, 10*time.Second, onTopic("mirror/greeting/set/result"))
		if !strings.Contains(string(r.Payload()), `"status":"Good"`) {
			t.Errorf("result %s", r.Payload())
		}
		got.next(t, 10*time.Second, func(m paho.Message) bool { return m.Topic() == "mirror/greeting" && string(m.Payload()) == "bonjour" })
	})

	t.Run("hostile clients do not stop the endpoint", func(t *testing.T) {
		// An idle connection (no Hello) and one reset before its Hello:
		// either would stop gopcua's accept loop without the proxy.
		idle, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		reset, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = reset.(*net.TCPConn).SetLinger(0)
		_, _ = reset.Write([]byte("HELF\x30\x00")) // half a header
		reset.Close()
		// A publishing interval of 0 (gopcua's ticker would panic) and
		// service calls with unknown ids (gopcua dereferences nil).
		c2 := uaClient(t, s.EndpointURL())
		sub, err := c2.Subscribe(context.Background(), &gopcua.SubscriptionParameters{Interval: time.Nanosecond}, make(chan *gopcua.PublishNotificationData, 10))
		if err != nil {
			t.Fatalf("subscription with interval 0: %v", err)
		}
		if sub.RevisedPublishingInterval < 10*time.Millisecond {
			t.Errorf("revised publishing interval %v", sub.RevisedPublishingInterval)
		}
		for _, req := range []ua.Request{
			&ua.SetMonitoringModeRequest{SubscriptionID: sub.SubscriptionID, MonitoringMode: ua.MonitoringModeReporting, MonitoredItemIDs: []uint32{424242}},
			&ua.DeleteMonitoredItemsRequest{SubscriptionID: sub.SubscriptionID, MonitoredItemIDs: []uint32{424242}},
		} {
			_ = c2.Send(context.Background(), req, func(ua.Response) error { return nil })
		}
		// gopcua's own Browse of namespace 0 loops until it panics when
		// subtypes are excluded.
		if _, err := c2.Browse(context.Background(), &ua.BrowseRequest{NodesToBrowse: []*ua.BrowseDescription{{
			NodeID: ua.NewNumericNodeID(0, id.ObjectsFolder), ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences),
		}}}); err != nil {
			t.Errorf("browse without subtypes: %v", err)
		}
		// The endpoint still serves a new client.
		c3 := uaClient(t, s.EndpointURL())
		if dv := readValue(t, c3, node("text/greeting")); dv.Status != ua.StatusOK {
			t.Errorf("after hostile clients: %v", dv.Status)
		}
	})
}

// startServerMode starts a broker with a TCP listener and server mode
// exposing cfg; it returns the bridge and the MQTT address.
func startServerMode(t *testing.T, cfg ServerConfig, opts ...broker.Option) (*Server, *broker.Broker, string) {
	t.Helper()
	cfg.Logger = testLogger(t)
	s, err := NewServer("opcua", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, addr := startBroker(t, []listeners.Listener{s}, opts...)
	return s, b, addr
}
