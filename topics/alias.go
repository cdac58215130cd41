package topics

import (
	"errors"
	"strings"
)

// The errors of AliasesIn.Resolve; the broker answers both with reason code
// 0x94, Topic Alias invalid.
var (
	// ErrAliasInvalid: the topic alias is 0 or above the Topic Alias
	// Maximum the broker announced [MQTT-3.3.2-8, MQTT-3.3.2-9].
	ErrAliasInvalid = errors.New("topic alias is 0 or above the maximum")
	// ErrAliasUnknown: a PUBLISH has an empty topic name and an alias the
	// client has not set on this connection, a Protocol Error (section
	// 3.3.2.3.4); mappings never carry over to another connection
	// [MQTT-3.3.2-7].
	ErrAliasUnknown = errors.New("topic alias is not set")
	// ErrAliasBytes: recording the alias would take the connection's
	// alias topics above their byte budget (a broker limit, not a
	// protocol rule: the broker answers it with 0x97 Quota exceeded).
	ErrAliasBytes = errors.New("topic aliases exceed their byte budget")
)

// AliasesIn holds the topic aliases a client set on one connection, client
// to broker [MQTT-3.3.2-7..12]. It is not safe for concurrent use: one
// connection reads its PUBLISH packets in order. A nil *AliasesIn accepts
// no alias.
type AliasesIn struct {
	max      uint16
	maxBytes int      // budget for the recorded topics; 0: none
	bytes    int      // recorded now
	topics   [][]byte // by alias, grown on demand: few clients use all 65535
}

// NewAliasesIn returns the inbound aliases of a connection whose Topic Alias
// Maximum is max (0: the client may not use aliases), whose recorded
// topics may take at most maxBytes (0: no budget).
func NewAliasesIn(max uint16, maxBytes int) *AliasesIn {
	return &AliasesIn{max: max, maxBytes: maxBytes}
}

// Resolve returns the topic name of a PUBLISH that carries a Topic Alias,
// accepting every alias from 1 to the maximum [MQTT-3.3.2-12]. With a
// non-empty topic it records alias -> topic (replacing any earlier mapping)
// and returns topic; with an empty topic it returns the topic recorded for
// alias (section 3.3.2.3.4). Errors: ErrAliasInvalid for alias 0 or above
// the maximum [MQTT-3.3.2-8, MQTT-3.3.2-9], ErrAliasUnknown for an empty
// topic with an alias never set, ErrAliasBytes past the byte budget. The
// result may share memory with the stored copy; it is
// valid until the next Resolve of the same alias.
func (a *AliasesIn) Resolve(alias uint16, topic []byte) ([]byte, error) {
	if a == nil || alias == 0 || alias > a.max {
		return nil, ErrAliasInvalid
	}
	i := int(alias)
	if len(topic) > 0 {
		if i < len(a.topics) && len(a.topics[i]) == len(topic) {
			copy(a.topics[i], topic) // same size: reuse the copy
			return topic, nil
		}
		old := 0
		if i < len(a.topics) {
			old = len(a.topics[i])
		}
		if a.maxBytes > 0 && a.bytes-old+len(topic) > a.maxBytes {
			return nil, ErrAliasBytes
		}
		if i >= len(a.topics) {
			a.topics = append(a.topics, make([][]byte, i+1-len(a.topics))...)
		}
		a.bytes += len(topic) - old
		a.topics[i] = append([]byte(nil), topic...) // copy: the packet buffer is reused
		return topic, nil
	}
	if i < len(a.topics) && len(a.topics[i]) > 0 {
		return a.topics[i], nil
	}
	return nil, ErrAliasUnknown
}

// AliasesOut chooses topic aliases for one connection, broker to client,
// from 1 to the client's Topic Alias Maximum [MQTT-3.3.2-8, MQTT-3.3.2-11],
// and never to a client that announced none. The policy is the simplest that
// is correct: aliases 1..max go to topics in order of first use and are
// never reassigned; once they are used up, other topics go without an
// alias. It is not safe for concurrent use: one writer encodes a
// connection's PUBLISH packets in order. A nil *AliasesOut assigns nothing.
type AliasesOut struct {
	max     uint16
	aliases map[string]uint16
}

// NewAliasesOut returns the outbound aliases of a connection whose client
// announced Topic Alias Maximum max (0: the client accepts none).
func NewAliasesOut(max uint16) *AliasesOut { return &AliasesOut{max: max} }

// Lookup returns the alias of topic. known means an earlier PUBLISH
// established it, so this one may carry an empty topic name. When !known
// and alias != 0, the alias is new: this PUBLISH must carry both the topic
// and the alias. alias == 0 means: send the topic without an alias. Lookup
// assumes that every PUBLISH it gives a new alias to is sent.
func (a *AliasesOut) Lookup(topic string) (alias uint16, known bool) {
	if a == nil || a.max == 0 {
		return 0, false
	}
	if alias, ok := a.aliases[topic]; ok {
		return alias, true
	}
	if len(a.aliases) >= int(a.max) {
		return 0, false
	}
	if a.aliases == nil {
		a.aliases = make(map[string]uint16)
	}
	alias = uint16(len(a.aliases) + 1)
	a.aliases[strings.Clone(topic)] = alias // the caller's string may share a buffer
	return alias, false
}
