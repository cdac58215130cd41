package sessions

import "unsafe"

// unsafeBytes returns the bytes of s without copying; the result must never
// be written to.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
