package packetstest

import . "github.com/ternmq/broker/packets"

func subscribeCases() []Case {
	return []Case{
		ok("SUBSCRIBE 3.1.1 two filters", "", v4, pkt(0x82, u16(1), str("a/+"), b(1), str("#"), b(2)),
			&Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: bs("a/+"), QoS: 1}, {Filter: bs("#"), QoS: 2}}}),
		ok("SUBSCRIBE 3.1 one filter", "", v3, pkt(0x82, u16(2), str("x"), b(0)),
			&Subscribe{PacketID: 2, Subscriptions: []Subscription{{Filter: bs("x")}}}),
		ok("SUBSCRIBE v5 every option, subscription identifier and user property", "", v5,
			pkt(0x82, u16(3), props(pvbi(PropSubscriptionID, 16384), puser("u", "1")),
				str("a"), b(0x2D), str("$share/g/b"), b(0x19), str("c"), b(0x00)),
			&Subscribe{PacketID: 3, Properties: Properties{Present: set(PropSubscriptionID, PropUserProperty),
				SubscriptionIDs: []uint32{16384}, User: user("u", "1")},
				Subscriptions: []Subscription{
					{Filter: bs("a"), QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2},
					{Filter: bs("$share/g/b"), QoS: 1, RetainAsPublished: true, RetainHandling: 1},
					{Filter: bs("c")}}}),

		bad("SUBSCRIBE flags 0", "[MQTT-3.8.1-1]", v4, mal, pkt(0x80, u16(1), str("a"), b(0))),
		bad("SUBSCRIBE 3.1.1 no filter", "[MQTT-3.8.3-3]", v4, pro, pkt(0x82, u16(1))),
		bad("SUBSCRIBE v5 no filter", "[MQTT-3.8.3-3]", v5, pro, pkt(0x82, u16(1), props())),
		bad("SUBSCRIBE 3.1.1 reserved option bits", "[MQTT-3-8.3-4]", v4, mal, pkt(0x82, u16(1), str("a"), b(0x04))),
		bad("SUBSCRIBE 3.1.1 QoS 3", "[MQTT-3-8.3-4]", v4, mal, pkt(0x82, u16(1), str("a"), b(0x03))),
		bad("SUBSCRIBE v5 reserved option bits", "[MQTT-3.8.3-5]", v5, mal, pkt(0x82, u16(1), props(), str("a"), b(0x40))),
		bad("SUBSCRIBE v5 QoS 3", "[MQTT-3.8.3.1]", v5, pro, pkt(0x82, u16(1), props(), str("a"), b(0x03))),
		bad("SUBSCRIBE v5 retain handling 3", "[MQTT-3.8.3.1]", v5, pro, pkt(0x82, u16(1), props(), str("a"), b(0x30))),
		bad("SUBSCRIBE v5 no local on a shared subscription", "[MQTT-3.8.3-4]", v5, pro,
			pkt(0x82, u16(1), props(), str("$share/g/a"), b(0x04))),
		bad("SUBSCRIBE empty filter", "[MQTT-4.7.3-1]", v4, mal, pkt(0x82, u16(1), str(""), b(0))),
		bad("SUBSCRIBE filter not UTF-8", "[MQTT-1.5.4-1]", v4, mal, pkt(0x82, u16(1), str("\xff"), b(0))),
		bad("SUBSCRIBE missing options byte", "", v4, mal, pkt(0x82, u16(1), str("a"))),
		bad("SUBSCRIBE packet identifier 0", "[MQTT-2.3.1-1]", v5, pro, pkt(0x82, u16(0), props(), str("a"), b(0))),
		bad("SUBSCRIBE v5 two subscription identifiers", "", v5, pro,
			pkt(0x82, u16(1), props(pvbi(PropSubscriptionID, 1), pvbi(PropSubscriptionID, 2)), str("a"), b(0))),
		bad("SUBSCRIBE v5 subscription identifier 0", "", v5, pro, pkt(0x82, u16(1), props(pvbi(PropSubscriptionID, 0)), str("a"), b(0))),
		bad("SUBSCRIBE v5 subscription identifier of five bytes", "[MQTT-1.5.5]", v5, mal,
			pkt(0x82, u16(1), props(b(byte(PropSubscriptionID), 0xff, 0xff, 0xff, 0xff, 0x01)), str("a"), b(0))),
	}
}

func subackCases() []Case {
	return []Case{
		ok("SUBACK 3.1.1 every return code", "[MQTT-3.9.3-2]", v4, pkt(0x90, u16(1), b(0, 1, 2, 0x80)),
			&Suback{PacketID: 1, ReasonCodes: []ReasonCode{GrantedQoS0, GrantedQoS1, GrantedQoS2, UnspecifiedError}}),
		ok("SUBACK 3.1 granted QoS 1", "", v3, pkt(0x90, u16(1), b(1)),
			&Suback{PacketID: 1, ReasonCodes: []ReasonCode{GrantedQoS1}}),
		ok("SUBACK v5 reason string and failure codes", "", v5,
			pkt(0x90, u16(2), props(pstr(PropReasonString, "r")), b(0x00, 0x87, 0xA2, 0x9E)),
			&Suback{PacketID: 2, Properties: Properties{Present: set(PropReasonString), ReasonString: bs("r")},
				ReasonCodes: []ReasonCode{GrantedQoS0, NotAuthorized, WildcardSubscriptionsNotSupported, SharedSubscriptionsNotSupported}}),

		bad("SUBACK 3.1.1 return code 3", "[MQTT-3.9.3-2]", v4, mal, pkt(0x90, u16(1), b(3))),
		bad("SUBACK 3.1.1 v5-only code 0x87", "[MQTT-3.9.3-2]", v4, mal, pkt(0x90, u16(1), b(0x87))),
		bad("SUBACK v5 code not defined for SUBACK", "", v5, mal, pkt(0x90, u16(1), props(), b(0x10))),
		bad("SUBACK without return codes", "", v4, mal, pkt(0x90, u16(1))),
		bad("SUBACK flags 2", "[MQTT-2.1.3-1]", v4, mal, pkt(0x92, u16(1), b(0))),
		bad("SUBACK v5 user property not UTF-8", "[MQTT-1.5.4-1]", v5, mal, pkt(0x90, u16(1), props(puser("k", "\xff")), b(0))),
	}
}

func unsubscribeCases() []Case {
	return []Case{
		ok("UNSUBSCRIBE 3.1.1 two filters", "", v4, pkt(0xA2, u16(4), str("a/#"), str("b")),
			&Unsubscribe{PacketID: 4, Filters: [][]byte{bs("a/#"), bs("b")}}),
		ok("UNSUBSCRIBE v5 user property", "", v5, pkt(0xA2, u16(4), props(puser("k", "v")), str("a")),
			&Unsubscribe{PacketID: 4, Properties: Properties{Present: set(PropUserProperty), User: user("k", "v")},
				Filters: [][]byte{bs("a")}}),
		ok("UNSUBACK 3.1.1", "", v4, pkt(0xB0, u16(4)), &Unsuback{PacketID: 4}),
		ok("UNSUBACK v5 reason codes and reason string", "", v5,
			pkt(0xB0, u16(4), props(pstr(PropReasonString, "r"), puser("k", "v")), b(0x00, 0x11, 0x87)),
			&Unsuback{PacketID: 4, Properties: Properties{Present: set(PropReasonString, PropUserProperty),
				ReasonString: bs("r"), User: user("k", "v")},
				ReasonCodes: []ReasonCode{Success, NoSubscriptionExisted, NotAuthorized}}),

		bad("UNSUBSCRIBE flags 0", "[MQTT-3.10.1-1]", v4, mal, pkt(0xA0, u16(1), str("a"))),
		bad("UNSUBSCRIBE 3.1.1 no filter", "[MQTT-3.10.3-2]", v4, pro, pkt(0xA2, u16(1))),
		bad("UNSUBSCRIBE v5 no filter", "[MQTT-3.10.3-2]", v5, pro, pkt(0xA2, u16(1), props())),
		bad("UNSUBSCRIBE empty filter", "[MQTT-4.7.3-1]", v4, mal, pkt(0xA2, u16(1), str(""))),
		bad("UNSUBSCRIBE v5 subscription identifier not allowed", "", v5, mal,
			pkt(0xA2, u16(1), props(pvbi(PropSubscriptionID, 1)), str("a"))),
		bad("UNSUBSCRIBE truncated filter", "", v4, mal, pkt(0xA2, u16(1), b(0, 3, 'a'))),
		bad("UNSUBACK 3.1.1 trailing byte", "", v4, mal, pkt(0xB0, u16(1), b(0))),
		bad("UNSUBACK v5 without reason codes", "", v5, mal, pkt(0xB0, u16(1), props())),
		bad("UNSUBACK v5 code not defined for UNSUBACK", "", v5, mal, pkt(0xB0, u16(1), props(), b(0x10))),
		bad("UNSUBACK packet identifier 0", "[MQTT-2.3.1-1]", v4, mal, pkt(0xB0, u16(0))),
	}
}
