// Package packetstest is a catalogue of named wire-level MQTT packets,
// valid and invalid, for the three protocol levels. The packets package
// tests its codec with it; the broker can replay the same bytes through a
// connection and expect the same verdicts.
package packetstest

import (
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/packets/codec"
)

// Case is one packet of the catalogue.
type Case struct {
	Name    string          // what the case shows
	Spec    string          // the normative statement it exercises, "[MQTT-3.3.1-4]", when there is one
	Version packets.Version // the protocol level the bytes are read with
	Raw     []byte          // the complete packet, fixed header included
	// Want is the decoded packet, nil when the bytes must be rejected.
	Want packets.Packet
	// Code is the reason code of the rejection when Want is nil.
	Code packets.ReasonCode
	// NonCanonical marks a valid packet that Tern re-encodes differently
	// (for example an AUTH with a reason code but no property length):
	// encoding Want does not give back Raw, but decoding that encoding
	// gives Want again.
	NonCanonical bool
}

// Valid reports whether the case must decode.
func (c Case) Valid() bool { return c.Want != nil }

// Cases returns the whole catalogue. Every call builds fresh values, so a
// test may modify what it gets.
func Cases() []Case {
	var all []Case
	for _, part := range [...]func() []Case{connectCases, connackCases, publishCases, ackCases,
		subscribeCases, subackCases, unsubscribeCases, controlCases, propertyCases, headerCases} {
		all = append(all, part()...)
	}
	return all
}

// ByType returns the cases whose first byte has packet type t.
func ByType(t packets.Type) []Case {
	var out []Case
	for _, c := range Cases() {
		if len(c.Raw) > 0 && packets.Type(c.Raw[0]>>4) == t {
			out = append(out, c)
		}
	}
	return out
}

// Helpers that build wire bytes, so that cases read like the specification's
// figures and lengths are never counted by hand.

// pkt returns a packet: the first byte, the remaining length, the parts.
func pkt(first byte, parts ...[]byte) []byte {
	body := cat(parts...)
	return append(codec.AppendVBI([]byte{first}, uint32(len(body))), body...)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func b(v ...byte) []byte { return v }

func str(s string) []byte { return codec.AppendString(nil, []byte(s)) }

func u16(v uint16) []byte { return codec.AppendUint16(nil, v) }

// props returns a property length and the properties.
func props(parts ...[]byte) []byte {
	body := cat(parts...)
	return append(codec.AppendVBI(nil, uint32(len(body))), body...)
}

func p8(id packets.PropID, v byte) []byte { return []byte{byte(id), v} }

func p16(id packets.PropID, v uint16) []byte { return codec.AppendUint16([]byte{byte(id)}, v) }

func p32(id packets.PropID, v uint32) []byte { return codec.AppendUint32([]byte{byte(id)}, v) }

func pvbi(id packets.PropID, v uint32) []byte { return codec.AppendVBI([]byte{byte(id)}, v) }

func pstr(id packets.PropID, s string) []byte { return append([]byte{byte(id)}, str(s)...) }

func puser(k, v string) []byte { return cat(b(byte(packets.PropUserProperty)), str(k), str(v)) }

func bs(s string) []byte { return []byte(s) }

func set(ids ...packets.PropID) packets.PropSet {
	var s packets.PropSet
	for _, id := range ids {
		s.Add(id)
	}
	return s
}

func user(kv ...string) []packets.UserProperty {
	var u []packets.UserProperty
	for i := 0; i+1 < len(kv); i += 2 {
		u = append(u, packets.UserProperty{Key: bs(kv[i]), Value: bs(kv[i+1])})
	}
	return u
}

// bad is an invalid case.
func bad(name, spec string, v packets.Version, code packets.ReasonCode, raw []byte) Case {
	return Case{Name: name, Spec: spec, Version: v, Raw: raw, Code: code}
}

// ok is a valid case.
func ok(name, spec string, v packets.Version, raw []byte, want packets.Packet) Case {
	return Case{Name: name, Spec: spec, Version: v, Raw: raw, Want: want}
}

const (
	v3  = packets.V31
	v4  = packets.V311
	v5  = packets.V5
	mal = packets.MalformedPacket
	pro = packets.ProtocolError
)
