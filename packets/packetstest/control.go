package packetstest

import . "github.com/ternmq/broker/packets"

func controlCases() []Case {
	var cs []Case
	for _, v := range []Version{v3, v4, v5} {
		cs = append(cs,
			ok("PINGREQ "+v.String(), "", v, b(0xC0, 0), &Pingreq{}),
			ok("PINGRESP "+v.String(), "", v, b(0xD0, 0), &Pingresp{}),
		)
	}
	for _, v := range []Version{v3, v4} {
		cs = append(cs, ok("DISCONNECT "+v.String(), "", v, b(0xE0, 0), &Disconnect{}))
	}
	return append(cs,
		bad("PINGREQ with a body", "", v4, mal, b(0xC0, 1, 0)),
		bad("PINGREQ flags 1", "[MQTT-2.1.3-1]", v4, mal, b(0xC1, 0)),
		bad("PINGRESP with a body", "", v5, mal, b(0xD0, 1, 0)),
		bad("PINGRESP flags 8", "[MQTT-2.1.3-1]", v5, mal, b(0xD8, 0)),

		ok("DISCONNECT v5 normal, remaining length 0", "[MQTT-3.14.2.1]", v5, b(0xE0, 0), &Disconnect{}),
		ok("DISCONNECT v5 reason code only", "[MQTT-3.14.2.1]", v5, b(0xE0, 1, 0x04), &Disconnect{ReasonCode: DisconnectWithWill}),
		ok("DISCONNECT v5 every disconnect property", "", v5,
			pkt(0xE0, b(0x9C), props(p32(PropSessionExpiry, 0), pstr(PropServerReference, "b:1883"),
				pstr(PropReasonString, "move"), puser("k", "v"))),
			&Disconnect{ReasonCode: UseAnotherServer, Properties: Properties{
				Present:         set(PropSessionExpiry, PropServerReference, PropReasonString, PropUserProperty),
				ServerReference: bs("b:1883"), ReasonString: bs("move"), User: user("k", "v")}}),
		Case{Name: "DISCONNECT v5 success with empty properties", Version: v5, NonCanonical: true,
			Raw: b(0xE0, 2, 0, 0), Want: &Disconnect{}},
		bad("DISCONNECT 3.1.1 with a body", "", v4, mal, b(0xE0, 1, 0)),
		bad("DISCONNECT v5 reason code not defined for DISCONNECT", "", v5, mal, b(0xE0, 1, 0x05)),
		bad("DISCONNECT v5 flags 1", "[MQTT-3.14.1-1]", v5, mal, b(0xE1, 0)),
		bad("DISCONNECT v5 topic alias not allowed", "", v5, mal, pkt(0xE0, b(0), props(p16(PropTopicAlias, 1)))),
		bad("DISCONNECT v5 truncated properties", "", v5, mal, pkt(0xE0, b(0), b(3, byte(PropSessionExpiry), 0))),

		ok("AUTH v5 success, remaining length 0", "[MQTT-3.15.2.1]", v5, b(0xF0, 0), &Auth{}),
		ok("AUTH v5 continue with every auth property", "", v5,
			pkt(0xF0, b(0x18), props(pstr(PropAuthMethod, "SCRAM-SHA-1"), pstr(PropAuthData, "\x01\x02"),
				pstr(PropReasonString, "step 2"), puser("k", "v"))),
			&Auth{ReasonCode: ContinueAuthentication, Properties: Properties{
				Present:    set(PropAuthMethod, PropAuthData, PropReasonString, PropUserProperty),
				AuthMethod: bs("SCRAM-SHA-1"), AuthData: bs("\x01\x02"), ReasonString: bs("step 2"), User: user("k", "v")}}),
		Case{Name: "AUTH v5 reason code without property length", Version: v5, NonCanonical: true,
			Raw: b(0xF0, 1, 0x19), Want: &Auth{ReasonCode: ReAuthenticate}},
		bad("AUTH in 3.1.1", "[MQTT-2.1.2]", v4, mal, b(0xF0, 0)),
		bad("AUTH v5 reason code not defined for AUTH", "", v5, mal, b(0xF0, 1, 0x01)),
		bad("AUTH v5 flags 1", "[MQTT-3.15.1-1]", v5, mal, b(0xF1, 0)),
		bad("AUTH v5 authentication method twice", "", v5, pro,
			pkt(0xF0, b(0x18), props(pstr(PropAuthMethod, "a"), pstr(PropAuthMethod, "a")))),
		bad("AUTH v5 authentication data without method", "", v5, pro, pkt(0xF0, b(0x18), props(pstr(PropAuthData, "d")))),
	)
}

// propertyCases exercise the property rules that the packet cases do not.
func propertyCases() []Case {
	pub := func(p ...[]byte) []byte { return pkt(0x30, str("t"), props(p...)) }
	return []Case{
		bad("property identifier 0", "[MQTT-2.2.2.2]", v5, mal, pub(b(0x00, 0))),
		bad("property identifier 0x04 unassigned", "[MQTT-2.2.2.2]", v5, mal, pub(b(0x04, 0))),
		bad("property identifier 0x7F unassigned", "[MQTT-2.2.2.2]", v5, mal, pub(b(0x7F, 0))),
		bad("property identifier not minimally encoded", "[MQTT-1.5.5-1]", v5, mal, pub(b(0x81, 0x00, 1))),
		bad("session expiry on PUBLISH", "[MQTT-2.2.2.2]", v5, mal, pub(p32(PropSessionExpiry, 1))),
		bad("will delay on PUBLISH", "[MQTT-2.2.2.2]", v5, mal, pub(p32(PropWillDelay, 1))),
		bad("reason string on PUBLISH", "[MQTT-2.2.2.2]", v5, mal, pub(pstr(PropReasonString, "r"))),
		bad("maximum QoS on PUBLISH", "[MQTT-2.2.2.2]", v5, mal, pub(p8(PropMaximumQoS, 0))),
		bad("payload format 2", "", v5, pro, pub(p8(PropPayloadFormat, 2))),
		bad("payload format twice", "", v5, pro, pub(p8(PropPayloadFormat, 0), p8(PropPayloadFormat, 0))),
		bad("message expiry twice", "", v5, pro, pub(p32(PropMessageExpiry, 1), p32(PropMessageExpiry, 1))),
		bad("content type twice", "", v5, pro, pub(pstr(PropContentType, "a"), pstr(PropContentType, "a"))),
		bad("response topic twice", "", v5, pro, pub(pstr(PropResponseTopic, "a"), pstr(PropResponseTopic, "a"))),
		bad("correlation data twice", "", v5, pro, pub(pstr(PropCorrelationData, "a"), pstr(PropCorrelationData, "a"))),
		bad("topic alias twice", "", v5, pro, pub(p16(PropTopicAlias, 1), p16(PropTopicAlias, 1))),
		bad("subscription identifier 0 on PUBLISH", "", v5, pro, pub(pvbi(PropSubscriptionID, 0))),
		bad("subscription identifier not minimally encoded", "[MQTT-1.5.5-1]", v5, mal,
			pub(b(byte(PropSubscriptionID), 0x81, 0x00))),
		bad("message expiry truncated", "", v5, mal, pub(b(byte(PropMessageExpiry), 0, 0))),
		bad("topic alias truncated", "", v5, mal, pub(b(byte(PropTopicAlias), 0))),
		bad("payload format without value", "", v5, mal, pub(b(byte(PropPayloadFormat)))),
		bad("content type not UTF-8", "[MQTT-1.5.4-1]", v5, mal, pub(pstr(PropContentType, "\xff"))),
		bad("response topic with U+0000", "[MQTT-1.5.4-2]", v5, mal, pub(pstr(PropResponseTopic, "a\x00"))),
		bad("correlation data truncated", "", v5, mal, pub(b(byte(PropCorrelationData), 0, 4, 1))),
		bad("user property without value", "", v5, mal, pub(cat(b(byte(PropUserProperty)), str("k")))),
		bad("user property key with a surrogate", "[MQTT-1.5.4-1]", v5, mal, pub(puser("\xed\xbf\xbf", "v"))),
		ok("user property with empty key and value", "", v5, pub(puser("", "")),
			&Publish{Topic: bs("t"), Properties: Properties{Present: set(PropUserProperty), User: user("", "")}}),
		ok("correlation data may hold any byte", "", v5, pub(pstr(PropCorrelationData, "\x00\xff")),
			&Publish{Topic: bs("t"), Properties: Properties{Present: set(PropCorrelationData), CorrelationData: bs("\x00\xff")}}),
	}
}

// headerCases are fixed headers that no packet type can accept.
func headerCases() []Case {
	return []Case{
		bad("packet type 0", "[MQTT-2.1.2]", v4, mal, b(0x00, 0)),
		bad("remaining length of five bytes", "[MQTT-1.5.5]", v4, mal, b(0x30, 0xff, 0xff, 0xff, 0xff, 0x7f)),
		bad("remaining length not minimally encoded", "[MQTT-1.5.5-1]", v5, mal, b(0xC0, 0x80, 0x00)),
		bad("remaining length beyond the bytes", "", v4, mal, b(0x30, 10, 0, 1, 't')),
		bad("remaining length short of the fields", "", v4, mal, b(0x30, 2, 0, 3, 't', 'o', 'p')),
	}
}
