package packets_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/packets/packetstest"
)

// equate treats nil and empty slices alike: a decoded empty payload is an
// empty slice of the buffer, a literal one is nil.
var equate = cmpopts.EquateEmpty()

func caseName(c packetstest.Case) string {
	if c.Spec != "" {
		return c.Name + " " + c.Spec
	}
	return c.Name
}

// TestCatalogue decodes every case of the catalogue: valid ones must equal
// Want and encode back to Raw; invalid ones must fail with Code.
func TestCatalogue(t *testing.T) {
	for _, c := range packetstest.Cases() {
		t.Run(caseName(c), func(t *testing.T) {
			got, err := packets.Unmarshal(c.Raw, c.Version)
			if !c.Valid() {
				checkRejected(t, err, c.Code)
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(% x): %v", c.Raw, err)
			}
			if d := cmp.Diff(c.Want, got, equate); d != "" {
				t.Fatalf("decoded packet differs (-want +got):\n%s", d)
			}
			enc, err := c.Want.Append(nil, c.Version)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !c.NonCanonical {
				if !bytes.Equal(enc, c.Raw) {
					t.Fatalf("Append:\n got % x\nwant % x", enc, c.Raw)
				}
				return
			}
			again, err := packets.Unmarshal(enc, c.Version)
			if err != nil {
				t.Fatalf("Unmarshal(Append(want)) = % x: %v", enc, err)
			}
			if d := cmp.Diff(c.Want, again, equate); d != "" {
				t.Fatalf("re-decoded packet differs (-want +got):\n%s", d)
			}
		})
	}
}

func checkRejected(t *testing.T, err error, code packets.ReasonCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want %v (0x%02x)", code, byte(code))
	}
	var e *packets.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a *packets.Error", err, err)
	}
	if !errors.Is(err, code) {
		t.Fatalf("error %q has code 0x%02x, want 0x%02x (%v)", err, byte(packets.CodeOf(err)), byte(code), code)
	}
	if e.Field == "" || e.Reason == "" {
		t.Fatalf("error %q does not name field and reason", err)
	}
}

// TestCatalogueReusedPacket decodes the valid cases of each type one after
// another into a single packet, as a connection does: Reset must leave
// nothing behind.
func TestCatalogueReusedPacket(t *testing.T) {
	reused := map[packets.Type]packets.Packet{}
	for _, c := range packetstest.Cases() {
		if !c.Valid() {
			continue
		}
		fh, n, err := packets.ReadFixedHeader(c.Raw)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		p := reused[fh.Type]
		if p == nil {
			p = packets.New(fh.Type)
			reused[fh.Type] = p
		}
		if err := p.Decode(fh.Flags, c.Raw[n:], c.Version); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if d := cmp.Diff(c.Want, p, equate); d != "" {
			t.Errorf("%s: reused packet differs (-want +got):\n%s", c.Name, d)
		}
	}
}

// TestCatalogueCoverage checks that the catalogue has a valid and an invalid
// case for every packet type, a valid case for every property, and cases for
// the three protocol levels.
func TestCatalogueCoverage(t *testing.T) {
	valid, invalid := map[packets.Type]bool{}, map[packets.Type]bool{}
	var seen packets.PropSet
	levels := map[packets.Version]bool{}
	for _, c := range packetstest.Cases() {
		levels[c.Version] = true
		pt := packets.Type(c.Raw[0] >> 4)
		if !c.Valid() {
			invalid[pt] = true
			continue
		}
		valid[pt] = true
		for _, p := range propertiesOf(c.Want) {
			seen |= p.Present
		}
	}
	for pt := packets.CONNECT; pt <= packets.AUTH; pt++ {
		if !valid[pt] || !invalid[pt] {
			t.Errorf("%v: valid case %v, invalid case %v", pt, valid[pt], invalid[pt])
		}
	}
	for id := packets.PropID(1); id <= packets.PropSharedSubAvailable; id++ {
		if id.String() != "unknown property" && !seen.Has(id) {
			t.Errorf("no valid case carries %v (0x%02x)", id, byte(id))
		}
	}
	if len(levels) != 3 {
		t.Errorf("levels covered: %v", levels)
	}
}

// propertiesOf returns the property sets of a packet.
func propertiesOf(p packets.Packet) []*packets.Properties {
	switch p := p.(type) {
	case *packets.Connect:
		return []*packets.Properties{&p.Properties, &p.WillProperties}
	case *packets.Connack:
		return []*packets.Properties{&p.Properties}
	case *packets.Publish:
		return []*packets.Properties{&p.Properties}
	case *packets.Ack:
		return []*packets.Properties{&p.Properties}
	case *packets.Subscribe:
		return []*packets.Properties{&p.Properties}
	case *packets.Suback:
		return []*packets.Properties{&p.Properties}
	case *packets.Unsubscribe:
		return []*packets.Properties{&p.Properties}
	case *packets.Unsuback:
		return []*packets.Properties{&p.Properties}
	case *packets.Disconnect:
		return []*packets.Properties{&p.Properties}
	case *packets.Auth:
		return []*packets.Properties{&p.Properties}
	}
	return nil
}
