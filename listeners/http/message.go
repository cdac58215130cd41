package httpbridge

import (
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/ternmq/broker"
)

// messageJSON is how a message travels to HTTP clients: in an SSE event's
// data, in a long poll's messages and in GET /retained. Binary fields are
// text when they are valid UTF-8, else base64 with a flag saying so.
type messageJSON struct {
	Topic         string         `json:"topic"`
	Payload       string         `json:"payload"`
	PayloadBase64 bool           `json:"payload_base64,omitempty"`
	QoS           byte           `json:"qos"`
	Retain        bool           `json:"retain"`
	Properties    propertiesJSON `json:"properties"`
}

// propertiesJSON are the MQTT 5 properties of a message; absent ones are
// left out.
type propertiesJSON struct {
	PayloadFormatIndicator byte   `json:"payload_format_indicator,omitempty"` // 1: the payload is UTF-8 text
	MessageExpiry          uint32 `json:"message_expiry,omitempty"`           // seconds left
	ContentType            string `json:"content_type,omitempty"`
	ResponseTopic          string `json:"response_topic,omitempty"`
	CorrelationData        string `json:"correlation_data,omitempty"`
	CorrelationDataBase64  bool   `json:"correlation_data_base64,omitempty"`
	UserProperties         []kv   `json:"user_properties,omitempty"` // in order; keys may repeat
}

type kv struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// textOrBase64 returns b as text when it is valid UTF-8, else in base64
// (standard alphabet, padded) and true.
func textOrBase64(b []byte) (string, bool) {
	if utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

// appendMessage appends m's JSON to dst.
func appendMessage(dst []byte, m *broker.Message) []byte {
	j := messageJSON{Topic: m.Topic, QoS: m.QoS, Retain: m.Retain}
	j.Payload, j.PayloadBase64 = textOrBase64(m.Payload)
	p := &j.Properties
	if m.PayloadUTF8 {
		p.PayloadFormatIndicator = 1
	}
	if m.Expiry > 0 {
		p.MessageExpiry = uint32(min((m.Expiry+time.Second-1)/time.Second, 0xFFFFFFFF))
	}
	p.ContentType = m.ContentType
	p.ResponseTopic = m.ResponseTopic
	if m.CorrelationData != nil {
		p.CorrelationData, p.CorrelationDataBase64 = textOrBase64(m.CorrelationData)
	}
	for _, u := range m.UserProperties {
		p.UserProperties = append(p.UserProperties, kv(u))
	}
	b, err := json.Marshal(&j)
	if err != nil {
		// Strings are valid UTF-8 or base64: Marshal cannot fail.
		panic("httpbridge: encoding a message: " + err.Error())
	}
	return append(dst, b...)
}
