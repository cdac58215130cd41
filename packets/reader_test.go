package packets_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/packets/packetstest"
)

// countingReader counts Read calls and bytes handed out.
type countingReader struct {
	r     io.Reader
	reads int
	bytes int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	n, err := c.r.Read(p)
	c.bytes += n
	return n, err
}

// validStream concatenates every valid catalogue packet of version v.
func validStream(v packets.Version) (stream []byte, cases []packetstest.Case) {
	for _, c := range packetstest.Cases() {
		if c.Valid() && c.Version == v {
			stream = append(stream, c.Raw...)
			cases = append(cases, c)
		}
	}
	return stream, cases
}

// readAll reads packets until an error and checks each against cases.
func readAll(t *testing.T, r *packets.Reader, cases []packetstest.Case, v packets.Version) {
	t.Helper()
	for _, c := range cases {
		fh, body, err := r.Next()
		if err != nil {
			t.Fatalf("%s: Next: %v", c.Name, err)
		}
		p, err := packets.Decode(fh, body, v)
		if err != nil {
			t.Fatalf("%s: Decode: %v", c.Name, err)
		}
		if d := cmp.Diff(c.Want, p, equate); d != "" {
			t.Fatalf("%s: (-want +got)\n%s", c.Name, d)
		}
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last packet: %v, want io.EOF", err)
	}
}

func TestReaderOneByteReads(t *testing.T) {
	for _, v := range []packets.Version{packets.V31, packets.V311, packets.V5} {
		stream, cases := validStream(v)
		readAll(t, packets.NewReader(iotest.OneByteReader(bytes.NewReader(stream)), 0), cases, v)
	}
}

func TestReaderHalfReads(t *testing.T) {
	stream, cases := validStream(packets.V5)
	readAll(t, packets.NewReader(iotest.HalfReader(bytes.NewReader(stream)), 0), cases, packets.V5)
}

// TestReaderManyPacketsOneRead: packets that arrive together are served
// from one buffer, without a Read per packet.
func TestReaderManyPacketsOneRead(t *testing.T) {
	var stream []byte
	for i := 1; i <= 500; i++ {
		stream, _ = (&packets.Ack{Kind: packets.PUBACK, PacketID: uint16(i)}).Append(stream, packets.V311)
	}
	cr := &countingReader{r: bytes.NewReader(stream)}
	r := packets.NewReader(cr, 0)
	for i := 1; i <= 500; i++ {
		fh, body, err := r.Next()
		if err != nil || fh.Type != packets.PUBACK || int(body[0])<<8|int(body[1]) != i {
			t.Fatalf("packet %d: %v %v % x", i, err, fh, body)
		}
	}
	// 2000 bytes: one 16-byte read, then the rest in one 4 KiB read.
	if cr.reads > 3 {
		t.Fatalf("%d reads for 500 packets in one chunk", cr.reads)
	}
}

// TestReaderRefusesLargeClaim: a remaining length of 268 MB on a 1 MB
// limit fails from the header alone, nothing allocated or read after it.
func TestReaderRefusesLargeClaim(t *testing.T) {
	header := []byte{0x30, 0xFF, 0xFF, 0xFF, 0x7F}
	cr := &countingReader{r: io.MultiReader(bytes.NewReader(header), neverEnding{})}
	r := packets.NewReader(iotest.OneByteReader(cr), 1<<20)
	_, _, err := r.Next()
	if !errors.Is(err, packets.PacketTooLarge) {
		t.Fatalf("Next: %v, want PacketTooLarge", err)
	}
	if cr.bytes != len(header) {
		t.Fatalf("read %d bytes, want only the %d of the fixed header", cr.bytes, len(header))
	}
	if pooled, n := packets.ReaderState(r); pooled || n != packets.SmallSize {
		t.Fatalf("buffer after refusal: pooled %v, %d bytes", pooled, n)
	}
}

// neverEnding yields 'x' forever.
type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestReaderMaxPacketSize(t *testing.T) {
	pkt, _ := (&packets.Publish{Topic: []byte("t"), Payload: make([]byte, 100)}).Append(nil, packets.V311)
	r := packets.NewReader(bytes.NewReader(append(pkt, pkt...)), len(pkt))
	if _, _, err := r.Next(); err != nil {
		t.Fatalf("packet of exactly the maximum size: %v", err)
	}
	r.SetMaxPacketSize(len(pkt) - 1)
	if _, _, err := r.Next(); !errors.Is(err, packets.PacketTooLarge) {
		t.Fatalf("one byte over: %v", err)
	}
}

func TestReaderErrors(t *testing.T) {
	cases := []struct {
		name   string
		stream []byte
		want   error
	}{
		{"empty stream", nil, io.EOF},
		{"end inside the fixed header", []byte{0x30, 0x80}, io.ErrUnexpectedEOF},
		{"end after the first byte", []byte{0x30}, io.ErrUnexpectedEOF},
		{"end inside the body", []byte{0x30, 0x05, 0x00, 0x01}, io.ErrUnexpectedEOF},
		{"packet type 0", []byte{0x00, 0x00}, packets.MalformedPacket},
		{"remaining length of five bytes", []byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, packets.MalformedPacket},
		{"remaining length not minimal", []byte{0x30, 0x80, 0x80, 0x00}, packets.MalformedPacket},
	}
	for _, c := range cases {
		for _, oneByte := range []bool{false, true} {
			var src io.Reader = bytes.NewReader(c.stream)
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			_, _, err := packets.NewReader(src, 0).Next()
			if !errors.Is(err, c.want) {
				t.Errorf("%s (one byte reads %v): %v, want %v", c.name, oneByte, err, c.want)
			}
		}
	}
	// A Read error is returned once the bytes before it are used up.
	boom := errors.New("boom")
	r := packets.NewReader(iotest.DataErrReader(io.MultiReader(bytes.NewReader([]byte{0xC0, 0}), iotest.ErrReader(boom))), 0)
	if fh, _, err := r.Next(); err != nil || fh.Type != packets.PINGREQ {
		t.Fatalf("first packet: %v %v", fh, err)
	}
	if _, _, err := r.Next(); err != boom {
		t.Fatalf("second Next: %v, want boom", err)
	}
}

// TestReaderPool: an idle Reader holds no pooled buffer; a big packet gets
// an exact-size buffer; Release keeps buffered bytes.
func TestReaderPool(t *testing.T) {
	small, _ := (&packets.Ack{Kind: packets.PUBACK, PacketID: 1}).Append(nil, packets.V311)
	mid, _ := (&packets.Publish{Topic: []byte("t"), Payload: make([]byte, 1000)}).Append(nil, packets.V311)
	big, _ := (&packets.Publish{Topic: []byte("t"), Payload: make([]byte, 100000)}).Append(nil, packets.V311)

	pr, pw := io.Pipe()
	r := packets.NewReader(pr, 0)
	send := func(b []byte) { go func() { _, _ = pw.Write(b) }() }

	send(small)
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if pooled, n := packets.ReaderState(r); pooled || n != packets.SmallSize {
		t.Fatalf("small packet: pooled %v, buffer %d", pooled, n)
	}
	send(mid)
	if _, body, err := r.Next(); err != nil || len(body) != len(mid)-3 {
		t.Fatal(err, len(body))
	}
	if pooled, n := packets.ReaderState(r); !pooled || n != 4096 {
		t.Fatalf("1 KB packet: pooled %v, buffer %d", pooled, n)
	}
	send(big)
	if _, body, err := r.Next(); err != nil || len(body) != len(big)-4 {
		t.Fatal(err, len(body))
	}
	if pooled, n := packets.ReaderState(r); pooled || n != len(big) {
		t.Fatalf("100 KB packet: pooled %v, buffer %d, want exact %d", pooled, n, len(big))
	}
	// Three packets in one write: after the first, two are buffered.
	two := append(append(append([]byte{}, mid...), small...), small...)
	send(two)
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	// io.Pipe hands the rest of one Write to the next Read, so both acks
	// arrived with the tail of the PUBLISH.
	if r.Buffered() != 2*len(small) {
		t.Fatalf("%d bytes buffered, want %d", r.Buffered(), 2*len(small))
	}
	r.Release()
	if pooled, _ := packets.ReaderState(r); pooled {
		t.Fatal("Release kept a pooled buffer")
	}
	if r.Buffered() != 2*len(small) {
		t.Fatalf("Release lost bytes: %d buffered", r.Buffered())
	}
	for i := 0; i < 2; i++ {
		if fh, _, err := r.Next(); err != nil || fh.Type != packets.PUBACK {
			t.Fatalf("after Release: %v %v", fh, err)
		}
	}
	if pooled, n := packets.ReaderState(r); pooled || n != packets.SmallSize {
		t.Fatalf("drained: pooled %v, buffer %d", pooled, n)
	}
	pw.Close()
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("closed: %v", err)
	}
}

// loopReader hands out the same chunk over and over, as a stream.
type loopReader struct {
	chunk []byte
	off   int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.chunk[l.off:])
	l.off = (l.off + n) % len(l.chunk)
	return n, nil
}

// TestReaderZeroAlloc: reading and decoding PUBLISH packets in steady state
// does not allocate.
func TestReaderZeroAlloc(t *testing.T) {
	chunk, _ := (&packets.Publish{QoS: 1, PacketID: 1, Topic: []byte("a/b"), Payload: make([]byte, 200)}).Append(nil, packets.V5)
	r := packets.NewReader(&loopReader{chunk: chunk}, 0)
	var p packets.Publish
	n := testing.AllocsPerRun(1000, func() {
		fh, body, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Decode(fh.Flags, body, packets.V5); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}

// TestReaderClaimWithoutBytes: without a configured limit, a claim of
// 268 MB followed by a trickle allocates in step with what arrives.
func TestReaderClaimWithoutBytes(t *testing.T) {
	stream := append([]byte{0x30, 0xFF, 0xFF, 0xFF, 0x7F}, make([]byte, 1000)...)
	r := packets.NewReader(bytes.NewReader(stream), 0)
	if _, _, err := r.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("Next: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, n := packets.ReaderState(r); n > 128<<10 {
		t.Fatalf("buffer of %d bytes for 1000 bytes received", n)
	}
}

// TestReaderLargePacket: a packet above the pool classes is read whole,
// into a buffer of exactly its size.
func TestReaderLargePacket(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 70000)
	pkt, _ := (&packets.Publish{Topic: []byte("big"), Payload: payload}).Append(nil, packets.V311)
	r := packets.NewReader(iotest.HalfReader(bytes.NewReader(pkt)), 0)
	fh, body, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	p, err := packets.Decode(fh, body, packets.V311)
	if err != nil || !bytes.Equal(p.(*packets.Publish).Payload, payload) {
		t.Fatalf("large packet: %v", err)
	}
	if _, n := packets.ReaderState(r); n != len(pkt) {
		t.Fatalf("buffer of %d bytes, want exactly %d", n, len(pkt))
	}
}

// TestReaderHasPacket: HasPacket is true exactly when Next can return a
// packet without reading.
func TestReaderHasPacket(t *testing.T) {
	pr, pw := io.Pipe()
	r := packets.NewReader(pr, 0)
	if r.HasPacket() {
		t.Fatal("HasPacket on an empty reader")
	}
	go func() {
		// Two PINGREQs and the first byte of a third in one write.
		_, _ = pw.Write([]byte{0xC0, 0, 0xC0, 0, 0xC0})
	}()
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if !r.HasPacket() {
		t.Error("a whole PINGREQ is buffered, HasPacket false")
	}
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if r.HasPacket() {
		t.Error("one byte of a packet is buffered, HasPacket true")
	}
}
