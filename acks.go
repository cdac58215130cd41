package broker

import "github.com/ternmq/broker/packets"

// handleAck handles PUBACK, PUBREC, PUBREL and PUBCOMP from the client.
func (c *conn) handleAck(fh packets.FixedHeader, body []byte) error {
	pk := packets.Ack{Kind: fh.Type}
	if err := pk.Decode(fh.Flags, body, c.version); err != nil {
		return err
	}
	s := c.sess
	var reply *packets.Ack
	s.mu.Lock()
	switch fh.Type {
	case packets.PUBACK: // QoS 1 delivery done [MQTT-4.3.2]
		if d, ok := s.inflight.Get(pk.PacketID); ok && d.QoS == 1 {
			s.inflight.Remove(pk.PacketID)
			c.b.ackedLocked(s, d.Seq)
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
			// A failing PUBREC ends the flow [MQTT-4.3.3-?]: the id is free again.
			s.inflight.Remove(pk.PacketID)
		default:
			d.Release = true
			reply = &packets.Ack{Kind: packets.PUBREL, PacketID: pk.PacketID} // [MQTT-4.3.3-4]
		}
	case packets.PUBREL: // inbound QoS 2 released
		_, ok := s.awaitingRel[pk.PacketID]
		delete(s.awaitingRel, pk.PacketID)
		reply = &packets.Ack{Kind: packets.PUBCOMP, PacketID: pk.PacketID}
		if !ok && v5(c.version) {
			reply.ReasonCode = packets.PacketIdentifierNotFound
		}
	case packets.PUBCOMP: // QoS 2 delivery done
		if d, ok := s.inflight.Get(pk.PacketID); ok && d.QoS == 2 {
			s.inflight.Remove(pk.PacketID)
			c.b.ackedLocked(s, d.Seq)
		}
	}
	if reply != nil && !c.dead {
		var err error
		if c.ctrl, err = reply.Append(c.ctrl, c.version); err != nil {
			c.b.log.Error("encoding ack", "err", err)
		}
	}
	s.mu.Unlock()
	return nil
}
