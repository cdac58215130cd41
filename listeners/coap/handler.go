package coap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/blockwise"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/ternmq/broker"
)

// responseWriter is go-coap's response writer for UDP.
type responseWriter = responsewriter.ResponseWriter[*udpclient.Conn]

// request is a parsed request to /ps/.
type request struct {
	r      *pool.Message
	ctx    context.Context
	p      *peer
	topic  string // the path after /ps/: a topic name or filter
	qos    byte
	retain bool
	creds  credentials
}

// errBadRequest marks a request the listener itself refuses with 4.00.
var errBadRequest = errors.New("bad request")

// handle answers every request: /ps/{topic...} and /.well-known/core.
func (l *Listener) handle(w *responseWriter, r *pool.Message) {
	if !isRequest(r.Code()) {
		return // an empty message or a response: go-coap handled it
	}
	p := l.peerOf(w.Conn())
	if p == nil || l.isClosing() {
		respond(w, codes.ServiceUnavailable, "server shutting down")
		return
	}
	path, err := optionValues(r, message.URIPath)
	if err != nil {
		respond(w, codes.BadOption, err.Error())
		return
	}
	switch {
	case len(path) == 2 && path[0] == ".well-known" && path[1] == "core":
		l.discover(w, r)
		return
	case len(path) == 0 || path[0] != "ps":
		respond(w, codes.NotFound, "resources are under /ps/")
		return
	}
	req, err := l.parse(r, p, path[1:])
	if err != nil {
		respond(w, codes.BadRequest, err.Error())
		return
	}
	switch r.Code() {
	case codes.POST, codes.PUT:
		l.publish(w, req)
	case codes.GET:
		if obs, err := r.Observe(); err == nil && obs == 0 {
			l.observe(w, req)
			return
		} else if err == nil && obs == 1 {
			if o := p.observer(r.Token()); o != nil {
				o.end()
			}
		}
		l.get(w, req)
	case codes.DELETE:
		req.retain = true
		l.deleteRetained(w, req)
	default:
		respond(w, codes.MethodNotAllowed, "POST, PUT, GET or DELETE")
	}
}

// parse reads the topic from the path and the query's parameters.
func (l *Listener) parse(r *pool.Message, p *peer, levels []string) (*request, error) {
	req := &request{
		r:     r,
		ctx:   r.Context(),
		p:     p,
		topic: strings.Join(levels, "/"),
		creds: credentials{username: l.cfg.username, password: string(l.cfg.password), hasPassword: l.cfg.hasPassword},
	}
	if req.topic == "" {
		return nil, fmt.Errorf("%w: no topic after /ps/", errBadRequest)
	}
	query, err := optionValues(r, message.URIQuery)
	if err != nil {
		return nil, err
	}
	var qc credentials
	for _, q := range query {
		k, v, _ := strings.Cut(q, "=")
		switch k {
		case "qos":
			if len(v) != 1 || v[0] < '0' || v[0] > '2' {
				return nil, fmt.Errorf("qos=%q: must be 0, 1 or 2", v)
			}
			req.qos = v[0] - '0'
		case "retain":
			switch v {
			case "", "1", "true":
				req.retain = true
			case "0", "false":
				req.retain = false
			default:
				return nil, fmt.Errorf("retain=%q: must be 1 or 0", v)
			}
		case "u", "p", "t":
			if !l.cfg.queryCreds {
				return nil, fmt.Errorf("%s=: credentials in the query are not enabled on this listener", k)
			}
			switch k {
			case "u":
				qc.username = v
			case "p", "t":
				qc.password, qc.hasPassword = v, true
			}
		default:
			return nil, fmt.Errorf("unknown query parameter %q (known: qos, retain, u, p, t)", k)
		}
	}
	if qc.username != "" || qc.hasPassword {
		req.creds = qc
	}
	if p.identity != "" {
		req.creds.username = p.identity
	}
	return req, nil
}

// publish handles POST and PUT: the payload is published to the topic.
// The response comes once the broker has routed it (for QoS 1 and 2,
// once durable copies are stored), so a confirmable request's
// acknowledgement means "routed" [MQTT-4.3.2].
func (l *Listener) publish(w *responseWriter, req *request) {
	payload, err := readPayload(req.r, l.cfg.maxPayload)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			respond(w, codes.RequestEntityTooLarge, err.Error(), message.Option{ID: message.Size1, Value: encodeUint(uint32(l.cfg.maxPayload))})
			return
		}
		respond(w, codes.BadRequest, err.Error())
		return
	}
	m := &broker.Message{Topic: req.topic, Payload: payload, QoS: req.qos, Retain: req.retain}
	if cf, err := req.r.ContentFormat(); err == nil {
		if ct, ok := contentType(cf); ok {
			m.ContentType = ct
		}
		m.PayloadUTF8 = cf == message.TextPlain && utf8.Valid(payload)
	}
	if err := l.act(w, req, func(c *broker.Client) error {
		_, err := c.Publish(req.ctx, m)
		return err
	}); err != nil {
		return
	}
	respond(w, codes.Changed, "")
}

// deleteRetained handles DELETE: an empty retained message clears the
// topic's retained message [MQTT-3.3.1-10].
func (l *Listener) deleteRetained(w *responseWriter, req *request) {
	m := &broker.Message{Topic: req.topic, QoS: req.qos, Retain: true}
	if err := l.act(w, req, func(c *broker.Client) error {
		_, err := c.Publish(req.ctx, m)
		return err
	}); err != nil {
		return
	}
	respond(w, codes.Deleted, "")
}

// get handles GET without Observe: the retained message of a topic
// (4.04 when none), or for a filter the list of topics with a retained
// message that it matches, in CoRE link format (RFC 6690).
func (l *Listener) get(w *responseWriter, req *request) {
	if n, wildcard := l.continuation(req); n != nil {
		w.Message().SetCode(codes.Content)
		setRepresentation(w.Message(), n.m, wildcard)
		_ = w.Message().SetETag(n.etag)
		return
	}
	var msgs []*broker.Message
	if err := l.act(w, req, func(c *broker.Client) (err error) {
		msgs, err = c.Retained(req.topic)
		return err
	}); err != nil {
		return
	}
	if strings.ContainsAny(req.topic, "+#") {
		slices.SortFunc(msgs, func(a, b *broker.Message) int { return strings.Compare(a.Topic, b.Topic) })
		links := make([]string, len(msgs))
		for i, m := range msgs {
			links[i] = link(m)
		}
		_ = w.SetResponse(codes.Content, message.AppLinkFormat, strings.NewReader(strings.Join(links, ",")))
		return
	}
	if len(msgs) == 0 {
		respond(w, codes.NotFound, "no retained message")
		return
	}
	w.Message().SetCode(codes.Content)
	setRepresentation(w.Message(), msgs[0], false)
}

// continuation returns the large notification whose later blocks req
// asks for: a GET without Observe for Block2 number 1 or more of an
// observed resource (RFC 7959 §2.6), with the notification's ETag if it
// names one.
func (l *Listener) continuation(req *request) (*largeNote, bool) {
	v, err := req.r.GetOptionUint32(message.Block2)
	if err != nil || req.r.HasOption(message.Observe) {
		return nil, false
	}
	if _, num, _, err := blockwise.DecodeBlockOption(v); err != nil || num == 0 {
		return nil, false
	}
	n, wildcard := req.p.largeNotification(req.topic)
	if n == nil {
		return nil, false
	}
	if etag, err := req.r.ETag(); err == nil && !bytes.Equal(etag, n.etag) {
		return nil, false
	}
	return n, wildcard
}

// observe handles GET with Observe=0 (RFC 7641 §3.1): a subscription to
// the topic or filter whose messages become notifications. The response
// to a topic carries its retained message, if any; a filter's retained
// messages come as the first notifications.
func (l *Listener) observe(w *responseWriter, req *request) {
	p := req.p
	if o := p.observer(req.r.Token()); o != nil {
		o.end() // a new registration with the same token replaces it (§4.1)
	}
	c, release, err := p.client(req.ctx, req.creds)
	if err != nil {
		respondErr(w, err)
		return
	}
	o := newObserver(p, req.r.Token(), req.topic, release)
	if !p.add(o) {
		// Too many observations: answer as a plain GET, without Observe,
		// which tells the client it is not registered (§4.1).
		o.end()
		l.get(w, req)
		return
	}
	stop, err := c.Subscribe(req.topic, req.qos, o.notify)
	if err != nil {
		o.end()
		respondErr(w, err)
		return
	}
	if !o.subscribed(stop) {
		respond(w, codes.ServiceUnavailable, "server shutting down")
		return
	}
	if !o.wildcard {
		if msgs, err := c.Retained(req.topic); err == nil && len(msgs) > 0 {
			setRepresentation(w.Message(), msgs[0], false)
			o.skipRetained = true
		}
	}
	w.Message().SetCode(codes.Content)
	w.Message().SetObserve(o.nextSeq())
	// Notifications wait until this response is on its way, so that the
	// client sees the registration first.
	if !responsewriter.AfterWrite(req.r.Context(), func() { close(o.ready) }) {
		close(o.ready)
	}
}

// act runs f with the request's broker client, answering the request
// with the mapped error code when the client cannot be had or f fails.
func (l *Listener) act(w *responseWriter, req *request, f func(*broker.Client) error) error {
	c, release, err := req.p.client(req.ctx, req.creds)
	if err != nil {
		respondErr(w, err)
		return err
	}
	defer release()
	if err := f(c); err != nil {
		respondErr(w, err)
		return err
	}
	return nil
}

// discover answers GET /.well-known/core (RFC 6690) with the pub-sub
// function set's root.
func (l *Listener) discover(w *responseWriter, r *pool.Message) {
	if r.Code() != codes.GET {
		respond(w, codes.MethodNotAllowed, "GET only")
		return
	}
	_ = w.SetResponse(codes.Content, message.AppLinkFormat, strings.NewReader(`</ps/>;rt="core.ps";ct=40`))
}

// link is the CoRE link to a retained message's resource.
func link(m *broker.Message) string {
	levels := strings.Split(m.Topic, "/")
	for i, lv := range levels {
		levels[i] = url.PathEscape(lv)
	}
	s := "</ps/" + strings.Join(levels, "/") + ">"
	if cf, ok := contentFormat(m.ContentType); ok {
		s += fmt.Sprintf(";ct=%d", cf)
	}
	return s
}

// errTooLarge: a payload is above the listener's limit.
var errTooLarge = errors.New("payload too large")

// readPayload reads the request's (reassembled) payload, up to limit bytes.
func readPayload(r *pool.Message, limit int) ([]byte, error) {
	body := r.Body()
	if body == nil {
		return nil, nil
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(body, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if n > int64(limit) {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, limit)
	}
	return buf.Bytes(), nil
}

// optionValues returns the string values of option id in r, in order.
func optionValues(r *pool.Message, id message.OptionID) ([]string, error) {
	vals := make([]string, 8)
	n, err := r.Options().GetStrings(id, vals)
	if errors.Is(err, message.ErrTooSmall) {
		vals = make([]string, n)
		n, err = r.Options().GetStrings(id, vals)
	}
	if errors.Is(err, message.ErrOptionNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return vals[:n], nil
}

// isRequest reports whether code is a request method.
func isRequest(code codes.Code) bool { return code >= codes.GET && code < 32 }

// respond sets a response with an optional diagnostic payload (RFC 7252
// §5.5.2).
func respond(w *responseWriter, code codes.Code, diagnostic string, opts ...message.Option) {
	var body io.ReadSeeker
	if diagnostic != "" {
		body = strings.NewReader(diagnostic)
	}
	_ = w.SetResponse(code, message.TextPlain, body, opts...)
}

// respondErr answers with the CoAP code of a broker error.
func respondErr(w *responseWriter, err error) {
	code, diag := errorResponse(err)
	respond(w, code, diag)
}

// encodeUint encodes v as a CoAP uint option value (RFC 7252 §3.2).
func encodeUint(v uint32) []byte {
	b := []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// refuseTooLarge answers a block of an upload that went past the payload
// limit with 4.13 and the limit in Size1 (RFC 7959 §2.9.3), straight on
// the socket: it is called before go-coap would buffer the block.
func (l *Listener) refuseTooLarge(cc *udpclient.Conn, r *pool.Message) {
	msg := cc.AcquireMessage(cc.Context())
	defer cc.ReleaseMessage(msg)
	msg.SetCode(codes.RequestEntityTooLarge)
	msg.SetToken(r.Token())
	msg.SetOptionUint32(message.Size1, uint32(l.cfg.maxPayload))
	if r.Type() == message.Confirmable {
		msg.SetType(message.Acknowledgement)
		msg.SetMessageID(r.MessageID())
	} else {
		msg.SetType(message.NonConfirmable)
		msg.SetMessageID(cc.GetMessageID())
	}
	_ = cc.Session().WriteMessage(msg)
}
