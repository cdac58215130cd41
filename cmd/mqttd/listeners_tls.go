package main

import (
	"log/slog"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
	tlslistener "github.com/ternmq/broker/listeners/tls"
)

// openTLS opens a tls listener: its files are re-read on SIGHUP, handshakes
// are bounded by the connect timeout.
func openTLS(c config.Listener, limits config.Limits, logger *slog.Logger) (*tlslistener.Listener, error) {
	opts := []tlslistener.Option{
		tlslistener.WithLogger(logger),
		tlslistener.WithHandshakeTimeout(limits.ConnectTimeout),
	}
	if id := c.Identity(); id != 0 {
		opts = append(opts, tlslistener.WithIdentity(id))
	}
	return tlslistener.NewFromFiles(c.Name, c.Address, c.TLS.Files(), opts...)
}
