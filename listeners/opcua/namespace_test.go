package opcua

import (
	"bytes"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

func newTestSpace(maxNodes int) *topicSpace {
	ts := newTopicSpace(DefaultNamespace, DefaultRootName, []Expose{
		{Filter: "a/#", Encoding: EncodingString, Writable: true},
		{Filter: "b/+", Encoding: EncodingNumber},
	}, maxNodes)
	ts.SetID(1)
	return ts
}

func good(v any) *ua.DataValue {
	dv := &ua.DataValue{Value: ua.MustVariant(v), SourceTimestamp: time.Now()}
	dv.UpdateMask()
	return dv
}

func TestTopicSpaceBuildsAFolderPerLevel(t *testing.T) {
	ts := newTestSpace(10)
	for _, topic := range []string{"a/x/y", "a/x/z", "a/x", "a//e"} {
		if nid, _ := ts.update(topic, 0, good(topic)); nid == nil || nid.StringID() != topic {
			t.Fatalf("update %s: %v", topic, nid)
		}
	}
	browse := func(key string) []string {
		res := ts.Browse(&ua.BrowseDescription{NodeID: ua.NewStringNodeID(1, key), BrowseDirection: ua.BrowseDirectionForward,
			ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences), IncludeSubtypes: true})
		if res.StatusCode != ua.StatusOK {
			t.Fatalf("browse %s: %v", key, res.StatusCode)
		}
		var out []string
		for _, r := range res.References {
			out = append(out, r.NodeID.NodeID.StringID()+"="+r.BrowseName.Name)
		}
		return out
	}
	for key, want := range map[string]string{
		"#":     "a/#=a",
		"a/#":   "a/x/#=x a/x=x a//#=",
		"a/x/#": "a/x/y=y a/x/z=z",
		"a//#":  "a//e=e",
		"a/x/y": "",
	} {
		if got := strings.Join(browse(key), " "); got != want {
			t.Errorf("browse %s: %q, want %q", key, got, want)
		}
	}
	// The type definitions, and the inverse references up to Objects.
	res := ts.Browse(&ua.BrowseDescription{NodeID: ua.NewStringNodeID(1, "#"), BrowseDirection: ua.BrowseDirectionBoth})
	var refs []string
	for _, r := range res.References {
		refs = append(refs, r.ReferenceTypeID.String()+" "+r.NodeID.NodeID.String())
	}
	if got, want := strings.Join(refs, ", "), "i=40 i=61, i=35 ns=1;s=a/#, i=35 i=85"; got != want {
		t.Errorf("root references %q, want %q", got, want)
	}
	res = ts.Browse(&ua.BrowseDescription{NodeID: ua.NewStringNodeID(1, "a/x/#"), BrowseDirection: ua.BrowseDirectionForward, NodeClassMask: uint32(ua.NodeClassObject)})
	if len(res.References) != 0 {
		t.Errorf("node class mask Object: %d references", len(res.References))
	}
	if res := ts.Browse(&ua.BrowseDescription{NodeID: ua.NewStringNodeID(1, "nope/#")}); res.StatusCode != ua.StatusBadNodeIDUnknown {
		t.Errorf("unknown folder: %v", res.StatusCode)
	}
}

func TestTopicSpaceAttributes(t *testing.T) {
	ts := newTestSpace(10)
	ts.update("a/b", 0, good("v"))
	ts.update("b/c", 1, good(1.5))
	for _, tc := range []struct {
		node string
		attr ua.AttributeID
		want any
	}{
		{"a/b", ua.AttributeIDValue, "v"},
		{"a/b", ua.AttributeIDNodeClass, int32(ua.NodeClassVariable)},
		{"a/b", ua.AttributeIDDataType, ua.NewNumericNodeID(0, id.String).String()},
		{"b/c", ua.AttributeIDDataType, ua.NewNumericNodeID(0, id.Double).String()},
		{"a/b", ua.AttributeIDAccessLevel, byte(ua.AccessLevelTypeCurrentRead | ua.AccessLevelTypeCurrentWrite)},
		{"b/c", ua.AttributeIDUserAccessLevel, byte(ua.AccessLevelTypeCurrentRead)},
		{"a/b", ua.AttributeIDBrowseName, "b"},
		{"#", ua.AttributeIDNodeClass, int32(ua.NodeClassObject)},
		{"#", ua.AttributeIDDisplayName, DefaultRootName},
		{"a/#", ua.AttributeIDBrowseName, "a"},
	} {
		dv := ts.Attribute(ua.NewStringNodeID(1, tc.node), tc.attr)
		if dv.Status != ua.StatusOK {
			t.Errorf("%s %v: %v", tc.node, tc.attr, dv.Status)
			continue
		}
		got := dv.Value.Value()
		switch x := got.(type) {
		case *ua.NodeID:
			got = x.String()
		case *ua.QualifiedName:
			got = x.Name
		case *ua.LocalizedText:
			got = x.Text
		}
		if got != tc.want {
			t.Errorf("%s %v: %v (%T), want %v (%T)", tc.node, tc.attr, got, got, tc.want, tc.want)
		}
	}
	for _, tc := range []struct {
		nid  *ua.NodeID
		attr ua.AttributeID
		want ua.StatusCode
	}{
		{ua.NewStringNodeID(1, "a/none"), ua.AttributeIDValue, ua.StatusBadNodeIDUnknown},
		{ua.NewNumericNodeID(1, 5), ua.AttributeIDValue, ua.StatusBadNodeIDUnknown},
		{ua.NewStringNodeID(1, "a/b"), ua.AttributeIDEventNotifier, ua.StatusBadAttributeIDInvalid},
		{ua.NewStringNodeID(1, "#"), ua.AttributeIDValue, ua.StatusBadAttributeIDInvalid},
	} {
		if dv := ts.Attribute(tc.nid, tc.attr); dv.Status != tc.want {
			t.Errorf("%s %v: %v, want %v", tc.nid, tc.attr, dv.Status, tc.want)
		}
	}
}

func TestTopicSpaceStopsAtMaxNodes(t *testing.T) {
	ts := newTestSpace(2)
	for i, topic := range []string{"a/1", "a/2", "a/3", "a/4"} {
		nid, first := ts.update(topic, 0, good("x"))
		if (nid == nil) != (i >= 2) || first != (i == 2) {
			t.Errorf("update %s: node %v, first refusal %v", topic, nid, first)
		}
	}
	if nid, _ := ts.update("a/1", 0, good("y")); nid == nil {
		t.Error("an existing node is not updated at the limit")
	}
	if ts.nodes() != 2 {
		t.Errorf("%d nodes", ts.nodes())
	}
}

func TestTopicSpaceWritesOnlyExposedWritableVariables(t *testing.T) {
	ts := newTestSpace(10)
	ts.update("a/b", 0, good("v"))
	ts.update("b/c", 1, good(1.0))
	var published []string
	ts.write = func(topic string, e *Expose, v *ua.Variant) ua.StatusCode {
		published = append(published, topic)
		return ua.StatusOK
	}
	value := &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant("w")}
	for _, tc := range []struct {
		node string
		attr ua.AttributeID
		dv   *ua.DataValue
		want ua.StatusCode
	}{
		{"a/b", ua.AttributeIDValue, value, ua.StatusOK},
		{"a/b", ua.AttributeIDDisplayName, value, ua.StatusBadNotWritable},
		{"a/b", ua.AttributeIDValue, &ua.DataValue{}, ua.StatusBadTypeMismatch},
		{"b/c", ua.AttributeIDValue, value, ua.StatusBadNotWritable},
		{"c/d", ua.AttributeIDValue, value, ua.StatusBadUserAccessDenied},
		{"a/new", ua.AttributeIDValue, value, ua.StatusBadNodeIDUnknown},
		{"a/#", ua.AttributeIDValue, value, ua.StatusBadNotWritable},
	} {
		if got := ts.SetAttribute(ua.NewStringNodeID(1, tc.node), tc.attr, tc.dv); got != tc.want {
			t.Errorf("write %s %v: %v, want %v", tc.node, tc.attr, got, tc.want)
		}
	}
	if strings.Join(published, ",") != "a/b" {
		t.Errorf("published %v", published)
	}
}

func TestProxyRefusesAnythingButAHello(t *testing.T) {
	hello := func(size uint32, typ string) []byte {
		b := make([]byte, 8, size)
		copy(b, typ)
		binary.LittleEndian.PutUint32(b[4:], size)
		return append(b, bytes.Repeat([]byte{0}, int(size)-8)...)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"hello", hello(32, "HELF"), true},
		{"reverse hello", hello(32, "RHEF"), false},
		{"message before hello", hello(32, "MSGF"), false},
		{"oversized hello", hello(maxHello+1, "HELF"), false},
		{"short header", []byte("HEL"), false},
	} {
		a, b := net.Pipe()
		go func() { _, _ = a.Write(tc.in); a.Close() }()
		_ = b.SetDeadline(time.Now().Add(time.Second))
		_, err := readMessage(b, "HEL")
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.name, err)
		}
		b.Close()
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ServerConfig
		err  string
	}{
		{"no filter", ServerConfig{}, "at least one Expose"},
		{"bad filter", ServerConfig{Expose: []Expose{{Filter: "a/#/b"}}}, `expose[0]: invalid topic filter "a/#/b"`},
		{"bad encoding", ServerConfig{Expose: []Expose{{Filter: "a", Encoding: "xml"}}}, `unknown encoding "xml"`},
	} {
		if _, err := NewServer("x", "127.0.0.1:0", tc.cfg); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
	ok := NodeMap{NodeID: "ns=1;s=a", Topic: "t"}
	for _, tc := range []struct {
		name string
		cfg  ClientConfig
		err  string
	}{
		{"no endpoint", ClientConfig{Nodes: []NodeMap{ok}}, `endpoint: "" does not start with opc.tcp://`},
		{"http endpoint", ClientConfig{Endpoint: "http://x", Nodes: []NodeMap{ok}}, "does not start with opc.tcp://"},
		{"no host", ClientConfig{Endpoint: "opc.tcp:///path", Nodes: []NodeMap{ok}}, "has no host"},
		{"bad port", ClientConfig{Endpoint: "opc.tcp://h:/p", Nodes: []NodeMap{ok}}, "bad host:port"},
		{"no nodes", ClientConfig{Endpoint: "opc.tcp://h:4840"}, "needs nodes or browse roots"},
		{"bad node id", ClientConfig{Endpoint: "opc.tcp://h:4840", Nodes: []NodeMap{{NodeID: "ns=x;s=a", Topic: "t"}}}, `nodes[0]: node id "ns=x;s=a"`},
		{"bad numeric id", ClientConfig{Endpoint: "opc.tcp://h:4840", Nodes: []NodeMap{{NodeID: "ns=1;i=abc", Topic: "t"}}}, `nodes[0]: node id "ns=1;i=abc"`},
		{"bad topic", ClientConfig{Endpoint: "opc.tcp://h:4840", Nodes: []NodeMap{{NodeID: "ns=1;s=a", Topic: "a/+"}}}, `invalid topic "a/+"`},
		{"bad mode", ClientConfig{Endpoint: "opc.tcp://h:4840", Nodes: []NodeMap{ok}, SecurityMode: "Encrypt"}, "unknown security mode"},
		{"policy without key", ClientConfig{Endpoint: "opc.tcp://h:4840", Nodes: []NodeMap{ok}, SecurityPolicy: "Basic256Sha256", SecurityMode: "SignAndEncrypt"}, "needs a certificate"},
		{"bad payload", ClientConfig{Endpoint: "opc.tcp://h:4840", Nodes: []NodeMap{ok}, Payload: "xml"}, "unknown payload format"},
	} {
		if _, err := NewClient("x", tc.cfg); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
	c, err := NewClient("plc", ClientConfig{Endpoint: "opc.tcp://h:4840/ua", Nodes: []NodeMap{{NodeID: "nsu=urn:x;s=a", Topic: "t", CommandTopic: "t/set"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.StateTopic != "$SYS/opcua/plc/state" || c.cfg.Nodes[0].ResultTopic != "t/set/result" || c.Addr().String() != "opc.tcp://h:4840/ua" {
		t.Errorf("defaults: %+v", c.cfg)
	}
	nid, err := resolveNodeID("nsu=urn:x;s=a", []string{"http://opcfoundation.org/UA/", "urn:y", "urn:x"})
	if err != nil || nid.String() != "ns=2;s=a" {
		t.Errorf("resolve: %v %v", nid, err)
	}
	if _, err := resolveNodeID("nsu=urn:z;s=a", []string{"urn:x"}); err == nil {
		t.Error("resolved a namespace the server lacks")
	}
}
