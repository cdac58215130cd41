// Package tcp is the MQTT-over-TCP listener: plain TCP, Nagle's algorithm
// off, accept errors (EMFILE and the like) retried with a backoff rather
// than ending the listener.
package tcp
