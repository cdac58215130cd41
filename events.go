package broker

import (
	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
)

// The events below are counted in Stats and Metrics and reported to the
// hooks. Callers hold no broker lock: hooks may call back into the broker.

// refused counts a refused connection and tells the hooks.
func (b *Broker) refused(c *conn, code packets.ReasonCode) {
	b.metrics.ConnectRefused(c.info.Listener, code)
	if len(b.hooks.refused) == 0 {
		return
	}
	info := c.info
	if info.Listener == "" {
		info.Listener, info.Remote = c.info.Listener, c.nc.RemoteAddr()
	}
	for _, h := range b.hooks.refused {
		h.OnConnectRefused(&info, code)
	}
}

// dropped counts a dropped delivery and tells the hooks. The caller holds
// no lock: a DropHook may call back into the broker.
func (b *Broker) dropped(clientID string, m *sessions.Message, why DropReason) {
	b.stats.MessagesDropped.Add(1)
	b.metrics.MessageDropped(why)
	if len(b.hooks.drop) == 0 {
		return
	}
	em := exported(m, nil, b.now())
	for _, h := range b.hooks.drop {
		h.OnDropped(clientID, em, why)
	}
}

// droppedAll reports every message of ms as dropped and returns ms emptied
// for reuse.
func (b *Broker) droppedAll(clientID string, ms []*sessions.Message, why DropReason) []*sessions.Message {
	for _, m := range ms {
		b.dropped(clientID, m, why)
	}
	clear(ms)
	return ms[:0]
}

// delivered counts a completed delivery (QoS 0 written, QoS 1/2
// acknowledged) and tells the hooks. The caller holds no lock.
func (b *Broker) delivered(c *ClientInfo, d *sessions.Delivery) {
	b.metrics.MessageDelivered(d.QoS)
	if len(b.hooks.delivered) == 0 {
		return
	}
	m := exported(d.Msg, d.SubIDs, b.now())
	m.QoS, m.Retain = d.QoS, d.Retain
	for _, h := range b.hooks.delivered {
		h.OnDelivered(c, m)
	}
}
