package sessions

import "unsafe"

// unsafeBytes returns the bytes of s without copying; the result must never
// be written to.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// unsafeString returns b as a string without copying; b must never be
// written to afterwards.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
