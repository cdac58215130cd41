// Package tcp is the MQTT-over-TCP listener: plain TCP, Nagle's algorithm
// off, no TCP keep-alive probes (MQTT's Keep Alive finds a silent client,
// as in Mosquitto and EMQX; Wrap a listener of your own to have them),
// accept errors (EMFILE and the like) retried with a backoff rather than
// ending the listener.
package tcp
