package packets

// byteFields returns pointers to every byte slice field of p except the
// user properties.
func (p *Properties) byteFields() [9]*[]byte {
	return [...]*[]byte{&p.ContentType, &p.ResponseTopic, &p.CorrelationData, &p.AssignedClientID,
		&p.AuthMethod, &p.AuthData, &p.ResponseInfo, &p.ServerReference, &p.ReasonString}
}

// byteLen returns the number of bytes the byte slices of p hold.
func (p *Properties) byteLen() int {
	n := 0
	for _, f := range p.byteFields() {
		n += len(*f)
	}
	for _, u := range p.User {
		n += len(u.Key) + len(u.Value)
	}
	return n
}

// arena hands out copies of byte slices from one allocation.
type arena []byte

// copy returns a copy of b carved from the arena; nil stays nil.
func (a *arena) copy(b []byte) []byte {
	if b == nil {
		return nil
	}
	n := len(b)
	c := (*a)[:n:n]
	copy(c, b)
	*a = (*a)[n:]
	return c
}

// cloneInto makes every slice of p its own, drawing bytes from a.
func (p *Properties) cloneInto(a *arena) {
	for _, f := range p.byteFields() {
		*f = a.copy(*f)
	}
	if p.SubscriptionIDs != nil {
		p.SubscriptionIDs = append([]uint32(nil), p.SubscriptionIDs...)
	}
	if p.User != nil {
		u := make([]UserProperty, len(p.User))
		for i, kv := range p.User {
			u[i] = UserProperty{Key: a.copy(kv.Key), Value: a.copy(kv.Value)}
		}
		p.User = u
	}
}

// Clone returns a deep copy of p that shares no memory with it, so that
// properties can be kept after the buffer they were decoded from is reused.
// All byte values share one allocation.
func (p *Properties) Clone() Properties {
	c := *p
	a := make(arena, p.byteLen())
	c.cloneInto(&a)
	return c
}

// Clone returns a deep copy of p that shares no memory with it: topic,
// payload and property bytes are copied into one allocation. Use it to keep
// a message (retained, queued for an offline session) past the lifetime of
// the buffer it was decoded from.
func (p *Publish) Clone() *Publish {
	c := *p
	a := make(arena, len(p.Topic)+len(p.Payload)+p.Properties.byteLen())
	c.Topic = a.copy(p.Topic)
	c.Payload = a.copy(p.Payload)
	c.Properties.cloneInto(&a)
	return &c
}
