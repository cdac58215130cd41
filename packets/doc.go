// Package packets encodes and decodes the MQTT control packets of protocol
// levels 3 (MQTT 3.1, "MQIsdp"), 4 (3.1.1) and 5 (5.0).
//
// # One type per packet, the version as an argument
//
// Each control packet has one struct (Publish, Connect, Ack, ...) that
// serves every protocol level; Decode and Append take the Version. We chose
// this over separate v3 and v5 packages because:
//
//   - the broker handles one Publish whatever the client speaks: a message
//     published by a 3.1.1 client and delivered to a 5.0 subscriber is the
//     same value, encoded twice;
//   - v3 is a strict subset of v5 on the wire: v5 adds reason codes and
//     properties in fixed places, so one decoder with "if v == V5" at those
//     places covers both;
//   - it is half the code, and half the tests to keep in step;
//   - conversion between versions is free: no copying from one struct to
//     another. Append writes only what the target version has (properties
//     and v5 reason codes are dropped for 3.1.x, CONNACK reason codes are
//     mapped with ConnackV3).
//
// CONNECT is the exception that proves the rule: it carries its own level,
// so Connect.Decode reads Version from the packet and Append writes it.
//
// # Decoding and lifetimes
//
// A Reader cuts packets from a connection and returns each body; Decode
// parses a body. Decoding does not copy: every []byte of a decoded packet
// (topic, payload, client identifier, property values, user properties)
// aliases the buffer it was decoded from. With a Reader that buffer is valid
// until the next call to Reader.Next or Reader.Release; with your own
// buffer, until you reuse it. Copy what you keep: Publish.Clone and
// Properties.Clone make deep copies in one allocation. Reset clears a
// packet and keeps the capacity of its slices, so a packet reused for the
// next Decode does not allocate.
//
// Decoding is strict: every violation of the specification a codec can
// see is an *Error naming the packet, the field and the reason, with the
// reason code the broker must answer with (MalformedPacket, ProtocolError,
// TopicNameInvalid, PacketTooLarge, UnsupportedProtocolVersion, ...);
// errors.Is(err, packets.ProtocolError) and CodeOf(err) read it. Rules that
// need session state (topic alias ranges, receive maximum) or topic
// semantics (filter syntax, beyond being non-empty UTF-8) are the broker's.
//
// # Encoding
//
// Append appends the complete packet to a caller buffer and returns it, so
// a connection's writer reuses one buffer for every packet: encoding does
// not allocate. Payloads are copied once, into that buffer. To avoid even
// that copy, Publish.AppendHeader writes everything but the payload and
// Publish.Buffers returns header and payload as net.Buffers for a vectored
// write. Append returns an *Error for a packet that cannot be sent (QoS 3,
// packet identifier 0 where one is needed, more than 268,435,455 bytes, a
// string longer than 65,535 bytes, a reason code the packet does not
// define). Properties that the packet type does not allow are skipped.
//
// The subpackage codec holds the data representations (variable byte
// integers, strings, ...) that the packets are built from.
package packets
