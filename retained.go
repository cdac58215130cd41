package broker

import (
	"github.com/ternmq/broker/internal/sessions"
)

// retain stores, replaces or (with an empty payload) deletes the retained
// message of m's topic [MQTT-3.3.1-5..7], in memory and in storage.
func (b *Broker) retain(m *sessions.Message) error {
	ctx, cancel := b.storeCtx()
	defer cancel()
	if len(m.Payload) == 0 {
		if b.retained.Delete(m.Topic) {
			b.metrics.Retained(-1)
			err := b.store.Retained().Delete(ctx, m.Topic)
			for _, h := range b.hooks.retained {
				h.OnRetained(m.Topic, nil)
			}
			return err
		}
		return nil
	}
	if err := b.store.Retained().Set(ctx, toStored(m)); err != nil {
		b.log.Error("storing retained message", "topic", m.Topic, "err", err)
		return err
	}
	if b.retained.Set(m.Topic, m) {
		b.metrics.Retained(1)
	}
	if len(b.hooks.retained) > 0 {
		em := exported(m, nil, b.now())
		for _, h := range b.hooks.retained {
			h.OnRetained(m.Topic, em)
		}
	}
	return nil
}
