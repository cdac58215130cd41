package tls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
)

// Files are the PEM files a TLS listener serves with, and the settings
// that go with them (mqttd's tls: block).
type Files struct {
	Cert string // the server certificate, followed by its intermediates
	Key  string // the certificate's private key
	// ClientCA holds the CAs that client certificates must chain to; it is
	// required unless ClientAuth is tls.NoClientCert.
	ClientCA string
	// ClientAuth is tls.NoClientCert (the zero value),
	// tls.VerifyClientCertIfGiven or tls.RequireAndVerifyClientCert; see
	// ParseClientAuth.
	ClientAuth tls.ClientAuthType
	// MinVersion is tls.VersionTLS12 (when zero) or tls.VersionTLS13.
	MinVersion uint16
	// CipherSuites restricts the TLS 1.2 cipher suites (nil: Go's
	// defaults). TLS 1.3 suites are not configurable.
	CipherSuites []uint16
}

// Load reads the files and returns the server configuration they make.
func (f Files) Load() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("tls: certificate %s, key %s: %w", f.Cert, f.Key, err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   f.ClientAuth,
		MinVersion:   f.MinVersion,
		CipherSuites: f.CipherSuites,
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	switch {
	case f.ClientCA != "":
		pem, err := os.ReadFile(f.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls: client CA: %w", err)
		}
		cfg.ClientCAs = x509.NewCertPool()
		if !cfg.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: client CA %s: no PEM certificate in it", f.ClientCA)
		}
	case f.ClientAuth != tls.NoClientCert:
		// Without it, Go would verify client certificates against the
		// system's roots: any publicly issued certificate would pass.
		return nil, errors.New("tls: client certificates are checked, so a client CA file is required")
	}
	return cfg, nil
}

// Reloader serves the configuration that Files make, and re-reads them on
// Reload. A WebSocket listener serving wss can share one with a TLS
// listener, or have its own.
type Reloader struct {
	files Files
	cur   atomic.Pointer[tls.Config]
}

// NewReloader reads f's files once.
func NewReloader(f Files) (*Reloader, error) {
	r := &Reloader{files: f}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload re-reads the files. Handshakes that start afterwards use them;
// on error the previous ones stay in use.
func (r *Reloader) Reload() error {
	cfg, err := r.files.Load()
	if err != nil {
		return err
	}
	r.cur.Store(cfg)
	return nil
}

// Config returns a server configuration that uses, for each handshake, the
// files as last loaded (through GetConfigForClient).
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{
		MinVersion: r.files.MinVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return r.cur.Load(), nil
		},
	}
}

// ParseClientAuth reads a client_auth setting: "none" (or ""): no client
// certificate is asked for; "request": one is asked for and verified
// against the client CA when given; "require": one must be given and
// verify.
func ParseClientAuth(s string) (tls.ClientAuthType, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return tls.NoClientCert, nil
	case "request":
		return tls.VerifyClientCertIfGiven, nil
	case "require":
		return tls.RequireAndVerifyClientCert, nil
	}
	return 0, fmt.Errorf("unknown client_auth %q (one of: none, request, require)", s)
}

// ParseVersion reads a min_version setting: "1.2" (or "") or "1.3".
func ParseVersion(s string) (uint16, error) {
	switch s {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unknown TLS version %q (one of: 1.2, 1.3)", s)
}

// ParseCipherSuites reads TLS 1.2 cipher suite names as crypto/tls names
// them (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ...). Only suites Go
// considers secure are accepted.
func ParseCipherSuites(names []string) ([]uint16, error) {
	if len(names) == 0 {
		return nil, nil
	}
	known := make(map[string]uint16)
	for _, cs := range tls.CipherSuites() {
		if slices.Contains(cs.SupportedVersions, tls.VersionTLS12) {
			known[cs.Name] = cs.ID
		}
	}
	ids := make([]uint16, 0, len(names))
	for _, n := range names {
		id, ok := known[strings.ToUpper(n)]
		if !ok {
			return nil, fmt.Errorf("unknown or insecure TLS 1.2 cipher suite %q (e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256; TLS 1.3 suites are not configurable)", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
