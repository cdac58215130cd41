package broker

import "unsafe"

// unsafeBytes returns the bytes of s without copying; never write to them.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
