package topics

import "errors"

// Topic alias errors.
var (
	// ErrAliasInvalid: alias 0 or above the maximum [MQTT-3.3.2-8, 3.3.2-9].
	ErrAliasInvalid = errors.New("topics: topic alias out of range")
	// ErrAliasUnknown: an empty topic with an alias never set on this connection.
	ErrAliasUnknown = errors.New("topics: unknown topic alias")
)

// AliasesIn maps a client's topic aliases to topics (client to broker).
type AliasesIn struct {
	max    uint16
	topics map[uint16][]byte
}

// NewAliasesIn allows aliases 1..max.
func NewAliasesIn(max uint16) *AliasesIn { return &AliasesIn{max: max} }

// Resolve applies a PUBLISH's alias: a non-empty topic sets the alias and is
// returned; an empty one is replaced by the alias's topic [MQTT-3.3.2-10..12].
// The returned slice may alias internal storage.
func (a *AliasesIn) Resolve(alias uint16, topic []byte) ([]byte, error) {
	if alias == 0 || alias > a.max {
		return nil, ErrAliasInvalid
	}
	if len(topic) > 0 {
		if a.topics == nil {
			a.topics = make(map[uint16][]byte)
		}
		a.topics[alias] = append(a.topics[alias][:0], topic...)
		return topic, nil
	}
	t, ok := a.topics[alias]
	if !ok {
		return nil, ErrAliasUnknown
	}
	return t, nil
}

// AliasesOut assigns aliases to topics the broker sends (broker to client):
// 1..max in order of first use, then no more.
type AliasesOut struct {
	max     uint16
	next    uint16
	aliases map[string]uint16
}

// NewAliasesOut allows aliases 1..max (the client's Topic Alias Maximum).
func NewAliasesOut(max uint16) *AliasesOut { return &AliasesOut{max: max} }

// Lookup returns topic's alias; known means it was sent before, so the
// topic may be sent empty. When !known and alias != 0, send the topic and the
// alias to establish it.
func (a *AliasesOut) Lookup(topic string) (alias uint16, known bool) {
	if al, ok := a.aliases[topic]; ok {
		return al, true
	}
	if a.next >= a.max {
		return 0, false
	}
	if a.aliases == nil {
		a.aliases = make(map[string]uint16)
	}
	a.next++
	a.aliases[topic] = a.next
	return a.next, false
}
