package config

import (
	"time"
)

// CoAP configures a listener of type coap (package listeners/coap), in
// a block named like its type:
//
//	listeners:
//	  - type: coap
//	    address: "0.0.0.0:5683"
//	    coap: {username: sensors, password: ${COAP_PASSWORD}}
//
// A key left out (or 0) takes the listener's default, from
// listeners/coap's DefaultSettings.
type CoAP struct {
	// Username and Password are the identity every request authenticates
	// with (CoAP has no user name). Without them requests are anonymous.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// QueryCredentials lets a request carry its own: ?u=&p= or ?t=TOKEN.
	// Without DTLS they cross the network in clear text.
	QueryCredentials bool `yaml:"query_credentials"`
	// InactivityTimeout: a silent peer is forgotten after this long if it
	// observes nothing, pinged if it does (default 60s).
	InactivityTimeout time.Duration `yaml:"inactivity_timeout"`
	// AckTimeout and MaxRetransmit are RFC 7252's ACK_TIMEOUT (default 2s)
	// and MAX_RETRANSMIT (default 4) for confirmable notifications and pings.
	AckTimeout    time.Duration `yaml:"ack_timeout"`
	MaxRetransmit int           `yaml:"max_retransmit"`
	// MaxPayload bounds a request's payload in bytes (default 65536).
	MaxPayload int `yaml:"max_payload"`
	// BlockSize is the largest block of a block-wise transfer: 16, 32, ...
	// 1024 (the default).
	BlockSize int `yaml:"block_size"`
	// MaxObservers bounds the observations of one peer (default 16).
	MaxObservers int `yaml:"max_observers"`
}

// maxCoAPPayload caps max_payload: a reassembled CoAP payload becomes one
// MQTT message, which cannot be larger than this.
const maxCoAPPayload = 268435455

// coapListener checks the coap block of the listener at path p.
func (d *decoder) coapListener(p string, l *Listener) {
	c := l.CoAP
	if c != nil && l.Type != "coap" {
		d.invalid(p+".coap", "is set but type is %q", l.Type)
		return
	}
	if c == nil {
		return
	}
	p += ".coap"
	if c.InactivityTimeout < 0 {
		d.invalid(p+".inactivity_timeout", "must be positive, e.g. 60s")
	}
	if c.AckTimeout < 0 {
		d.invalid(p+".ack_timeout", "must be positive, e.g. 2s")
	}
	if c.MaxRetransmit < 0 || c.MaxRetransmit > 20 {
		d.invalid(p+".max_retransmit", "%d is not from 1 to 20", c.MaxRetransmit)
	}
	if c.MaxPayload < 0 || c.MaxPayload > maxCoAPPayload {
		d.invalid(p+".max_payload", "%d is not from 1 to %d", c.MaxPayload, maxCoAPPayload)
	}
	if b := c.BlockSize; b != 0 && (b < 16 || b > 1024 || b&(b-1) != 0) {
		d.invalid(p+".block_size", "%d is not a power of two from 16 to 1024", b)
	}
	if c.MaxObservers < 0 {
		d.invalid(p+".max_observers", "must be at least 1")
	}
}
