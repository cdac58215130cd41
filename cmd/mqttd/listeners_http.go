package main

import (
	"log/slog"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
	"github.com/ternmq/broker/listeners"
	httpbridge "github.com/ternmq/broker/listeners/http"
)

// openHTTP opens a listener of type http: the HTTP-to-MQTT bridge. The
// configuration has been validated (the http block is set, and zero
// fields take the bridge's defaults).
func openHTTP(c config.Listener, logger *slog.Logger) (listeners.Listener, error) {
	h := c.HTTP
	if h == nil {
		h = &config.HTTP{}
	}
	return httpbridge.New(c.Name, c.Address,
		httpbridge.WithLogger(logger.With("listener", c.Name)),
		httpbridge.WithLimits(httpbridge.Limits{
			MaxBodySize:          h.MaxBodySize,
			MaxStreams:           h.MaxStreams,
			MaxStreamsPerUser:    h.MaxStreamsPerUser,
			StreamBufferMessages: h.StreamBufferMessages,
			StreamBufferBytes:    h.StreamBufferBytes,
			ResumeWindow:         h.ResumeWindow,
			RequestTimeout:       h.RequestTimeout,
			ReadHeaderTimeout:    h.ReadHeaderTimeout,
			IdleTimeout:          h.IdleTimeout,
			WriteTimeout:         h.WriteTimeout,
			KeepAlive:            h.KeepAlive,
			MaxWait:              h.MaxWait,
		}))
}
