package broker

import (
	"time"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
)

// will is a client's will message, kept from CONNECT until the connection
// ends [MQTT-3.1.2-8].
type will struct {
	msg   *sessions.Message
	delay uint32 // will delay interval, seconds (v5)
	info  ClientInfo
}

func newWill(c *conn, pk *packets.Connect) *will {
	var props *packets.Properties
	if v5(pk.Version) {
		props = &pk.WillProperties
	}
	m := sessions.NewMessage(pk.WillTopic, pk.WillPayload, pk.WillQoS, pk.WillRetain, props)
	m.Origin = c.info.ID
	w := &will{msg: m, info: c.info}
	if v5(pk.Version) {
		w.delay = pk.WillProperties.WillDelay
		// The Message Expiry Interval stays a property until the will is
		// published: it counts from then (publishWill).
	}
	return w
}

// publishWill routes a will message, with the publish authorization of its
// owner [MQTT-3.1.2-10].
func (b *Broker) publishWill(w *will) {
	m := w.msg
	m.Created = b.now()
	if p := m.Properties; p != nil && p.Present.Has(packets.PropMessageExpiry) {
		// The will's Message Expiry Interval counts from its publication
		// (section 3.1.3.2.4).
		m.Expiry = m.Created.Add(time.Duration(b.capExpiry(p.MessageExpiry)) * time.Second)
		p.Present.Del(packets.PropMessageExpiry)
		p.MessageExpiry = 0
	} else if b.limits.MaxMessageExpiry > 0 {
		m.Expiry = m.Created.Add(time.Duration(b.limits.MaxMessageExpiry) * time.Second)
	}
	if !b.authorizePublish(&w.info, m.Topic, m.QoS, m.Retain).Allowed() {
		return
	}
	m, err := b.runPublishHooks(&w.info, m)
	if err != nil {
		return
	}
	if m.Retain {
		_ = b.retain(m, true)
	}
	b.metrics.MessagePublished(w.info.Listener, m.QoS)
	if _, err := b.route(m); err != nil {
		b.log.Error("will not stored for every subscriber", "client", w.info.ID, "err", err)
	}
	if len(b.hooks.will) > 0 {
		em := exported(m, nil, b.now())
		for _, h := range b.hooks.will {
			h.OnWillPublished(&w.info, em)
		}
	}
}

// fireWill publishes a delayed will when its delay ends. The stored will
// is deleted only if the session still stands: one a clean start
// discarded meanwhile leaves the store to the new connection, whose will
// is stored under the same client identifier.
func (s *session) fireWill() {
	s.mu.Lock()
	w := s.will
	s.will = nil
	s.willTimer = nil
	ended := s.ended
	s.mu.Unlock()
	if w != nil {
		s.b.publishWill(w)
		if !ended {
			s.b.forgetWill(s.id)
		}
	}
}
