package sessions

import "errors"

// ErrNoPacketID is returned when every packet identifier is in flight.
var ErrNoPacketID = errors.New("sessions: no free packet identifier")

// Inflight tracks outbound QoS 1 and 2 deliveries that await
// acknowledgement, in send order, and allocates their packet identifiers:
// an identifier is never reused while in flight [MQTT-2.3.1-2]. Acks mostly
// arrive in order, so lookups start at the oldest entry.
type Inflight struct {
	items  []Delivery // in flight from items[head]: the oldest leave first
	head   int
	inUse  *idSet // identifiers in flight or reserved; nil: none yet
	nextID uint16
	bytes  int // Size of the messages in flight
}

// Len returns the number of deliveries in flight.
func (f *Inflight) Len() int { return len(f.items) - f.head }

// Bytes returns the memory the messages in flight hold (Message.Size each).
func (f *Inflight) Bytes() int { return f.bytes }

// Add assigns d a free packet identifier (unless d.ID is already set, as for
// a redelivery) and records it; it returns the identifier.
func (f *Inflight) Add(d Delivery) (uint16, error) {
	if f.inUse == nil {
		f.inUse = new(idSet)
	}
	if d.ID == 0 {
		if f.inUse.n >= 65535 {
			return 0, ErrNoPacketID
		}
		for {
			f.nextID++
			if f.nextID == 0 {
				f.nextID = 1
			}
			if !f.inUse.has(f.nextID) {
				break
			}
		}
		d.ID = f.nextID
	}
	f.inUse.add(d.ID)
	if f.head > 0 && f.head >= len(f.items)/2 && len(f.items) == cap(f.items) {
		// Reuse the space acknowledged deliveries left at the front
		// rather than grow: a steady stream allocates nothing.
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items = f.items[:n]
		f.head = 0
	}
	f.items = append(f.items, d)
	f.bytes += size(&d)
	return d.ID, nil
}

// find returns the index of id, or -1.
func (f *Inflight) find(id uint16) int {
	for i := f.head; i < len(f.items); i++ {
		if f.items[i].ID == id {
			return i
		}
	}
	return -1
}

// Get returns the delivery in flight with identifier id.
func (f *Inflight) Get(id uint16) (*Delivery, bool) {
	i := f.find(id)
	if i < 0 {
		return nil, false
	}
	return &f.items[i], true
}

// Remove deletes and returns the delivery with identifier id.
func (f *Inflight) Remove(id uint16) (Delivery, bool) {
	i := f.find(id)
	if i < 0 {
		return Delivery{}, false
	}
	d := f.items[i]
	f.bytes -= size(&d)
	if i == f.head {
		f.items[i] = Delivery{}
		f.head++
		if f.head == len(f.items) {
			f.items, f.head = f.items[:0], 0 // kept for the next ones (Trim gives it back)
		}
	} else {
		copy(f.items[i:], f.items[i+1:])
		f.items[len(f.items)-1] = Delivery{}
		f.items = f.items[:len(f.items)-1]
	}
	f.inUse.del(id)
	return d, true
}

// Range calls fn for every delivery in flight in send order until fn returns false.
func (f *Inflight) Range(fn func(*Delivery) bool) {
	for i := f.head; i < len(f.items); i++ {
		if !fn(&f.items[i]) {
			return
		}
	}
}

// Clear forgets every delivery in flight.
func (f *Inflight) Clear() {
	f.items, f.head = nil, 0
	f.inUse = nil
	f.bytes = 0
}

// Requeue moves every delivery in flight, in send order, to the front of q
// for resending after a reconnect: PUBLISHes get DUP set [MQTT-4.4.0-1],
// deliveries waiting for PUBCOMP resend PUBREL. Their packet identifiers
// stay reserved until Remove or Free.
func (f *Inflight) Requeue(q *Queue) {
	for i := len(f.items) - 1; i >= f.head; i-- {
		d := f.items[i]
		if !d.Release {
			d.Dup = true
		}
		q.PushFront(d)
	}
	clear(f.items)
	f.items, f.head = f.items[:0], 0
	f.bytes = 0
}

// Free releases a reserved packet identifier of a requeued delivery that
// will not be sent after all (expired or dropped).
func (f *Inflight) Free(id uint16) { f.inUse.del(id) }

// Reserve marks id as in use for a queued delivery restored from storage
// that already carries it.
func (f *Inflight) Reserve(id uint16) {
	if f.inUse == nil {
		f.inUse = new(idSet)
	}
	f.inUse.add(id)
}

// Extract removes the deliveries in flight for which take returns true,
// frees their identifiers, and returns them in send order.
func (f *Inflight) Extract(take func(*Delivery) bool) []Delivery {
	var out []Delivery
	kept := f.items[:0]
	for _, d := range f.items[f.head:] {
		if take(&d) {
			f.bytes -= size(&d)
			f.inUse.del(d.ID)
			d.ID, d.Dup = 0, false
			out = append(out, d)
		} else {
			kept = append(kept, d)
		}
	}
	clear(f.items[len(kept):])
	f.items, f.head = kept, 0
	return out
}

// Trim gives back the memory of an idle Inflight (nothing in flight,
// no identifier reserved): an idle session holds little.
func (f *Inflight) Trim() {
	if f.Len() == 0 && (f.inUse == nil || f.inUse.n == 0) {
		f.items, f.head, f.inUse = nil, 0, nil
	}
}

// idSet is a set of packet identifiers: a bitmap in pages of 1,024
// identifiers, made when the first of their identifiers is taken and
// given back when the last leaves (one is kept for the next). Identifiers are taken in sequence, so
// a session's window touches one page or two: the set costs about 0.6 KiB
// instead of a map's hashing and growth on every message (10 % of a QoS 1
// fan-out's CPU).
type idSet struct {
	pages [64]*[16]uint64
	spare *[16]uint64 // the last page given back, zeroed: the next page made
	n     int
}

func (s *idSet) has(id uint16) bool {
	p := s.pages[id>>10]
	return p != nil && p[id>>6&15]&(1<<(id&63)) != 0
}

func (s *idSet) add(id uint16) {
	p := s.pages[id>>10]
	if p == nil {
		if p = s.spare; p != nil {
			s.spare = nil
		} else {
			p = new([16]uint64)
		}
		s.pages[id>>10] = p
	}
	w, bit := &p[id>>6&15], uint64(1)<<(id&63)
	if *w&bit == 0 {
		*w |= bit
		s.n++
	}
}

func (s *idSet) del(id uint16) {
	if s == nil {
		return
	}
	p := s.pages[id>>10]
	if p == nil {
		return
	}
	w, bit := &p[id>>6&15], uint64(1)<<(id&63)
	if *w&bit == 0 {
		return
	}
	*w &^= bit
	s.n--
	if *w == 0 && *p == ([16]uint64{}) {
		s.pages[id>>10] = nil
		s.spare = p
	}
}
