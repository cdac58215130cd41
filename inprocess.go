package broker

import (
	"errors"
	"sync"
	"time"

	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/sessions"
	"github.com/ternmq/broker/topics"
)

// localInfo is the ClientInfo of the in-process API, as authorizers and
// hooks see it.
var localInfo = ClientInfo{Listener: "local", Version: packets.V5}

// Publish publishes a message from the host application, as a network
// client would: topic validation, authorization (with ClientInfo.Listener
// "local"), hooks, retained store and routing are the same.
func (b *Broker) Publish(topic string, payload []byte, qos byte, retain bool) error {
	return b.PublishMessage(sessions.NewMessage([]byte(topic), payload, qos, retain, nil))
}

// PublishMessage publishes m (build it with sessions.NewMessage to set MQTT 5
// properties). The broker owns m afterwards.
func (b *Broker) PublishMessage(m *Message) error {
	b.mu.Lock()
	closing := b.closing
	b.mu.Unlock()
	if closing {
		return ErrClosed
	}
	if m.QoS > 2 {
		return errors.New("broker: QoS must be 0, 1 or 2")
	}
	if err := topics.ValidateName([]byte(m.Topic)); err != nil {
		return err
	}
	if b.authz != nil && !b.authz.CanPublish(&localInfo, m.Topic) {
		return packets.NotAuthorized
	}
	m.Created = time.Now()
	for _, h := range b.hooks.publish {
		if err := h.OnPublish(&localInfo, m); err != nil {
			return err
		}
	}
	b.stats.MessagesReceived.Add(1)
	if m.Retain {
		if err := b.retain(m); err != nil {
			return err
		}
	}
	_, err := b.route(m)
	return err
}

// Subscribe calls fn for every message matching filter, at most qos, until
// the returned cancel function is called. Retained messages matching filter
// are delivered first. fn runs on a goroutine of its own, one message at a
// time in order; if it falls behind by more than the session queue limit,
// messages are dropped and counted like a slow client's. fn must not keep
// the message's Payload slice beyond the call if it modifies it.
func (b *Broker) Subscribe(filter string, qos byte, fn func(*Message)) (cancel func(), err error) {
	if err := topics.ValidateFilter([]byte(filter)); err != nil {
		return nil, err
	}
	if b.authz != nil && !b.authz.CanSubscribe(&localInfo, filter) {
		return nil, packets.NotAuthorized
	}
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	b.wg.Add(1) // released when cancelled (or at Close)
	b.mu.Unlock()
	ls := &localSub{b: b, fn: fn, done: make(chan struct{})}
	ls.queue.Max = b.limits.MaxQueuedMessages
	so := subscription{qos: min(qos, 2)}
	b.subs.Subscribe(filter, ls, so)
	b.metrics.Subscriptions(1)
	b.addLocal(ls)
	if _, inner, shared := topics.ParseShared(filter); !shared {
		b.retained.Match(inner, func(topic string, m *sessions.Message) bool {
			_ = ls.deliver(sessions.Delivery{Msg: m, QoS: grantedQoS(m.QoS, so.qos), Retain: true})
			return true
		})
	}
	var once sync.Once
	cancel = func() {
		once.Do(func() {
			b.subs.Unsubscribe(filter, ls)
			b.metrics.Subscriptions(-1)
			ls.stop()
			b.removeLocal(ls)
			b.wg.Done()
		})
	}
	ls.cancel = cancel
	return cancel, nil
}

// localSub is a callback subscription of the in-process API.
type localSub struct {
	b      *Broker
	fn     func(*Message)
	cancel func()

	mu      sync.Mutex // guards queue, running, stopped
	queue   sessions.Queue
	running bool
	stopped bool
	done    chan struct{} // closed when no callback goroutine runs after stop
}

func (l *localSub) client() *ClientInfo { return &localInfo }

func (l *localSub) deliver(d sessions.Delivery) error {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return nil
	}
	if !l.queue.Push(d) {
		l.mu.Unlock()
		l.b.dropped("", d.Msg, DropQueueFull)
		return nil
	}
	if !l.running {
		l.running = true
		go l.run()
	}
	l.mu.Unlock()
	return nil
}

func (l *localSub) run() {
	for {
		l.mu.Lock()
		d, ok := l.queue.Pop()
		if !ok || l.stopped {
			l.running = false
			if l.stopped {
				close(l.done)
			}
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		if d.Msg.Expired(time.Now()) {
			l.b.dropped("", d.Msg, DropExpired)
			continue
		}
		l.fn(d.Msg)
		l.b.stats.MessagesDelivered.Add(1)
	}
}

// stop ends deliveries and waits for a running callback to return, unless
// called from the callback itself.
func (l *localSub) stop() {
	l.mu.Lock()
	l.stopped = true
	l.queue.Clear()
	wait := l.running
	if !wait {
		close(l.done)
	}
	l.mu.Unlock()
	if wait {
		select {
		case <-l.done:
		case <-time.After(5 * time.Second):
		}
	}
}

func (b *Broker) addLocal(l *localSub) {
	b.mu.Lock()
	if b.locals == nil {
		b.locals = make(map[*localSub]struct{})
	}
	b.locals[l] = struct{}{}
	b.mu.Unlock()
}

func (b *Broker) removeLocal(l *localSub) {
	b.mu.Lock()
	delete(b.locals, l)
	b.mu.Unlock()
}

// cancelLocals ends every in-process subscription (at shutdown).
func (b *Broker) cancelLocals() {
	b.mu.Lock()
	all := make([]*localSub, 0, len(b.locals))
	for l := range b.locals {
		all = append(all, l)
	}
	b.mu.Unlock()
	for _, l := range all {
		l.cancel()
	}
}
