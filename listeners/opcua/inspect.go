package opcua

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/gopcua/opcua/ua"
)

// gopcua's server decodes each request on a goroutine of its own with no
// recover, and its decoder trusts the lengths it reads: a Variant array of
// length below -1 makes it panic, an array declared with 2^31 elements
// makes it allocate 16 GiB before it reads one, Variant dimensions whose
// int32 product overflows make it loop forever. One client would end the
// whole broker. So the proxy reads the client's side message by message,
// reassembles each request from its chunks and checks it before gopcua
// sees it: checkRequest (wire.go) walks it as gopcua would decode it,
// refusing lengths beyond its bytes, then gopcua's decoder runs on it
// under a recover, against what the walk does not foresee. A refused
// request ends its connection. Requests that do not decode for other
// reasons pass on: gopcua answers them. This reads the bodies in clear,
// which holds while the server offers security mode None only
// (server.go).

// msgLimits bound what a client may send, from the server's Acknowledge
// (Part 6, 7.1.2.4): the size of a chunk, and of a request's chunks
// together.
type msgLimits struct {
	chunk, message uint32
}

// limitsOf reads the limits from the server's Acknowledge; a limit of 0
// (none) becomes gopcua's defaults' bound.
func limitsOf(ack []byte) msgLimits {
	l := msgLimits{chunk: 0xffff, message: 2 << 20}
	if len(ack) >= 28 && string(ack[:3]) == "ACK" {
		if v := binary.LittleEndian.Uint32(ack[12:]); v >= 8192 { // the server's ReceiveBufferSize (8192 at least, Part 6, 7.1.2.4)
			l.chunk = v
		}
		if v := binary.LittleEndian.Uint32(ack[20:]); v > 0 { // MaxMessageSize
			l.message = v
		}
	}
	return l
}

// errRefused wraps every reason inspect ends a connection for (the
// others are the connection's own end).
var errRefused = errors.New("opcua: request refused")

// errPanicked: a request gopcua's decoder panics on.
var errPanicked = fmt.Errorf("%w: gopcua's decoder panics on it", errRefused)

// maxPending bounds the requests a client has sent some chunks of and
// not the last (gopcua's MaxChunkCount).
const maxPending = 512

// inspect relays messages from the client c to gopcua's side up until
// either fails, checking each request as its final chunk arrives.
func inspect(c io.Reader, up io.Writer, lim msgLimits) error {
	pending := make(map[uint32][]byte) // request id → the bodies of its chunks so far
	held := 0                          // bytes in pending
	buf := make([]byte, 8, 4096)
	for {
		if _, err := io.ReadFull(c, buf[:8]); err != nil {
			return err
		}
		size := binary.LittleEndian.Uint32(buf[4:])
		if size < 8 || size > lim.chunk {
			return fmt.Errorf("%w: %q chunk of %d bytes (at most %d)", errRefused, buf[:4], size, lim.chunk)
		}
		buf = slices.Grow(buf[:8], int(size)-8)[:size]
		if _, err := io.ReadFull(c, buf[8:]); err != nil {
			return err
		}
		if id, body, ok := requestBody(buf); ok {
			switch buf[3] {
			case 'C':
				if held += len(body); uint32(held) > lim.message {
					return fmt.Errorf("%w: more than %d bytes", errRefused, lim.message)
				}
				if _, ok := pending[id]; !ok && len(pending) == maxPending {
					return fmt.Errorf("%w: more than %d requests in chunks", errRefused, maxPending)
				}
				pending[id] = append(pending[id], body...)
			case 'A':
				held -= len(pending[id])
				delete(pending, id)
			case 'F':
				whole := body
				if prev, ok := pending[id]; ok {
					held -= len(prev)
					delete(pending, id)
					whole = append(prev, body...)
				}
				if err := checkRequest(whole); err != nil {
					return err
				}
				if decodePanics(whole) {
					return errPanicked
				}
			}
		}
		if _, err := up.Write(buf); err != nil {
			return err
		}
	}
}

// requestBody finds the request id and the body in a chunk of a
// secure-channel message (Part 6, 6.7.2): OPN has the asymmetric security
// header (channel id, policy URI, certificate, thumbprint), MSG and CLO
// the symmetric one (channel id, token id); then the sequence header
// (sequence number, request id). ok is false for anything else, or a
// chunk too short for its headers (gopcua refuses those itself).
func requestBody(b []byte) (id uint32, body []byte, ok bool) {
	pos := 12 // message header and secure channel id
	switch string(b[:3]) {
	case "MSG", "CLO":
		pos += 4 // token id
	case "OPN":
		for range 3 { // policy URI, sender certificate, receiver thumbprint
			if len(b) < pos+4 {
				return 0, nil, false
			}
			n := int32(binary.LittleEndian.Uint32(b[pos:]))
			pos += 4
			if n > 0 {
				if int(n) > len(b)-pos {
					return 0, nil, false
				}
				pos += int(n)
			}
		}
	default:
		return 0, nil, false
	}
	if len(b) < pos+8 {
		return 0, nil, false
	}
	return binary.LittleEndian.Uint32(b[pos+4:]), b[pos+8:], true
}

// decodePanics reports whether gopcua's decoder panics on a request body.
func decodePanics(b []byte) (panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	_, _, _ = ua.DecodeService(b)
	return false
}
