package broker

import "github.com/ternmq/broker/listeners"

// transportIdentity copies what the transport knows of the peer into
// c.info: the TLS state (listeners.TLSConn) and an identity the transport
// verified, which replaces the CONNECT's user name (listeners.IdentityConn).
func (c *conn) transportIdentity() {
	if tc, ok := c.nc.(listeners.TLSConn); ok {
		st := tc.ConnectionState()
		c.info.TLS = &st
	}
	if ic, ok := c.nc.(listeners.IdentityConn); ok {
		if id := ic.Identity(); id != "" {
			c.info.Username = id
		}
	}
}
