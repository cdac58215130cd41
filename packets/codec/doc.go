// Package codec holds the MQTT data representations of section 1.5 of the
// specification: two and four byte integers, variable byte integers, UTF-8
// encoded strings, binary data and string pairs.
//
// Read functions take the remaining input and return the value and what
// follows it; the returned byte slices alias the input. Append functions
// append to a caller buffer in the style of strconv.AppendInt. Nothing here
// allocates. Failures are the sentinel errors of this package, which the
// packets package turns into reason codes.
package codec
