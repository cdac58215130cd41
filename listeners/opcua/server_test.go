package opcua

import (
	"context"
	"fmt"
	"testing"
	"time"

	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners"
)

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

// uaClient connects gopcua's client to the bridge.
func uaClient(t *testing.T, s *Server) *gopcua.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c *gopcua.Client
	checkFor(t, 10*time.Second, func() error {
		var err error
		c, err = gopcua.NewClient(s.EndpointURL(), gopcua.SecurityMode(ua.MessageSecurityModeNone), gopcua.AuthAnonymous(), gopcua.AutoReconnect(false))
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

// write writes v to a node's Value and returns the status.
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

func TestServerModeReadsRetainedValueAndBrowsesTopicTree(t *testing.T) {
	s, _, addr := startServerMode(t, ServerConfig{Expose: []Expose{{Filter: "factory/#", Encoding: EncodingNumber}}})
	pub := mqttClient(t, addr, "pub")
	publish(t, pub, "factory/line1/temp", 1, true, "21.5")
	publish(t, pub, "other/topic", 1, true, "1") // not exposed

	c := uaClient(t, s)
	ns := s.NamespaceIndex()
	if got := c.Namespaces(); len(got) < 2 || got[ns] != DefaultNamespace {
		t.Fatalf("namespaces %v, want %s at %d", got, DefaultNamespace, ns)
	}
	nid := ua.NewStringNodeID(ns, "factory/line1/temp")
	checkFor(t, 5*time.Second, func() error {
		dv := readValue(t, c, nid)
		if dv.Status != ua.StatusOK || dv.Value == nil || dv.Value.Value() != 21.5 {
			return fmt.Errorf("value %+v", dv)
		}
		return nil
	})
	if dv := readValue(t, c, ua.NewStringNodeID(ns, "other/topic")); dv.Status != ua.StatusBadNodeIDUnknown {
		t.Errorf("unexposed topic: status %v, want BadNodeIdUnknown", dv.Status)
	}

	// Objects -> MQTT -> factory -> line1 -> temp.
	path := []string{DefaultRootName, "factory", "line1", "temp"}
	at := ua.NewNumericNodeID(0, id.ObjectsFolder)
	for _, name := range path {
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
	if at.String() != nid.String() {
		t.Errorf("browsed to %s, want %s", at, nid)
	}
}
