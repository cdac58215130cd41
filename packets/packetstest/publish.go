package packetstest

import . "github.com/ternmq/broker/packets"

func publishCases() []Case {
	allProps := props(p8(PropPayloadFormat, 1), p32(PropMessageExpiry, 120), pstr(PropContentType, "application/json"),
		pstr(PropResponseTopic, "reply/to"), pstr(PropCorrelationData, "id-1"), pvbi(PropSubscriptionID, 7),
		pvbi(PropSubscriptionID, 300), p16(PropTopicAlias, 4), puser("k", "v"), puser("k", "w"))
	return []Case{
		ok("PUBLISH 3.1.1 QoS 0", "", v4, pkt(0x30, str("a/b"), bs("hello")),
			&Publish{Topic: bs("a/b"), Payload: bs("hello")}),
		ok("PUBLISH 3.1.1 QoS 1 retained", "", v4, pkt(0x33, str("a/b"), u16(10), bs("x")),
			&Publish{QoS: 1, Retain: true, Topic: bs("a/b"), PacketID: 10, Payload: bs("x")}),
		ok("PUBLISH 3.1.1 QoS 2 duplicate, empty payload", "", v4, pkt(0x3C, str("t"), u16(65535)),
			&Publish{Dup: true, QoS: 2, Topic: bs("t"), PacketID: 65535}),
		ok("PUBLISH 3.1 QoS 1", "", v3, pkt(0x32, str("x/y"), u16(1), bs("31")),
			&Publish{QoS: 1, Topic: bs("x/y"), PacketID: 1, Payload: bs("31")}),
		ok("PUBLISH topic with U+FEFF kept", "[MQTT-1.5.4-3]", v4, pkt(0x30, str("\uFEFFa")),
			&Publish{Topic: bs("\uFEFFa")}),
		ok("PUBLISH v5 QoS 0 without properties", "", v5, pkt(0x30, str("a"), props(), bs("p")),
			&Publish{Topic: bs("a"), Payload: bs("p")}),
		ok("PUBLISH v5 every publish property, repeated subscription identifiers", "[MQTT-3.3.4-3]", v5,
			pkt(0x32, str("a/b"), u16(9), allProps, bs("{}")),
			&Publish{QoS: 1, Topic: bs("a/b"), PacketID: 9, Payload: bs("{}"), Properties: Properties{
				Present: set(PropPayloadFormat, PropMessageExpiry, PropContentType, PropResponseTopic,
					PropCorrelationData, PropSubscriptionID, PropTopicAlias, PropUserProperty),
				PayloadFormat: 1, MessageExpiry: 120, ContentType: bs("application/json"), ResponseTopic: bs("reply/to"),
				CorrelationData: bs("id-1"), SubscriptionIDs: []uint32{7, 300}, TopicAlias: 4,
				User: user("k", "v", "k", "w")}}),
		ok("PUBLISH v5 empty topic with a topic alias", "[MQTT-3.3.2.3.4]", v5, pkt(0x30, str(""), props(p16(PropTopicAlias, 1)), bs("p")),
			&Publish{Topic: bs(""), Payload: bs("p"), Properties: Properties{Present: set(PropTopicAlias), TopicAlias: 1}}),
		ok("PUBLISH v5 subscription identifier 268435455", "", v5, pkt(0x30, str("a"), props(pvbi(PropSubscriptionID, 268435455))),
			&Publish{Topic: bs("a"), Properties: Properties{Present: set(PropSubscriptionID), SubscriptionIDs: []uint32{268435455}}}),

		bad("PUBLISH QoS 3", "[MQTT-3.3.1-4]", v4, mal, pkt(0x36, str("a"), u16(1))),
		bad("PUBLISH v5 QoS 3", "[MQTT-3.3.1-4]", v5, mal, pkt(0x36, str("a"), u16(1), props())),
		bad("PUBLISH DUP on QoS 0", "[MQTT-3.3.1-2]", v4, mal, pkt(0x38, str("a"))),
		bad("PUBLISH topic with +", "[MQTT-3.3.2-2]", v4, TopicNameInvalid, pkt(0x30, str("a/+"))),
		bad("PUBLISH topic with #", "[MQTT-3.3.2-2]", v5, TopicNameInvalid, pkt(0x30, str("#"), props())),
		bad("PUBLISH topic not UTF-8", "[MQTT-1.5.4-1]", v4, mal, pkt(0x30, str("a\xc0\xafb"))),
		bad("PUBLISH topic with a surrogate", "[MQTT-1.5.4-1]", v4, mal, pkt(0x30, str("a\xed\xa0\x80"))),
		bad("PUBLISH topic with U+0000", "[MQTT-1.5.4-2]", v4, mal, pkt(0x30, str("a\x00"))),
		bad("PUBLISH 3.1.1 QoS 1 packet identifier 0", "[MQTT-2.3.1-1]", v4, mal, pkt(0x32, str("a"), u16(0))),
		bad("PUBLISH v5 QoS 2 packet identifier 0", "[MQTT-2.3.1-1]", v5, pro, pkt(0x34, str("a"), u16(0), props())),
		bad("PUBLISH 3.1.1 empty topic", "[MQTT-4.7.3-1]", v4, pro, pkt(0x30, str(""))),
		bad("PUBLISH v5 empty topic without topic alias", "[MQTT-4.7.3-1]", v5, pro, pkt(0x30, str(""), props())),
		bad("PUBLISH v5 topic alias 0", "[MQTT-3.3.2-8]", v5, TopicAliasInvalid, pkt(0x30, str("a"), props(p16(PropTopicAlias, 0)))),
		bad("PUBLISH topic longer than the packet", "", v4, mal, pkt(0x30, b(0, 9), bs("abc"))),
		bad("PUBLISH QoS 1 without packet identifier", "", v4, mal, pkt(0x32, str("a"), b(1))),
		bad("PUBLISH v5 without property length", "", v5, mal, pkt(0x30, str("a"))),
		bad("PUBLISH v5 property length beyond the packet", "", v5, mal, pkt(0x30, str("a"), b(5, 1, 0))),
		bad("PUBLISH v5 property longer than the property length", "", v5, mal, pkt(0x30, str("a"), b(2), p32(PropMessageExpiry, 1))),
		bad("PUBLISH v5 property length not minimal", "[MQTT-1.5.5-1]", v5, mal, pkt(0x30, str("a"), b(0x80, 0x00))),
	}
}

// ack builds a PUBACK, PUBREC, PUBREL or PUBCOMP.
func ack(t Type, parts ...[]byte) []byte {
	first := byte(t) << 4
	if t == PUBREL {
		first |= 2
	}
	return pkt(first, parts...)
}

func ackCases() []Case {
	var cs []Case
	for _, t := range []Type{PUBACK, PUBREC, PUBREL, PUBCOMP} {
		n := t.String()
		rc := NoMatchingSubscribers
		if t == PUBREL || t == PUBCOMP {
			rc = PacketIdentifierNotFound
		}
		cs = append(cs,
			ok(n+" 3.1.1", "", v4, ack(t, u16(7)), &Ack{Kind: t, PacketID: 7}),
			ok(n+" 3.1", "", v3, ack(t, u16(1)), &Ack{Kind: t, PacketID: 1}),
			ok(n+" v5 success, remaining length 2", "[MQTT-3.4.2.1]", v5, ack(t, u16(7)), &Ack{Kind: t, PacketID: 7}),
			ok(n+" v5 reason code without properties", "[MQTT-3.4.2.1]", v5, ack(t, u16(7), b(byte(rc))),
				&Ack{Kind: t, PacketID: 7, ReasonCode: rc}),
			ok(n+" v5 reason string and user properties", "", v5,
				ack(t, u16(7), b(byte(rc)), props(pstr(PropReasonString, "why"), puser("a", "b"))),
				&Ack{Kind: t, PacketID: 7, ReasonCode: rc, Properties: Properties{
					Present: set(PropReasonString, PropUserProperty), ReasonString: bs("why"), User: user("a", "b")}}),
			Case{Name: n + " v5 success with empty properties", Version: v5, NonCanonical: true,
				Raw: ack(t, u16(7), b(0), props()), Want: &Ack{Kind: t, PacketID: 7}},
			bad(n+" packet identifier 0", "[MQTT-2.3.1-1]", v5, pro, ack(t, u16(0))),
			bad(n+" 3.1.1 packet identifier 0", "[MQTT-2.3.1-1]", v4, mal, ack(t, u16(0))),
			bad(n+" 3.1.1 trailing byte", "", v4, mal, ack(t, u16(7), b(0))),
			bad(n+" truncated packet identifier", "", v4, mal, ack(t, b(7))),
			bad(n+" v5 reason code not defined for it", "", v5, mal, ack(t, u16(7), b(0x05))),
			bad(n+" v5 reason string twice", "", v5, pro,
				ack(t, u16(7), b(0), props(pstr(PropReasonString, "a"), pstr(PropReasonString, "b")))),
			bad(n+" v5 topic alias not allowed", "", v5, mal, ack(t, u16(7), b(0), props(p16(PropTopicAlias, 1)))),
			bad(n+" v5 trailing byte after properties", "", v5, mal, ack(t, u16(7), b(0), props(), b(0))),
		)
	}
	cs = append(cs,
		bad("PUBREL flags 0", "[MQTT-3.6.1-1]", v4, mal, pkt(0x60, u16(7))),
		bad("PUBACK flags 2", "[MQTT-2.1.3-1]", v4, mal, pkt(0x42, u16(7))),
		bad("PUBCOMP v5 reason code of PUBACK", "", v5, mal, pkt(0x70, u16(7), b(0x10))),
		bad("PUBACK v5 reason code of PUBCOMP", "", v5, mal, pkt(0x40, u16(7), b(0x92))),
	)
	return cs
}
