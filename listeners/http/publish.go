package httpbridge

import (
	"bytes"
	"context"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/topics"
)

// Headers that carry MQTT 5 PUBLISH properties.
const (
	headerResponseTopic   = "X-Mqtt-Response-Topic"
	headerCorrelationData = "X-Mqtt-Correlation-Data"
	headerMessageExpiry   = "X-Mqtt-Message-Expiry"
	headerUserPrefix      = "X-Mqtt-User-" // X-Mqtt-User-<key>: <value>, one User Property each
)

// publishResult is the answer to a publish.
type publishResult struct {
	DeliveredTo int `json:"delivered_to"`
}

// topicParam returns the topic (or filter) of a request: the rest of the
// path after the endpoint ("/publish/a/b" gives "a/b", percent-decoded),
// else the query parameter name. On failure it has answered.
func topicParam(w http.ResponseWriter, r *http.Request, rest, name string) (string, bool) {
	code := packets.TopicNameInvalid
	if name == "filter" {
		code = packets.TopicFilterInvalid
	}
	t := r.URL.Query().Get(name)
	if rest != "" {
		p, err := url.PathUnescape(rest)
		if err != nil {
			writeError(w, http.StatusBadRequest, &requestError{msg: "the " + name + " in the path is not percent-encoded properly", code: code})
			return "", false
		}
		t = p
	}
	if t == "" {
		writeError(w, http.StatusBadRequest, &requestError{msg: "no " + name + ": give ?" + name + "= or put it in the path", code: code})
		return "", false
	}
	return t, true
}

// publish serves POST /publish: the body is the payload, the query gives
// QoS and retain, the headers the MQTT 5 properties. It answers once the
// broker has routed the message (for QoS 1 and 2, once durable
// subscribers' copies are stored).
func (l *Listener) publish(w http.ResponseWriter, r *http.Request, topic string) {
	q := r.URL.Query()
	qos, err := parseQoS(q.Get("qos"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	retain, err := parseBool("retain", q.Get("retain"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	m := &broker.Message{Topic: topic, QoS: qos, Retain: retain}
	if err := properties(r.Header, m); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	if r.ContentLength > l.limits.MaxBodySize {
		writeError(w, http.StatusRequestEntityTooLarge, l.tooLarge())
		return
	}
	c, _, ok := l.client(w, r)
	if !ok {
		return
	}
	defer c.Close()
	deadline := time.Now().Add(l.limits.RequestTimeout)
	_ = http.NewResponseController(w).SetReadDeadline(deadline)
	m.Payload, err = l.readBody(w, r)
	if errors.Is(err, errBodyTimeout) {
		writeJSON(w, http.StatusRequestTimeout, errorBody{Error: err.Error()})
		return
	}
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	if m.PayloadUTF8 && !utf8.Valid(m.Payload) {
		writeError(w, http.StatusBadRequest, &requestError{msg: "the Content-Type says UTF-8 text but the body is not valid UTF-8", code: packets.PayloadFormatInvalid})
		return
	}
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	l.answerPublish(ctx, w, c, m)
}

// answerPublish publishes m as c and answers with the outcome.
func (l *Listener) answerPublish(ctx context.Context, w http.ResponseWriter, c *broker.Client, m *broker.Message) {
	n, err := c.Publish(ctx, m)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	l.published.Add(1)
	writeJSON(w, http.StatusOK, publishResult{DeliveredTo: n})
}

func (l *Listener) tooLarge() error {
	return &requestError{msg: "the body is larger than " + strconv.FormatInt(l.limits.MaxBodySize, 10) + " bytes", code: packets.PacketTooLarge}
}

// errBodyTimeout: the body did not arrive within RequestTimeout.
var errBodyTimeout = errors.New("the body did not arrive in time")

// readBody reads the whole body, at most MaxBodySize bytes.
func (l *Listener) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, l.limits.MaxBodySize)
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(body); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, l.tooLarge()
		}
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			return nil, errBodyTimeout
		}
		return nil, malformed("reading the body: " + err.Error())
	}
	if buf.Len() == 0 {
		return nil, nil
	}
	return buf.Bytes(), nil
}

// properties sets m's MQTT 5 properties from the request headers:
// Content-Type (which also sets the Payload Format Indicator for text),
// X-Mqtt-Response-Topic, X-Mqtt-Correlation-Data (the header's bytes),
// X-Mqtt-Message-Expiry (seconds) and X-Mqtt-User-<key> (one User Property
// per value; keys in lower case, sorted, since HTTP header names are
// case-insensitive and unordered).
func properties(h http.Header, m *broker.Message) error {
	if ct := h.Get("Content-Type"); ct != "" {
		if !utf8.ValidString(ct) {
			return malformed("Content-Type is not UTF-8")
		}
		m.ContentType = ct
		m.PayloadUTF8 = isText(ct)
	}
	if rt := h.Get(headerResponseTopic); rt != "" {
		if err := topics.ValidateName([]byte(rt)); err != nil {
			// [MQTT-3.3.2-14]: a Response Topic is a topic name.
			return &requestError{msg: headerResponseTopic + ": " + err.Error(), code: packets.TopicNameInvalid}
		}
		m.ResponseTopic = rt
	}
	if cd, ok := h[headerCorrelationData]; ok && len(cd) > 0 {
		m.CorrelationData = []byte(cd[0])
	}
	if e := h.Get(headerMessageExpiry); e != "" {
		secs, err := strconv.ParseUint(strings.TrimSpace(e), 10, 32)
		if err != nil {
			return malformed(headerMessageExpiry + " must be a number of seconds (0 to 4294967295)")
		}
		m.Expiry = time.Duration(secs) * time.Second
	}
	var keys []string
	for k := range h {
		if len(k) > len(headerUserPrefix) && strings.HasPrefix(k, headerUserPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := strings.ToLower(k[len(headerUserPrefix):])
		for _, v := range h[k] {
			if !utf8.ValidString(v) {
				return malformed(k + " is not UTF-8")
			}
			m.UserProperties = append(m.UserProperties, broker.UserProperty{Key: name, Value: v})
		}
	}
	return nil
}

// isText reports whether a Content-Type names UTF-8 text: text/*, JSON, or
// an explicit charset=utf-8.
func isText(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	if cs, ok := params["charset"]; ok {
		return strings.EqualFold(cs, "utf-8") || strings.EqualFold(cs, "utf8")
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func parseQoS(s string) (byte, error) {
	switch s {
	case "", "0":
		return 0, nil
	case "1":
		return 1, nil
	case "2":
		return 2, nil
	}
	return 0, malformed("qos must be 0, 1 or 2") // QoS 3 is malformed [MQTT-3.3.1-4]
}

func parseBool(name, s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, malformed(name + " must be true or false")
	}
	return v, nil
}

// retained serves GET /retained: for a topic name the retained message
// (404 when there is none), for a filter a JSON array of every match the
// client may read, sorted by topic.
func (l *Listener) retained(w http.ResponseWriter, r *http.Request, topic string) {
	c, _, ok := l.client(w, r)
	if !ok {
		return
	}
	defer c.Close()
	msgs, err := c.Retained(topic)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	slices.SortFunc(msgs, func(a, b *broker.Message) int { return strings.Compare(a.Topic, b.Topic) })
	if !topics.IsWildcard(topic) {
		if len(msgs) == 0 {
			writeJSON(w, http.StatusNotFound, errorBody{Error: "no retained message on " + topic})
			return
		}
		writeRaw(w, http.StatusOK, appendMessage(nil, msgs[0]))
		return
	}
	out := []byte{'['}
	for i, m := range msgs {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendMessage(out, m)
	}
	writeRaw(w, http.StatusOK, append(out, ']'))
}

// clearRetained serves DELETE /retained: it publishes an empty retained
// message to the topic, which clears it [MQTT-3.3.1-6] (subscribers get
// the empty message, as MQTT subscribers would).
func (l *Listener) clearRetained(w http.ResponseWriter, r *http.Request, topic string) {
	qos, err := parseQoS(r.URL.Query().Get("qos"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	c, _, ok := l.client(w, r)
	if !ok {
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(r.Context(), l.limits.RequestTimeout)
	defer cancel()
	l.answerPublish(ctx, w, c, &broker.Message{Topic: topic, QoS: qos, Retain: true})
}

// writeRaw answers with status and body, already JSON.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
