package config

import (
	"fmt"
	"math"
	"time"
)

// HTTP configures a listener of type http, the HTTP-to-MQTT bridge
// (listeners/http), in the listener's http block:
//
//	listeners:
//	  - type: http
//	    address: "127.0.0.1:8080"
//	    http: {max_streams: 256, resume_window: 1m}
//
// A key left out, or 0, takes the bridge's default (httpbridge.DefaultLimits),
// except max_body_size, which defaults to limits.max_packet_size: a body
// is what a PUBLISH's payload would be. The fields mirror httpbridge.Limits
// (see there for their meaning); cmd/mqttd copies them across.
type HTTP struct {
	MaxBodySize          int64         `yaml:"max_body_size"`          // bytes; 413 beyond
	MaxStreams           int           `yaml:"max_streams"`            // SSE and long-poll streams held at once; 503 beyond
	MaxStreamsPerUser    int           `yaml:"max_streams_per_user"`   // 0: no bound; 429 beyond
	StreamBufferMessages int           `yaml:"stream_buffer_messages"` // per stream
	StreamBufferBytes    int           `yaml:"stream_buffer_bytes"`    // per stream
	ResumeWindow         time.Duration `yaml:"resume_window"`          // how long a stream waits for its client to come back
	RequestTimeout       time.Duration `yaml:"request_timeout"`
	ReadHeaderTimeout    time.Duration `yaml:"read_header_timeout"`
	IdleTimeout          time.Duration `yaml:"idle_timeout"`
	WriteTimeout         time.Duration `yaml:"write_timeout"`
	KeepAlive            time.Duration `yaml:"keep_alive"` // SSE comment interval on a quiet stream
	MaxWait              time.Duration `yaml:"max_wait"`   // cap on a long poll's wait
}

// httpListeners checks the http block of every listener and fills in
// max_body_size; a block on a listener of another type is an error.
func (d *decoder) httpListeners(c *Config) {
	for i := range c.Listeners {
		l := &c.Listeners[i]
		p := fmt.Sprintf("listeners[%d].http", i)
		if l.Type != "http" {
			if l.HTTP != nil {
				d.invalid(p, "is set but the listener's type is %q", l.Type)
			}
			continue
		}
		if l.HTTP == nil {
			l.HTTP = &HTTP{}
		}
		h := l.HTTP
		if h.MaxBodySize == 0 {
			h.MaxBodySize = int64(c.Limits.MaxPacketSize)
		}
		ints := []struct {
			key string
			v   int64
		}{
			{"max_body_size", h.MaxBodySize},
			{"max_streams", int64(h.MaxStreams)},
			{"max_streams_per_user", int64(h.MaxStreamsPerUser)},
			{"stream_buffer_messages", int64(h.StreamBufferMessages)},
			{"stream_buffer_bytes", int64(h.StreamBufferBytes)},
		}
		for _, n := range ints {
			if n.v < 0 || n.v > math.MaxInt32 {
				d.invalid(p+"."+n.key, "%d is out of range (0 to %d; 0: the default)", n.v, math.MaxInt32)
			}
		}
		durs := []struct {
			key string
			v   time.Duration
		}{
			{"resume_window", h.ResumeWindow},
			{"request_timeout", h.RequestTimeout},
			{"read_header_timeout", h.ReadHeaderTimeout},
			{"idle_timeout", h.IdleTimeout},
			{"write_timeout", h.WriteTimeout},
			{"keep_alive", h.KeepAlive},
			{"max_wait", h.MaxWait},
		}
		for _, n := range durs {
			if n.v < 0 {
				d.invalid(p+"."+n.key, "must not be negative (0: the default)")
			}
		}
	}
}
