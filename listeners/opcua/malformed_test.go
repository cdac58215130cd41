package opcua

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"
)

// corrupting relays OPC UA connections to target, rewriting in each
// message from the client the bytes old to new (same length).
func corrupting(t *testing.T, target string, old, new []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				return
			}
			go func() { _, _ = io.Copy(c, up); c.Close() }()
			go func() {
				defer up.Close()
				hdr := make([]byte, 8)
				for {
					if _, err := io.ReadFull(c, hdr); err != nil {
						return
					}
					msg := make([]byte, binary.LittleEndian.Uint32(hdr[4:]))
					copy(msg, hdr)
					if _, err := io.ReadFull(c, msg[8:]); err != nil {
						return
					}
					if _, err := up.Write(bytes.ReplaceAll(msg, old, new)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestMalformedRequestEndsOnlyItsConnection: a client whose Write request
// holds a Variant array of length -2 (gopcua's decoder panics on it, on a
// goroutine of its own with no recover: it ended the broker's process)
// loses its connection; the broker and other OPC UA clients go on.
func TestMalformedRequestEndsOnlyItsConnection(t *testing.T) {
	s, _, _ := startServerMode(t, ServerConfig{Expose: []Expose{{Filter: "plant/#", Encoding: EncodingJSON, Writable: true}}})
	good := uaClient(t, s.EndpointURL())

	// An Int32 array (encoding mask 0x86) of two recognisable values;
	// the relay turns its length 2 into -2.
	marker := []byte{0x86, 2, 0, 0, 0, 0x5a, 0x5a, 0x5a, 0x5a}
	evil := append([]byte{0x86, 0xfe, 0xff, 0xff, 0xff}, marker[5:]...)
	relay := corrupting(t, s.Addr().String(), marker, evil)
	bad := uaClient(t, "opc.tcp://"+relay)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := bad.Write(ctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID: ua.NewStringNodeID(1, "plant/x"), AttributeID: ua.AttributeIDValue,
		Value: &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant([]int32{0x5a5a5a5a, 0x5a5a5a5a})},
	}}})
	if err == nil {
		t.Error("the malformed write was answered")
	}
	// The broker is alive: the other client's session still reads.
	if dv := readValue(t, good, ua.NewNumericNodeID(0, 2258)); dv.Status != ua.StatusOK { // Server_ServerStatus_CurrentTime
		t.Errorf("read after the malformed request: %v", dv.Status)
	}
}
