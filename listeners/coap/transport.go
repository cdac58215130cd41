package coap

import (
	"fmt"
	"net"

	piondtls "github.com/pion/dtls/v3"
	dtlsserver "github.com/plgd-dev/go-coap/v3/dtls/server"
	coapnet "github.com/plgd-dev/go-coap/v3/net"
	udpserver "github.com/plgd-dev/go-coap/v3/udp/server"
)

// serverOption is a go-coap option that configures both its UDP and its
// DTLS server.
type serverOption interface {
	udpserver.Option
	dtlsserver.Option
}

// transport is the go-coap server a Listener runs: plain UDP or DTLS.
type transport struct {
	addr  net.Addr
	serve func() error // serves until stop
	stop  func()       // go-coap's Stop: closes the socket and the peers
	close func() error // closes the socket (for a listener never served)
}

// listenUDP binds a UDP socket for CoAP (RFC 7252).
func listenUDP(address string, opts []serverOption) (transport, error) {
	conn, err := coapnet.NewListenUDP("udp", address)
	if err != nil {
		return transport{}, err
	}
	uopts := make([]udpserver.Option, len(opts))
	for i, o := range opts {
		uopts[i] = o
	}
	srv := udpserver.New(uopts...)
	return transport{
		addr:  conn.LocalAddr(),
		serve: func() error { return srv.Serve(conn) },
		stop:  srv.Stop,
		close: conn.Close,
	}, nil
}

// listenDTLS binds a UDP socket for CoAP over DTLS (coaps, RFC 7252 §9),
// with pion/dtls configured by dopts.
func listenDTLS(address string, dopts []piondtls.ServerOption, opts []serverOption) (transport, error) {
	ln, err := coapnet.NewDTLSListener("udp", address, coapnet.NewDTLSServerOptions(dopts...))
	if err != nil {
		return transport{}, fmt.Errorf("coap: dtls: %w", err)
	}
	dsopts := make([]dtlsserver.Option, len(opts))
	for i, o := range opts {
		dsopts[i] = o
	}
	srv := dtlsserver.New(dsopts...)
	return transport{
		addr:  ln.Addr(),
		serve: func() error { return srv.Serve(ln) },
		stop:  srv.Stop,
		close: ln.Close,
	}, nil
}

// pskIdentity returns the PSK identity a DTLS peer authenticated with, or
// "" (plain UDP, certificates).
func pskIdentity(nc net.Conn) string {
	dc, ok := nc.(*piondtls.Conn)
	if !ok {
		return ""
	}
	st, ok := dc.ConnectionState()
	if !ok {
		return ""
	}
	return string(st.IdentityHint)
}
