package packets

import "sync"

// New returns a new, empty packet of type t (an Ack with Kind t for PUBACK,
// PUBREC, PUBREL and PUBCOMP), or nil for type 0 and values above 15.
func New(t Type) Packet {
	switch t {
	case CONNECT:
		return &Connect{}
	case CONNACK:
		return &Connack{}
	case PUBLISH:
		return &Publish{}
	case PUBACK, PUBREC, PUBREL, PUBCOMP:
		return &Ack{Kind: t}
	case SUBSCRIBE:
		return &Subscribe{}
	case SUBACK:
		return &Suback{}
	case UNSUBSCRIBE:
		return &Unsubscribe{}
	case UNSUBACK:
		return &Unsuback{}
	case PINGREQ:
		return &Pingreq{}
	case PINGRESP:
		return &Pingresp{}
	case DISCONNECT:
		return &Disconnect{}
	case AUTH:
		return &Auth{}
	}
	return nil
}

// Decode allocates a packet of type fh.Type and decodes body into it for
// protocol version v. It suits tests and cold paths; a hot path keeps its
// packets (or takes them from GetPublish) and calls their Decode method.
func Decode(fh FixedHeader, body []byte, v Version) (Packet, error) {
	p := New(fh.Type)
	if p == nil {
		return nil, newError(fh.Type, "packet type", "reserved", MalformedPacket)
	}
	if err := p.Decode(fh.Flags, body, v); err != nil {
		return nil, err
	}
	return p, nil
}

// Pools for the packets a busy connection decodes and encodes most.
var (
	publishPool = sync.Pool{New: func() any { return new(Publish) }}
	ackPool     = sync.Pool{New: func() any { return new(Ack) }}
)

// GetPublish returns an empty Publish from a pool. Give it back with
// PutPublish once nothing refers to it any more.
func GetPublish() *Publish { return publishPool.Get().(*Publish) }

// PutPublish resets p and returns it to the pool of GetPublish.
func PutPublish(p *Publish) {
	p.Reset()
	publishPool.Put(p)
}

// GetAck returns an Ack of the given kind from a pool. Give it back with
// PutAck.
func GetAck(kind Type) *Ack {
	a := ackPool.Get().(*Ack)
	a.Kind = kind
	return a
}

// PutAck resets a and returns it to the pool of GetAck.
func PutAck(a *Ack) {
	a.Reset()
	ackPool.Put(a)
}
