package packets_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ternmq/broker/packets"
)

// TestAppendRejects: Append refuses packets that cannot go on the wire.
func TestAppendRejects(t *testing.T) {
	huge := make([]byte, 65535)
	manyUsers := make([]packets.UserProperty, 2100) // 2100 × 131 KB > 268435455
	for i := range manyUsers {
		manyUsers[i] = packets.UserProperty{Key: huge, Value: huge}
	}
	sub := func(s packets.Subscription) *packets.Subscribe {
		return &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{s}}
	}
	cases := []struct {
		name string
		p    packets.Packet
		v    packets.Version
		want packets.ReasonCode
	}{
		{"PUBLISH QoS 3 [MQTT-3.3.1-4]", &packets.Publish{QoS: 3, PacketID: 1, Topic: []byte("t")}, packets.V311, packets.MalformedPacket},
		{"PUBLISH QoS 1 packet identifier 0 [MQTT-2.3.1-1]", &packets.Publish{QoS: 1, Topic: []byte("t")}, packets.V5, packets.ProtocolError},
		{"PUBLISH DUP on QoS 0 [MQTT-3.3.1-2]", &packets.Publish{Dup: true, Topic: []byte("t")}, packets.V311, packets.MalformedPacket},
		{"PUBLISH empty topic in 3.1.1", &packets.Publish{}, packets.V311, packets.ProtocolError},
		{"PUBLISH empty topic with alias in 3.1.1", &packets.Publish{Properties: packets.Properties{Present: 1 << packets.PropTopicAlias, TopicAlias: 1}}, packets.V311, packets.ProtocolError},
		{"PUBLISH topic over 65535 bytes", &packets.Publish{Topic: make([]byte, 65536)}, packets.V311, packets.MalformedPacket},
		{"PUBLISH over 268435455 bytes", &packets.Publish{Topic: []byte("t"), Properties: packets.Properties{User: manyUsers}}, packets.V5, packets.PacketTooLarge},
		{"PUBLISH subscription identifier 0", &packets.Publish{Topic: []byte("t"), Properties: packets.Properties{SubscriptionIDs: []uint32{0}}}, packets.V5, packets.ProtocolError},
		{"PUBLISH subscription identifier 268435456", &packets.Publish{Topic: []byte("t"), Properties: packets.Properties{SubscriptionIDs: []uint32{268435456}}}, packets.V5, packets.ProtocolError},
		{"PUBACK packet identifier 0", &packets.Ack{Kind: packets.PUBACK}, packets.V311, packets.ProtocolError},
		{"Ack without kind", &packets.Ack{PacketID: 1}, packets.V311, packets.ImplementationSpecificError},
		{"PUBREL reason code of PUBACK", &packets.Ack{Kind: packets.PUBREL, PacketID: 1, ReasonCode: packets.NoMatchingSubscribers}, packets.V5, packets.ProtocolError},
		{"SUBSCRIBE without subscriptions [MQTT-3.8.3-3]", &packets.Subscribe{PacketID: 1}, packets.V311, packets.ProtocolError},
		{"SUBSCRIBE empty filter", sub(packets.Subscription{}), packets.V311, packets.MalformedPacket},
		{"SUBSCRIBE QoS 3", sub(packets.Subscription{Filter: []byte("a"), QoS: 3}), packets.V5, packets.ProtocolError},
		{"SUBSCRIBE retain handling 3", sub(packets.Subscription{Filter: []byte("a"), RetainHandling: 3}), packets.V5, packets.ProtocolError},
		{"SUBSCRIBE two subscription identifiers", &packets.Subscribe{PacketID: 1, Properties: packets.Properties{SubscriptionIDs: []uint32{1, 2}},
			Subscriptions: []packets.Subscription{{Filter: []byte("a")}}}, packets.V5, packets.ProtocolError},
		{"SUBSCRIBE packet identifier 0", &packets.Subscribe{Subscriptions: []packets.Subscription{{Filter: []byte("a")}}}, packets.V5, packets.ProtocolError},
		{"SUBACK without codes", &packets.Suback{PacketID: 1}, packets.V5, packets.ProtocolError},
		{"SUBACK v5 code of PUBACK", &packets.Suback{PacketID: 1, ReasonCodes: []packets.ReasonCode{packets.NoMatchingSubscribers}}, packets.V5, packets.ProtocolError},
		{"SUBACK 3.1.1 code 3", &packets.Suback{PacketID: 1, ReasonCodes: []packets.ReasonCode{3}}, packets.V311, packets.ProtocolError},
		{"UNSUBSCRIBE without filters [MQTT-3.10.3-2]", &packets.Unsubscribe{PacketID: 1}, packets.V5, packets.ProtocolError},
		{"UNSUBSCRIBE empty filter", &packets.Unsubscribe{PacketID: 1, Filters: [][]byte{{}}}, packets.V5, packets.MalformedPacket},
		{"UNSUBACK v5 without codes", &packets.Unsuback{PacketID: 1}, packets.V5, packets.ProtocolError},
		{"CONNECT unknown level", &packets.Connect{Version: 7}, packets.V5, packets.UnsupportedProtocolVersion},
		{"CONNECT will QoS 3", &packets.Connect{WillFlag: true, WillQoS: 3, WillTopic: []byte("w")}, packets.V311, packets.MalformedPacket},
		{"CONNECT will retain without will", &packets.Connect{WillRetain: true}, packets.V311, packets.MalformedPacket},
		{"CONNECT 3.1.1 password without user name", &packets.Connect{PasswordFlag: true}, packets.V311, packets.MalformedPacket},
		{"CONNACK session present with failure [MQTT-3.2.2-4]", &packets.Connack{SessionPresent: true, ReasonCode: packets.NotAuthorized}, packets.V311, packets.ProtocolError},
		{"CONNACK v5 reason code of PUBACK", &packets.Connack{ReasonCode: packets.NoMatchingSubscribers}, packets.V5, packets.ProtocolError},
		{"DISCONNECT v5 reason code of AUTH", &packets.Disconnect{ReasonCode: packets.ContinueAuthentication}, packets.V5, packets.ProtocolError},
		{"AUTH in 3.1.1", &packets.Auth{}, packets.V311, packets.MalformedPacket},
	}
	for _, c := range cases {
		dst := []byte("prefix")
		out, err := c.p.Append(dst, c.v)
		var e *packets.Error
		if !errors.As(err, &e) || !errors.Is(err, c.want) {
			t.Errorf("%s: Append error %v, want %v", c.name, err, c.want)
		}
		if string(out) != "prefix" {
			t.Errorf("%s: Append wrote % x before failing", c.name, out)
		}
	}
}

// TestAppendConversions: Append writes what the target version has.
func TestAppendConversions(t *testing.T) {
	props := packets.Properties{Present: 1<<packets.PropReasonString | 1<<packets.PropWillDelay,
		ReasonString: []byte("r"), WillDelay: 9, User: []packets.UserProperty{{Key: []byte("k"), Value: []byte("v")}}}
	cases := []struct {
		name string
		p    packets.Packet
		v    packets.Version
		want []byte
	}{
		{"v5 CONNACK code mapped for 3.1.1", &packets.Connack{ReasonCode: packets.Banned}, packets.V311, []byte{0x20, 2, 0, 5}},
		{"v5 CONNACK code without equivalent", &packets.Connack{ReasonCode: packets.QuotaExceeded}, packets.V311, []byte{0x20, 2, 0, 3}},
		{"3.1 CONNACK never sends session present", &packets.Connack{SessionPresent: true}, packets.V31, []byte{0x20, 2, 0, 0}},
		{"SUBACK failure codes become 0x80 in 3.1.1", &packets.Suback{PacketID: 1, ReasonCodes: []packets.ReasonCode{1, packets.NotAuthorized}}, packets.V311, []byte{0x90, 4, 0, 1, 1, 0x80}},
		{"v5 PUBACK success without properties is 2 bytes", &packets.Ack{Kind: packets.PUBACK, PacketID: 5}, packets.V5, []byte{0x40, 2, 0, 5}},
		{"v5 PUBREL reason code without properties", &packets.Ack{Kind: packets.PUBREL, PacketID: 5, ReasonCode: packets.PacketIdentifierNotFound}, packets.V5, []byte{0x62, 3, 0, 5, 0x92}},
		{"3.1.1 PUBACK drops reason code and properties", &packets.Ack{Kind: packets.PUBACK, PacketID: 5, ReasonCode: packets.UnspecifiedError, Properties: props}, packets.V311, []byte{0x40, 2, 0, 5}},
		{"v5 DISCONNECT normal is 2 bytes", &packets.Disconnect{}, packets.V5, []byte{0xE0, 0}},
		{"3.1.1 DISCONNECT drops reason code", &packets.Disconnect{ReasonCode: packets.ServerShuttingDown}, packets.V311, []byte{0xE0, 0}},
		{"3.1.1 UNSUBACK drops reason codes", &packets.Unsuback{PacketID: 2, ReasonCodes: []packets.ReasonCode{0x11}}, packets.V311, []byte{0xB0, 2, 0, 2}},
		{"v5 AUTH success is 2 bytes", &packets.Auth{}, packets.V5, []byte{0xF0, 0}},
		{"properties not allowed on the packet are skipped", &packets.Publish{Topic: []byte("t"), Properties: props}, packets.V5,
			[]byte{0x30, 11, 0, 1, 't', 7, 0x26, 0, 1, 'k', 0, 1, 'v'}},
		{"CONNECT protocol name from the level", &packets.Connect{Version: packets.V31, ClientID: []byte("c")}, packets.V5,
			[]byte{0x10, 15, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 0, 0, 0, 0, 1, 'c'}},
		{"CONNECT without Version uses the argument", &packets.Connect{ClientID: []byte("c")}, packets.V311,
			[]byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0, 0, 0, 0, 1, 'c'}},
	}
	for _, c := range cases {
		got, err := c.p.Append(nil, c.v)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s: Append = % x, %v; want % x", c.name, got, err, c.want)
		}
	}
}

// TestPublishBuffers: header and payload as net.Buffers equal Append.
func TestPublishBuffers(t *testing.T) {
	p := &packets.Publish{QoS: 1, PacketID: 3, Topic: []byte("a/b"), Payload: bytes.Repeat([]byte("x"), 300),
		Properties: packets.Properties{Present: 1 << packets.PropContentType, ContentType: []byte("text/plain")}}
	for _, v := range []packets.Version{packets.V311, packets.V5} {
		want, err := p.Append(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		hdr := make([]byte, 0, 64)
		bufs, err := p.Buffers(hdr, v)
		if err != nil {
			t.Fatal(err)
		}
		if len(bufs) != 2 || &bufs[1][0] != &p.Payload[0] {
			t.Fatalf("Buffers does not hand the payload over in place: %d buffers", len(bufs))
		}
		var w bytes.Buffer
		if _, err := bufs.WriteTo(&w); err != nil || !bytes.Equal(w.Bytes(), want) {
			t.Fatalf("%v: Buffers wrote % x, want % x", v, w.Bytes(), want)
		}
		h, _ := p.AppendHeader(nil, v)
		if !bytes.Equal(h, want[:len(want)-len(p.Payload)]) {
			t.Fatalf("%v: AppendHeader = % x", v, h)
		}
	}
}

// TestClone: a clone shares nothing with the buffer it came from.
func TestClone(t *testing.T) {
	raw, _ := (&packets.Publish{QoS: 1, PacketID: 3, Topic: []byte("a/b"), Payload: []byte("payload"),
		Properties: packets.Properties{Present: 1<<packets.PropContentType | 1<<packets.PropCorrelationData,
			ContentType: []byte("ct"), CorrelationData: []byte("cd"), SubscriptionIDs: []uint32{4},
			User: []packets.UserProperty{{Key: []byte("k"), Value: []byte("v")}}}}).Append(nil, packets.V5)
	p, err := packets.Unmarshal(raw, packets.V5)
	if err != nil {
		t.Fatal(err)
	}
	orig := p.(*packets.Publish)
	c := orig.Clone()
	pc := orig.Properties.Clone()
	want, _ := c.Append(nil, packets.V5)
	for i := range raw {
		raw[i] = 0xEE
	}
	got, _ := c.Append(nil, packets.V5)
	if !bytes.Equal(got, want) {
		t.Fatalf("clone changed with its source buffer")
	}
	if string(pc.ContentType) != "ct" || string(pc.User[0].Value) != "v" || pc.SubscriptionIDs[0] != 4 {
		t.Fatalf("Properties.Clone changed with its source buffer: %+v", pc)
	}
}

// TestPropertiesReset keeps capacity and clears stale references.
func TestPropertiesReset(t *testing.T) {
	p := packets.Properties{Present: 3, ContentType: []byte("x"), SubscriptionIDs: []uint32{1, 2},
		User: []packets.UserProperty{{Key: []byte("k")}}}
	u := p.User
	p.Reset()
	if !p.IsZero() || p.ContentType != nil || cap(p.User) != 1 || cap(p.SubscriptionIDs) != 2 {
		t.Fatalf("after Reset: %+v", p)
	}
	if u[0].Key != nil {
		t.Fatal("Reset left a reference to old bytes in the User backing array")
	}
}

// TestPacketPools: pooled packets come back reset.
func TestPacketPools(t *testing.T) {
	p := packets.GetPublish()
	p.Topic = []byte("t")
	packets.PutPublish(p)
	if q := packets.GetPublish(); q.Topic != nil {
		t.Fatal("pooled Publish not reset")
	}
	a := packets.GetAck(packets.PUBREC)
	a.PacketID = 9
	packets.PutAck(a)
	if b := packets.GetAck(packets.PUBCOMP); b.Kind != packets.PUBCOMP || b.PacketID != 0 {
		t.Fatalf("pooled Ack: %+v", b)
	}
}

// TestEncodeZeroAlloc: encoding into a reused buffer does not allocate.
func TestEncodeZeroAlloc(t *testing.T) {
	p := &packets.Publish{QoS: 1, PacketID: 3, Topic: []byte("a/b"), Payload: make([]byte, 100),
		Properties: packets.Properties{Present: 1 << packets.PropContentType, ContentType: []byte("ct"),
			User: []packets.UserProperty{{Key: []byte("k"), Value: []byte("v")}}}}
	ack := &packets.Ack{Kind: packets.PUBACK, PacketID: 3, ReasonCode: packets.NoMatchingSubscribers}
	buf := make([]byte, 0, 512)
	n := testing.AllocsPerRun(100, func() {
		b, _ := p.Append(buf[:0], packets.V5)
		_, _ = ack.Append(b, packets.V5)
	})
	if n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
