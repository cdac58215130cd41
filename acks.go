package broker

import (
	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
)

// handleAck handles PUBACK, PUBREC, PUBREL and PUBCOMP from the client.
func (c *conn) handleAck(fh packets.FixedHeader, body []byte) error {
	pk := packets.Ack{Kind: fh.Type}
	if err := pk.Decode(fh.Flags, body, c.version); err != nil {
		return err
	}
	s := c.sess
	var reply *packets.Ack
	var saveRel bool
	var doneSeq uint64           // stored delivery finished: remove it
	var released *storage.Queued // stored QoS 2 delivery now waiting for PUBCOMP
	var done sessions.Delivery   // the delivery PUBACK or PUBCOMP completed
	s.mu.Lock()
	switch fh.Type {
	case packets.PUBACK: // QoS 1 delivery done [MQTT-4.3.2]
		if d, ok := s.inflight.Get(pk.PacketID); ok && d.QoS == 1 {
			doneSeq, done = d.Seq, *d
			s.inflight.Remove(pk.PacketID)
		}
	case packets.PUBREC: // QoS 2, first half [MQTT-4.3.3]
		d, ok := s.inflight.Get(pk.PacketID)
		switch {
		case !ok || d.QoS != 2:
			if v5(c.version) {
				reply = &packets.Ack{Kind: packets.PUBREL, PacketID: pk.PacketID, ReasonCode: packets.PacketIdentifierNotFound}
			} else {
				reply = &packets.Ack{Kind: packets.PUBREL, PacketID: pk.PacketID}
			}
		case pk.ReasonCode.IsError():
			// A PUBREC with a failure code ends the flow [MQTT-4.3.3-4 (v5)]: the id is free again.
			doneSeq = d.Seq
			s.inflight.Remove(pk.PacketID)
		default:
			if !d.Release && d.Seq != 0 {
				released = &storage.Queued{Seq: d.Seq, PacketID: d.ID, State: storage.StateReleased}
			}
			d.Release = true
			reply = &packets.Ack{Kind: packets.PUBREL, PacketID: pk.PacketID} // [MQTT-4.3.3-4]
		}
	case packets.PUBREL: // inbound QoS 2 released
		_, ok := s.awaitingRel[pk.PacketID]
		delete(s.awaitingRel, pk.PacketID)
		saveRel = ok && s.durable.Load()
		reply = &packets.Ack{Kind: packets.PUBCOMP, PacketID: pk.PacketID}
		if !ok && v5(c.version) {
			reply.ReasonCode = packets.PacketIdentifierNotFound
		}
	case packets.PUBCOMP: // QoS 2 delivery done
		if d, ok := s.inflight.Get(pk.PacketID); ok && d.QoS == 2 {
			doneSeq, done = d.Seq, *d
			s.inflight.Remove(pk.PacketID)
		}
	}
	if reply != nil && !c.dead && !saveRel {
		n := len(c.ctrl)
		var err error
		if c.ctrl, err = reply.Append(c.ctrl, c.version); err != nil {
			c.b.log.Error("encoding ack", "err", err)
		} else {
			c.b.metrics.PacketSent(c.info.Listener, reply.Kind, len(c.ctrl)-n)
		}
	}
	s.mu.Unlock()
	b := c.b
	if released != nil {
		b.updateStored(s, released)
	}
	if doneSeq != 0 {
		c.acked = append(c.acked, doneSeq) // removed by flushAcked after this read batch
	}
	if done.Msg != nil {
		b.delivered(&c.info, &done)
	}
	if saveRel {
		// The released identifier is stored before PUBCOMP goes out: after
		// a crash the client may reuse it for a new message, which must not
		// be taken for a duplicate of the old one [MQTT-4.3.3].
		if err := b.saveSession(s); err != nil {
			// Not stored: no PUBCOMP. The client sends PUBREL again
			// after reconnecting.
			return &packets.Error{Packet: packets.PUBREL, Field: "storage", Reason: err.Error(), Code: packets.ImplementationSpecificError}
		}
		c.send(reply)
	}
	return nil
}
