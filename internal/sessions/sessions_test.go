package sessions

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/ternmq/broker/packets"
)

func TestQueueBoundAndOrder(t *testing.T) {
	q := Queue{Max: 3}
	for i := range 5 {
		ok := q.Push(Delivery{ID: uint16(i)})
		if want := i < 3; ok != want {
			t.Fatalf("push %d: %v, want %v (overflow drops the newest)", i, ok, want)
		}
	}
	q.PushFront(Delivery{ID: 99}) // requeues ignore the bound
	want := []uint16{99, 0, 1, 2}
	for _, w := range want {
		d, ok := q.Pop()
		if !ok || d.ID != w {
			t.Fatalf("pop %d, %v; want %d", d.ID, ok, w)
		}
	}
	if _, ok := q.Pop(); ok || q.Len() != 0 {
		t.Fatal("queue not empty")
	}
}

func TestQueueReusesSpace(t *testing.T) {
	var q Queue
	for i := range 10000 {
		q.Push(Delivery{ID: uint16(i)})
		if d, _ := q.Pop(); d.ID != uint16(i) {
			t.Fatalf("got %d want %d", d.ID, i)
		}
	}
	if cap(q.items) > 16 {
		t.Fatalf("queue grew to %d for a steady length of 1", cap(q.items))
	}
}

func TestInflightIDsNeverReusedWhileInFlight(t *testing.T) {
	var f Inflight
	seen := map[uint16]bool{}
	for range 65535 {
		id, err := f.Add(Delivery{QoS: 1})
		if err != nil {
			t.Fatal(err)
		}
		if id == 0 || seen[id] {
			t.Fatalf("id %d reused or zero [MQTT-2.3.1-2]", id)
		}
		seen[id] = true
	}
	if _, err := f.Add(Delivery{QoS: 1}); err != ErrNoPacketID {
		t.Fatalf("66536th add: %v, want ErrNoPacketID", err)
	}
	if _, ok := f.Remove(500); !ok {
		t.Fatal("remove 500")
	}
	id, err := f.Add(Delivery{QoS: 1})
	if err != nil || id != 500 {
		t.Fatalf("got %d %v, want the only free id 500", id, err)
	}
}

func TestInflightRequeueKeepsIDsReserved(t *testing.T) {
	var f Inflight
	var q Queue
	a, _ := f.Add(Delivery{QoS: 1})
	b, _ := f.Add(Delivery{QoS: 2, Release: true})
	f.Requeue(&q)
	if f.Len() != 0 || q.Len() != 2 {
		t.Fatalf("inflight %d queue %d", f.Len(), q.Len())
	}
	c, _ := f.Add(Delivery{QoS: 1})
	if c == a || c == b {
		t.Fatalf("new id %d collides with requeued %d/%d", c, a, b)
	}
	d1, _ := q.Pop()
	d2, _ := q.Pop()
	if d1.ID != a || !d1.Dup || d2.ID != b || d2.Dup || !d2.Release {
		t.Fatalf("requeued %+v %+v: want DUP on the PUBLISH [MQTT-4.4.0-1], PUBREL kept", d1, d2)
	}
}

func TestMessageEncodedOncePerVariant(t *testing.T) {
	m := NewMessage([]byte("a/b"), []byte("payload"), 1, true, nil)
	e1, err := m.Encoded(packets.V311, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := m.Encoded(packets.V311, 1, false)
	if &e1[0] != &e2[0] {
		t.Fatal("variant encoded twice")
	}
	buf := append([]byte(nil), e1...)
	PatchPublish(buf, 0x1234, true)
	fh, body, _ := readOne(t, buf)
	var p packets.Publish
	if err := p.Decode(fh.Flags, body, packets.V311); err != nil {
		t.Fatal(err)
	}
	if p.PacketID != 0x1234 || !p.Dup || string(p.Topic) != "a/b" || string(p.Payload) != "payload" {
		t.Fatalf("patched publish %+v", p)
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = m.Encoded(packets.V311, 1, false) }); allocs != 0 {
		t.Fatalf("cached encoding allocates %v", allocs)
	}
}

// Writers of several connections encode variants of one message at once:
// each variant is encoded once and every caller gets that variant.
func TestMessageVariantsConcurrently(t *testing.T) {
	m := NewMessage([]byte("a/b"), []byte("payload"), 2, true, nil)
	type variant struct {
		v      packets.Version
		qos    byte
		retain bool
	}
	var vs []variant
	for _, v := range []packets.Version{packets.V311, packets.V5} {
		for qos := byte(0); qos <= 2; qos++ {
			vs = append(vs, variant{v, qos, false}, variant{v, qos, true})
		}
	}
	got := make([][][]byte, 8)
	var wg sync.WaitGroup
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, x := range vs {
				e, err := m.Encoded(x.v, x.qos, x.retain)
				if err != nil {
					t.Error(err)
					return
				}
				got[g] = append(got[g], e)
			}
		}()
	}
	wg.Wait()
	for i, x := range vs {
		for g := range got {
			if &got[g][i][0] != &got[0][i][0] {
				t.Fatalf("variant %+v encoded more than once", x)
			}
		}
		fh, body, _ := readOne(t, got[0][i])
		var p packets.Publish
		if err := p.Decode(fh.Flags, body, x.v); err != nil {
			t.Fatalf("%+v: %v", x, err)
		}
		if p.QoS != x.qos || p.Retain != x.retain || string(p.Topic) != "a/b" {
			t.Fatalf("variant %+v decodes as %+v", x, p)
		}
	}
}

// A message is allocated per PUBLISH: its size is what the garbage
// collector pays per message (it was 240 bytes with a cache slot per
// variant).
func TestMessageIsSmall(t *testing.T) {
	if n := unsafe.Sizeof(Message{}); n > 128 {
		t.Fatalf("Message is %d bytes, want at most 128", n)
	}
}

func TestMessageExpiryCountsDown(t *testing.T) {
	m := NewMessage([]byte("t"), nil, 0, false, nil)
	now := time.Now()
	m.Expiry = now.Add(10 * time.Second)
	var p packets.Publish
	m.Publish(&p, 0, false, now.Add(4*time.Second))
	if p.Properties.MessageExpiry != 6 {
		t.Fatalf("remaining expiry %d, want 6 [MQTT-3.3.2-6]", p.Properties.MessageExpiry)
	}
	if m.Expired(now) || !m.Expired(now.Add(10*time.Second)) {
		t.Fatal("Expired wrong")
	}
}

func readOne(t *testing.T, b []byte) (packets.FixedHeader, []byte, error) {
	t.Helper()
	br := bytesReader(b)
	r := packets.NewReader(&br, 0)
	return r.Next()
}

type bytesReader []byte

func (b *bytesReader) Read(p []byte) (int, error) {
	n := copy(p, *b)
	*b = (*b)[n:]
	return n, nil
}

func TestQueuePushFrontAll(t *testing.T) {
	var q Queue
	m := func(topic string) Delivery { return Delivery{Msg: &Message{Topic: topic}} }
	q.Push(m("c"))
	q.Push(m("d"))
	q.PushFrontAll([]Delivery{m("a"), m("b")})
	q.Pop()
	q.PushFrontAll([]Delivery{m("a")}) // reuses the freed head slot
	var got []string
	for d, ok := q.Pop(); ok; d, ok = q.Pop() {
		got = append(got, d.Msg.Topic)
	}
	if fmt.Sprint(got) != "[a b c d]" {
		t.Fatalf("order %v, want [a b c d]", got)
	}
	if q.Bytes() != 0 {
		t.Fatalf("%d bytes left in an empty queue", q.Bytes())
	}
}

// TestMessageTopicDoesNotPinPayload: a message's topic is its own
// allocation, so that an index or a hook keeping the topic string does not
// keep a payload of up to the maximum packet size alive with it.
func TestMessageTopicDoesNotPinPayload(t *testing.T) {
	m := NewMessage([]byte("a/b"), make([]byte, 1<<20), 0, false, nil)
	topic := uintptr(unsafe.Pointer(unsafe.StringData(m.Topic)))
	payload := uintptr(unsafe.Pointer(unsafe.SliceData(m.Payload)))
	if topic >= payload-64 && topic < payload+uintptr(cap(m.Payload))+64 {
		t.Fatal("the topic shares the payload's allocation")
	}
}

// TestDeliveryIsACacheLine: queues and write batches copy deliveries;
// field order keeps one at 64 bytes (it was 72).
func TestDeliveryIsACacheLine(t *testing.T) {
	if n := unsafe.Sizeof(Delivery{}); n != 64 {
		t.Fatalf("Delivery is %d bytes, want 64", n)
	}
}

// TestSmallMessageIsTwoAllocations: a small message's topic and payload
// share one allocation (the message is the other), and appending to the
// payload does not write the topic.
func TestSmallMessageIsTwoAllocations(t *testing.T) {
	topic, payload := []byte("site/7/kitchen/temp"), make([]byte, 64)
	if allocs := testing.AllocsPerRun(100, func() { _ = NewMessage(topic, payload, 0, false, nil) }); allocs != 2 {
		t.Errorf("NewMessage: %v allocations, want 2", allocs)
	}
	m := NewMessage(topic, []byte("21.5"), 0, false, nil)
	p := append(m.Payload, "C and more"...)
	if m.Topic != "site/7/kitchen/temp" || string(m.Payload) != "21.5" || string(p) != "21.5C and more" {
		t.Fatalf("topic %q payload %q appended %q", m.Topic, m.Payload, p)
	}
}

// A session streaming QoS 1 keeps about a window in flight: the oldest is
// acknowledged as a new one is sent. That reuses the array (it used to
// creep forward and grow, an allocation and a copy every few messages),
// and out-of-order acknowledgements keep the order of the rest.
func TestInflightSteadyStream(t *testing.T) {
	var f Inflight
	m := NewMessage([]byte("t"), nil, 1, false, nil)
	var ids []uint16
	for range 100 {
		id, err := f.Add(Delivery{Msg: m, QoS: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	step := func() {
		if _, ok := f.Remove(ids[0]); !ok {
			t.Fatalf("id %d not in flight", ids[0])
		}
		id, err := f.Add(Delivery{Msg: m, QoS: 1})
		if err != nil {
			t.Fatal(err)
		}
		copy(ids, ids[1:])
		ids[len(ids)-1] = id
	}
	for range 1000 {
		step()
	}
	thousand := func() {
		for range 1000 {
			step()
		}
	}
	if allocs := testing.AllocsPerRun(1, thousand); allocs != 0 {
		t.Fatalf("1,000 messages of a steady stream allocate %v times", allocs)
	}
	// Acknowledged out of order: the rest keep their send order.
	for _, i := range []int{50, 10, 97} {
		if _, ok := f.Remove(ids[i]); !ok {
			t.Fatalf("id %d not in flight", ids[i])
		}
		ids = append(ids[:i], ids[i+1:]...)
	}
	var got []uint16
	f.Range(func(d *Delivery) bool { got = append(got, d.ID); return true })
	if fmt.Sprint(got) != fmt.Sprint(ids) || f.Len() != len(ids) {
		t.Fatalf("in flight %v, want %v", got, ids)
	}
}

// The identifier set agrees with a map through random takes and releases
// across all pages, and gives pages back as they empty.
func TestIDSetAgreesWithAMap(t *testing.T) {
	var s idSet
	model := map[uint16]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200_000 {
		id := uint16(r.IntN(65535) + 1)
		if i%3 == 0 {
			s.del(id)
			delete(model, id)
		} else {
			s.add(id)
			model[id] = true
		}
		if i%997 == 0 {
			for probe := range 65536 {
				if s.has(uint16(probe)) != model[uint16(probe)] {
					t.Fatalf("step %d: id %d: set %v, map %v", i, probe, s.has(uint16(probe)), model[uint16(probe)])
				}
			}
		}
		if s.n != len(model) {
			t.Fatalf("step %d: %d in the set, %d in the map", i, s.n, len(model))
		}
	}
	for id := range model {
		s.del(id)
	}
	for i, p := range s.pages {
		if p != nil {
			t.Fatalf("page %d kept after its last identifier left", i)
		}
	}
}
