package packets

// Hooks for the external tests.

// ReaderState reports whether r holds a pooled buffer and the length of the
// buffer it reads into.
func ReaderState(r *Reader) (pooled bool, bufLen int) { return r.pooled != nil, len(r.buf) }

// SmallSize is the inline buffer size of a Reader.
const SmallSize = smallSize
