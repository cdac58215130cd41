package sessions

// Delivery is one message on its way to one session: the shared message and
// what this subscriber gets of it.
type Delivery struct {
	Msg    *Message
	SubIDs []uint32 // MQTT 5 subscription identifiers of the matching subscriptions
	Seq    uint64   // storage sequence number, 0 when not persisted
	Shared any      // the shared subscription group it came through, nil if none
	// The small fields last, together: a delivery is 64 bytes, one cache
	// line (TestDeliveryIsACacheLine).
	ID      uint16 // packet identifier once sent (QoS > 0)
	QoS     byte   // granted: min(published, subscribed)
	Retain  bool   // retain flag to send
	Dup     bool   // resend after reconnect [MQTT-4.4.0-1]
	Release bool   // QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP
}

// Queue is a bounded FIFO of deliveries waiting to be sent. Overflow policy:
// Push refuses a delivery when the queue holds Max entries; the caller drops
// it and counts the drop (the newest message is dropped, older ones keep
// their place, so per-topic order holds for what is delivered).
type Queue struct {
	Max   int // 0: unbounded
	items []Delivery
	head  int
	bytes int // Size of the queued messages
}

// Len returns the number of queued deliveries.
func (q *Queue) Len() int { return len(q.items) - q.head }

// Bytes returns the memory the queued messages hold (Message.Size each; a
// message shared by several queues counts in each).
func (q *Queue) Bytes() int { return q.bytes }

func size(d *Delivery) int {
	if d.Msg == nil {
		return 0
	}
	return d.Msg.Size()
}

// Push appends d; it returns false (and does nothing) when the queue is full.
func (q *Queue) Push(d Delivery) bool {
	if q.Max > 0 && q.Len() >= q.Max {
		return false
	}
	q.bytes += size(&d)
	if q.head > 0 && q.head >= len(q.items)/2 && len(q.items) == cap(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.head = 0
	}
	q.items = append(q.items, d)
	return true
}

// PushFront puts d at the head of the queue, ignoring Max (used to requeue
// in-flight messages ahead of newer ones).
func (q *Queue) PushFront(d Delivery) {
	q.bytes += size(&d)
	if q.head > 0 {
		q.head--
		q.items[q.head] = d
		return
	}
	q.items = append(q.items, Delivery{})
	copy(q.items[1:], q.items)
	q.items[0] = d
}

// PushFrontAll puts ds, in order, at the head of the queue, ignoring Max:
// one move of the queued deliveries for the whole block.
func (q *Queue) PushFrontAll(ds []Delivery) {
	if len(ds) == 0 {
		return
	}
	for i := range ds {
		q.bytes += size(&ds[i])
	}
	if q.head >= len(ds) {
		q.head -= len(ds)
		copy(q.items[q.head:], ds)
		return
	}
	items := make([]Delivery, 0, len(ds)+len(q.items)-q.head)
	items = append(append(items, ds...), q.items[q.head:]...)
	q.items, q.head = items, 0
}

// Peek returns the head delivery; ok is false when the queue is empty.
func (q *Queue) Peek() (d *Delivery, ok bool) {
	if q.Len() == 0 {
		return nil, false
	}
	return &q.items[q.head], true
}

// Pop removes and returns the head delivery.
func (q *Queue) Pop() (Delivery, bool) {
	if q.Len() == 0 {
		return Delivery{}, false
	}
	d := q.items[q.head]
	q.bytes -= size(&d)
	q.items[q.head] = Delivery{}
	q.head++
	if q.head == len(q.items) {
		q.items = q.items[:0]
		q.head = 0
	}
	return d, true
}

// Clear empties the queue and releases its memory.
func (q *Queue) Clear() {
	q.items = nil
	q.head = 0
	q.bytes = 0
}

// Trim gives back the array of an empty queue: an idle session holds
// little.
func (q *Queue) Trim() {
	if q.Len() == 0 {
		q.items, q.head = nil, 0
	}
}

// Range calls fn for every queued delivery in order until fn returns false.
func (q *Queue) Range(fn func(*Delivery) bool) {
	for i := q.head; i < len(q.items); i++ {
		if !fn(&q.items[i]) {
			return
		}
	}
}

// Extract removes the deliveries for which take returns true, keeping the
// order of the others, and returns them in order.
func (q *Queue) Extract(take func(*Delivery) bool) []Delivery {
	var out []Delivery
	kept := q.items[:q.head]
	for i := q.head; i < len(q.items); i++ {
		if take(&q.items[i]) {
			q.bytes -= size(&q.items[i])
			out = append(out, q.items[i])
		} else {
			kept = append(kept, q.items[i])
		}
	}
	clear(q.items[len(kept):])
	q.items = kept
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return out
}
