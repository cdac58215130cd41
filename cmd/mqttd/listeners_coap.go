package main

import (
	"log/slog"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/coap"
)

// openCoAP opens a listener of type coap: CoAP over UDP bridged to the
// broker (package listeners/coap). Keys left out of the coap block keep
// the listener's defaults.
func openCoAP(c config.Listener, logger *slog.Logger) (listeners.Listener, error) {
	opts := []coap.Option{coap.WithLogger(logger)}
	if cc := c.CoAP; cc != nil {
		if cc.Username != "" || cc.Password != "" {
			var pw []byte
			if cc.Password != "" {
				pw = []byte(cc.Password)
			}
			opts = append(opts, coap.WithIdentity(cc.Username, pw))
		}
		if cc.QueryCredentials {
			opts = append(opts, coap.WithQueryCredentials())
		}
		ack, retransmit := cc.AckTimeout, cc.MaxRetransmit
		if ack == 0 {
			ack = coap.DefaultSettings().AckTimeout
		}
		if retransmit == 0 {
			retransmit = coap.DefaultSettings().MaxRetransmit
		}
		if cc.BlockSize != 0 {
			opts = append(opts, coap.WithBlockSize(cc.BlockSize))
		}
		opts = append(opts,
			coap.WithInactivityTimeout(cc.InactivityTimeout), // 0 keeps the default
			coap.WithTransmission(ack, retransmit),
			coap.WithMaxPayload(cc.MaxPayload),
			coap.WithMaxObservers(cc.MaxObservers),
		)
	}
	return coap.New(c.Name, c.Address, opts...)
}
