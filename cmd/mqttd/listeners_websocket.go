package main

import (
	"log/slog"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
	"github.com/ternmq/broker/listeners"
	tlslistener "github.com/ternmq/broker/listeners/tls"
	"github.com/ternmq/broker/listeners/websocket"
)

// openWebSocket opens a websocket listener, serving wss when it has a tls
// block (whose files are then re-read on SIGHUP). A WebSocket message may
// be as large as the largest packet.
func openWebSocket(c config.Listener, limits config.Limits, logger *slog.Logger) (listeners.Listener, error) {
	opts := []websocket.Option{
		websocket.WithLogger(logger),
		websocket.WithPath(c.Path),
		websocket.WithAllowedOrigins(c.AllowedOrigins...),
		websocket.WithReadLimit(limits.MaxPacketSize),
		websocket.WithHandshakeTimeout(limits.ConnectTimeout),
	}
	if c.TLS == nil {
		return websocket.New(c.Name, c.Address, opts...)
	}
	r, err := tlslistener.NewReloader(c.TLS.Files())
	if err != nil {
		return nil, err
	}
	opts = append(opts, websocket.WithTLS(r.Config()))
	if id := c.Identity(); id != 0 {
		opts = append(opts, websocket.WithIdentity(id))
	}
	l, err := websocket.New(c.Name, c.Address, opts...)
	if err != nil {
		return nil, err
	}
	return &wssListener{Listener: l, r: r}, nil
}

// wssListener is a WebSocket listener serving wss whose certificate files
// Reload re-reads.
type wssListener struct {
	*websocket.Listener
	r *tlslistener.Reloader
}

// Reload re-reads the certificate, key and client CA files.
func (l *wssListener) Reload() error { return l.r.Reload() }
