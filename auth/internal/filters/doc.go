// Package filters answers the set questions about MQTT topic filters that
// access rules need: does a filter match a topic, does one filter cover
// every topic of another, can two filters match a common topic. Filters
// are compared as written: a "$share/group/" prefix is the caller's to
// strip.
//
// Matching follows the MQTT rules: '+' is one level, '#' (last) any number
// of levels including none, so "a/#" matches "a" [MQTT-4.7.1-2]; a filter
// starting with a wildcard matches no topic starting with '$'
// [MQTT-4.7.2-1].
package filters
