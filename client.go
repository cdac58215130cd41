package broker

import (
	"context"
	"sync"
	"time"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/topics"
)

// Client acts in-process for one identity: what a bridge (HTTP, CoAP, OPC
// UA) or a host uses to publish and subscribe as an authenticated user,
// under the same authorization, hooks, retained store and routing as a
// network client. A Client has no MQTT session: it takes no client
// identifier over and holds no queue for when it is gone.
//
// Broker.Publish and Broker.Subscribe use a built-in Client for the host
// itself (Listener "local"): neither the Authenticator nor the Authorizer
// is asked about it, hooks see it like any client.
type Client struct {
	b     *Broker
	info  ClientInfo
	since time.Time // when NewClient made it

	mu     sync.Mutex
	subs   map[*localSub]struct{}
	closed bool
}

// NewClient authenticates creds with the Authenticator and the ConnectHooks
// (creds.Listener names the bridge; an empty ID gets a generated one) and
// returns a Client acting as that identity. A refusal is a
// packets.ReasonCode (BadUserNameOrPassword, NotAuthorized, ...). Close the
// Client when done.
func (b *Broker) NewClient(ctx context.Context, creds *Credentials) (*Client, error) {
	if b.isClosing() {
		return nil, ErrClosed
	}
	cr := *creds
	if cr.Listener == "" {
		cr.Listener = "local"
	}
	if cr.Version == 0 {
		cr.Version = packets.V5
	}
	if cr.ID == "" {
		cr.ID = b.newClientID()
	}
	if b.authn != nil {
		if err := b.authn.Authenticate(ctx, &cr); err != nil {
			code := codeOr(err, packets.NotAuthorized)
			b.metrics.ConnectRefused(cr.Listener, code)
			return nil, code
		}
	}
	c := &Client{b: b, info: cr.ClientInfo, since: time.Now()}
	for _, h := range b.hooks.connect {
		if err := h.OnConnect(&c.info); err != nil {
			code := codeOr(err, packets.NotAuthorized)
			b.metrics.ConnectRefused(cr.Listener, code)
			return nil, code
		}
	}
	b.metrics.ClientConnected(c.info.Listener)
	return c, nil
}

// hostClient is the Client of Broker.Publish and Broker.Subscribe: the
// host application itself, which the Authorizer is not asked about.
func (b *Broker) hostClient() *Client { return b.host }

// Info returns the client's identity as authorizers and hooks see it.
func (c *Client) Info() ClientInfo { return c.info }

// Publish publishes m as this client: topic validation, authorization,
// PublishHooks, the retained store (an empty retained payload clears the
// topic's retained message) and routing. It returns once the message is
// routed, and for QoS 1 and 2 once every durable subscriber's copy is
// stored, with the number of subscriptions it was delivered to. An error
// is a packets.ReasonCode: NotAuthorized, TopicNameInvalid,
// QoSNotSupported, RetainNotSupported, ImplementationSpecificError (not
// stored), or ErrClosed.
func (c *Client) Publish(ctx context.Context, m *Message) (delivered int, err error) {
	b := c.b
	if err := b.checkPublish(m); err != nil {
		return 0, err
	}
	if d := b.authorizePublish(&c.info, m.Topic, m.QoS, m.Retain); !d.Allowed() {
		return 0, refusal(d, packets.ImplementationSpecificError)
	}
	cp := *m
	if c != b.host || m.ClientID == "" {
		cp.ClientID = c.info.ID // only the host publishes on behalf of another client
	}
	cp.Received = b.now()
	cp.SubscriptionIDs = nil
	im, err := b.runPublishHooks(&c.info, b.internal(&cp))
	if err != nil {
		return 0, err
	}
	b.stats.MessagesReceived.Add(1)
	b.metrics.MessagePublished(c.info.Listener, im.QoS)
	return b.retainAndRoute(im, !(cp.RetainStored && c == b.host))
}

// checkPublish refuses what no publish of m may do here: the broker is
// closing, the QoS or retain flag is not available, the topic is not a
// topic name.
func (b *Broker) checkPublish(m *Message) error {
	switch {
	case b.isClosing():
		return ErrClosed
	case m.QoS > 2:
		return packets.ProtocolError
	case m.QoS > b.feat.maxQoS:
		return packets.QoSNotSupported
	case m.Retain && b.feat.noRetain:
		return packets.RetainNotSupported
	case topics.ValidateName([]byte(m.Topic)) != nil:
		return packets.TopicNameInvalid
	}
	return nil
}

// retainAndRoute sets or clears the retained message of im (in storage
// too if store) unless it goes to shared groups only, then routes it. An
// error is ImplementationSpecificError: not stored.
func (b *Broker) retainAndRoute(im *sessions.Message, store bool) (int, error) {
	if im.Retain && !b.hooks.only.groupsOnly(im) {
		if err := b.retain(im, store); err != nil {
			return 0, packets.ImplementationSpecificError
		}
	}
	n, err := b.route(im)
	if err != nil {
		return n, packets.ImplementationSpecificError
	}
	return n, nil
}

// Subscribe calls fn for every message matching filter, at most at qos,
// until the returned cancel function is called or the Client is closed.
// The filter is authorized (a refusal is packets.NotAuthorized) and read
// authorization applies to each message. Retained messages matching the
// filter come first, with Retain set. fn runs on a goroutine of its own,
// one message at a time in order, and owns the Message it gets; if it
// falls behind by more than the session queue limit, messages are dropped
// and counted like a slow client's.
func (c *Client) Subscribe(filter string, qos byte, fn func(*Message)) (cancel func(), err error) {
	b := c.b
	if err := topics.ValidateFilter([]byte(filter)); err != nil {
		return nil, packets.TopicFilterInvalid
	}
	d := b.authorize(&c.info, Access{Action: ActionSubscribe, Topic: filter, QoS: qos})
	if !d.Allowed() {
		return nil, refusal(d, packets.UnspecifiedError)
	}
	so := subscription{qos: d.grant(min(qos, 2, b.feat.maxQoS))}
	ls := &localSub{b: b, owner: c, fn: fn}
	ls.queue.Max = b.limits.MaxQueuedMessages
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if !b.track(ls) {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if c.subs == nil {
		c.subs = make(map[*localSub]struct{})
	}
	c.subs[ls] = struct{}{}
	c.mu.Unlock()

	b.subs.Subscribe(filter, ls, so)
	b.metrics.Subscriptions(1)
	for _, h := range b.hooks.subscribed {
		h.OnSubscribed(&c.info, Subscription{Filter: filter, QoS: so.qos})
	}
	if _, inner, shared := topics.ParseShared(filter); !shared {
		var retained []*sessions.Message
		b.retained.Match(inner, func(_ string, m *sessions.Message) bool {
			retained = append(retained, m)
			return true
		})
		for _, m := range retained {
			if b.canRead(&c.info, m.Topic, m.QoS) {
				_ = ls.deliver(sessions.Delivery{Msg: m, QoS: grantedQoS(m.QoS, so.qos), Retain: true})
			}
		}
	}
	var once sync.Once
	cancel = func() {
		once.Do(func() {
			b.subs.Unsubscribe(filter, ls)
			b.metrics.Subscriptions(-1)
			ls.stop()
			c.mu.Lock()
			delete(c.subs, ls)
			c.mu.Unlock()
			b.untrack(ls)
			for _, h := range b.hooks.unsubscribed {
				h.OnUnsubscribed(&c.info, filter)
			}
		})
	}
	ls.cancel = cancel
	return cancel, nil
}

// Retained returns the retained messages whose topics match filter and
// that this client may read, in no particular order. The filter itself is
// authorized as a subscription.
func (c *Client) Retained(filter string) ([]*Message, error) {
	b := c.b
	if err := topics.ValidateFilter([]byte(filter)); err != nil {
		return nil, packets.TopicFilterInvalid
	}
	if d := b.authorize(&c.info, Access{Action: ActionSubscribe, Topic: filter}); !d.Allowed() {
		return nil, refusal(d, packets.UnspecifiedError)
	}
	all := b.retainedMatching(filter)
	now := b.now()
	out := make([]*Message, 0, len(all))
	for _, m := range all {
		if !m.Expired(now) && b.canRead(&c.info, m.Topic, m.QoS) {
			out = append(out, exported(m, nil, now))
		}
	}
	return out, nil
}

// Close ends every subscription of the client and tells the
// DisconnectHooks. It is safe to call more than once.
func (c *Client) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	subs := make([]*localSub, 0, len(c.subs))
	for ls := range c.subs {
		subs = append(subs, ls)
	}
	c.mu.Unlock()
	for _, ls := range subs {
		ls.cancel()
	}
	if c != c.b.host {
		c.b.metrics.ClientDisconnected(c.info.Listener, time.Since(c.since))
		for _, h := range c.b.hooks.disconnect {
			h.OnDisconnect(&c.info, nil)
		}
	}
}

// retainedMatching collects the retained messages matching filter (its
// "$share/group/" prefix removed), under the index's lock only while
// collecting.
func (b *Broker) retainedMatching(filter string) []*sessions.Message {
	_, inner, _ := topics.ParseShared(filter)
	var out []*sessions.Message
	b.retained.Match(inner, func(_ string, m *sessions.Message) bool {
		out = append(out, m)
		return true
	})
	return out
}

// Publish publishes a message from the host application, as a network
// client would: topic validation, hooks (ClientInfo.Listener "local"),
// retained store and routing are the same; the Authorizer is not asked
// (to act as a user, use NewClient).
func (b *Broker) Publish(topic string, payload []byte, qos byte, retain bool) error {
	_, err := b.hostClient().Publish(context.Background(), &Message{Topic: topic, Payload: payload, QoS: qos, Retain: retain})
	return err
}

// PublishMessage publishes m, with its MQTT 5 properties, as the host
// (see Client.Publish). It returns the number of subscriptions m was
// delivered to.
//
// A non-empty m.ClientID publishes on behalf of that client, which the
// host vouches for (the Authorizer is not asked, as for any host
// publish): No Local subscriptions of that client identifier do not get
// the message [MQTT-3.8.3-3], hooks and deliveries see it as the
// Message's ClientID (ClientInfo stays the host's, Listener "local"), and
// shared subscription strategies that hash the publisher use it. It is
// for hosts that carry a message from another broker (the cluster
// package) or from a protocol bridge that knows the client.
func (b *Broker) PublishMessage(ctx context.Context, m *Message) (int, error) {
	return b.hostClient().Publish(ctx, m)
}

// PublishForwarded publishes m, a message another broker accepted and
// hands on to this one, to this broker's subscribers: as PublishMessage
// (m.ClientID is the origin client, No Local applies to it
// [MQTT-3.8.3-3]; m.SharedGroups restricts the shared groups served; a
// retained m sets or clears this broker's retained message, m.RetainStored
// says the store already has it), except that the PublishHooks are not
// run — they ran where m was published, once, as in EMQX's clusters — and
// m does not count as received here (Stats.MessagesReceived). It is for
// hosts that route messages between brokers (the cluster package): a
// message passes the hooks of the broker its client published to only.
func (b *Broker) PublishForwarded(ctx context.Context, m *Message) (int, error) {
	if err := b.checkPublish(m); err != nil {
		return 0, err
	}
	cp := *m
	if cp.Received.IsZero() {
		cp.Received = b.now()
	}
	cp.SubscriptionIDs = nil
	return b.retainAndRoute(b.internal(&cp), !cp.RetainStored) // internal keeps its SharedGroups
}

// Subscribe calls fn for every message matching filter as the host does
// (see Client.Subscribe), until cancel is called or the broker stops.
func (b *Broker) Subscribe(filter string, qos byte, fn func(*Message)) (cancel func(), err error) {
	return b.hostClient().Subscribe(filter, qos, fn)
}

// localSub is a callback subscription of a Client.
type localSub struct {
	b      *Broker
	owner  *Client
	fn     func(*Message)
	cancel func()

	mu      sync.Mutex // guards queue, running, stopped
	queue   sessions.Queue
	running bool
	stopped bool
}

func (l *localSub) client() *ClientInfo { return &l.owner.info }

func (l *localSub) deliver(d sessions.Delivery) error {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return nil
	}
	if max := l.b.limits.MaxQueuedBytes; (max > 0 && l.queue.Bytes()+d.Msg.Size() > max) || !l.queue.Push(d) {
		l.mu.Unlock()
		l.b.dropped(l.owner.info.ID, d.Msg, DropQueueFull)
		return nil
	}
	if !l.running {
		l.running = true
		l.b.wg.Add(1)
		go l.run()
	}
	l.mu.Unlock()
	return nil
}

func (l *localSub) run() {
	defer l.b.wg.Done()
	for {
		l.mu.Lock()
		d, ok := l.queue.Pop()
		if !ok || l.stopped {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		now := l.b.now()
		if d.Msg.Expired(now) {
			l.b.dropped(l.owner.info.ID, d.Msg, DropExpired)
			continue
		}
		m := exported(d.Msg, d.SubIDs, now)
		m.QoS, m.Retain = d.QoS, d.Retain
		l.fn(m)
		l.b.stats.MessagesDelivered.Add(1)
		l.b.delivered(&l.owner.info, &d)
	}
}

// stop ends deliveries: no callback starts after it returns. It does not
// wait for a callback that is running (which may be the caller itself);
// Shutdown waits for those through the broker's WaitGroup.
func (l *localSub) stop() {
	l.mu.Lock()
	l.stopped = true
	l.queue.Clear()
	l.mu.Unlock()
}

// track registers an in-process subscription, unless the broker is closing.
func (b *Broker) track(l *localSub) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return false
	}
	if b.locals == nil {
		b.locals = make(map[*localSub]struct{})
	}
	b.locals[l] = struct{}{}
	return true
}

func (b *Broker) untrack(l *localSub) {
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

// isClosing reports whether Shutdown or Close has begun.
func (b *Broker) isClosing() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closing
}
