package config

import (
	"crypto/tls"
	"errors"
	"io/fs"
	"os"

	tlslistener "github.com/ternmq/broker/listeners/tls"
)

// TLS is a listener's tls: block.
//
//	tls:
//	  cert: /etc/tern/server.pem
//	  key: /etc/tern/server-key.pem
//	  client_ca: /etc/tern/clients-ca.pem   # to check client certificates
//	  client_auth: require                  # none | request | require
//	  min_version: "1.2"                    # "1.2" | "1.3"
//	  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]
//
// mqttd re-reads cert, key and client_ca on SIGHUP.
type TLS struct {
	Cert         string   `yaml:"cert"`
	Key          string   `yaml:"key"`
	ClientCA     string   `yaml:"client_ca"`
	ClientAuth   string   `yaml:"client_auth"`
	MinVersion   string   `yaml:"min_version"`
	CipherSuites []string `yaml:"cipher_suites"`
}

// Files converts the block for listeners/tls. The configuration must have
// been validated.
func (t *TLS) Files() tlslistener.Files {
	auth, _ := tlslistener.ParseClientAuth(t.ClientAuth)
	version, _ := tlslistener.ParseVersion(t.MinVersion)
	suites, _ := tlslistener.ParseCipherSuites(t.CipherSuites)
	return tlslistener.Files{Cert: t.Cert, Key: t.Key, ClientCA: t.ClientCA, ClientAuth: auth, MinVersion: version, CipherSuites: suites}
}

// Identity returns the certificate field that names the user, or 0 when
// use_identity_as_username is off. The configuration must have been
// validated.
func (l *Listener) Identity() tlslistener.IdentityField {
	if !l.UseIdentityAsUsername {
		return 0
	}
	f, _ := tlslistener.ParseIdentityField(l.IdentityField)
	return f
}

// tlsKeys checks the tls block and the identity keys of the listener at p:
// the files exist and hold a certificate and its key, and every setting is
// one listeners/tls knows.
func (d *decoder) tlsKeys(p string, l *Listener) {
	switch {
	case l.Type == "tls" && l.TLS == nil:
		d.invalidNear(p+".tls", p+".type", "is required for a tls listener (tls: {cert: FILE, key: FILE})")
	case l.TLS != nil && l.Type != "tls" && l.Type != "websocket":
		d.invalid(p+".tls", "is set but %s.type is %q (tls and websocket listeners take it)", p, l.Type)
	}
	d.identityKeys(p, l)
	t := l.TLS
	if t == nil {
		return
	}
	tp := p + ".tls"
	files := true
	for _, f := range []struct{ key, path string }{{"cert", t.Cert}, {"key", t.Key}, {"client_ca", t.ClientCA}} {
		if f.path == "" {
			if f.key != "client_ca" {
				d.invalidNear(tp+"."+f.key, tp, "is required (a PEM file)")
				files = false
			}
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			d.invalid(tp+"."+f.key, "%s: %v", f.path, err)
			files = false
		}
	}
	auth, err := tlslistener.ParseClientAuth(t.ClientAuth)
	if err != nil {
		d.invalid(tp+".client_auth", "%v", err)
		files = false
	} else if auth != tls.NoClientCert && t.ClientCA == "" {
		d.invalidNear(tp+".client_ca", tp+".client_auth", "is required when client_auth is %s: the CA that client certificates must chain to", t.ClientAuth)
		files = false
	}
	version, err := tlslistener.ParseVersion(t.MinVersion)
	if err != nil {
		d.invalid(tp+".min_version", "%v", err)
		files = false
	}
	if _, err := tlslistener.ParseCipherSuites(t.CipherSuites); err != nil {
		d.invalid(tp+".cipher_suites", "%v", err)
		files = false
	} else if len(t.CipherSuites) > 0 && version == tls.VersionTLS13 {
		d.invalid(tp+".cipher_suites", "apply to TLS 1.2 only, and min_version is 1.3")
	}
	if files {
		// The files exist: check they hold what they should.
		if _, err := t.Files().Load(); err != nil {
			d.invalid(tp, "%v", err)
		}
	}
}

// identityKeys checks use_identity_as_username and identity_field.
func (d *decoder) identityKeys(p string, l *Listener) {
	if l.IdentityField != "" {
		if _, err := tlslistener.ParseIdentityField(l.IdentityField); err != nil {
			d.invalid(p+".identity_field", "%v", err)
		}
		if !l.UseIdentityAsUsername {
			d.invalid(p+".identity_field", "is set but use_identity_as_username is not true")
		}
	}
	if !l.UseIdentityAsUsername {
		return
	}
	if l.IdentityField == "" {
		l.IdentityField = "cn"
	}
	if l.TLS == nil {
		d.invalid(p+".use_identity_as_username", "needs a tls block with client certificates (client_auth: require)")
		return
	}
	if auth, err := tlslistener.ParseClientAuth(l.TLS.ClientAuth); err == nil && auth != tls.RequireAndVerifyClientCert {
		d.invalid(p+".use_identity_as_username", "needs tls.client_auth: require (the user name comes from the client certificate)")
	}
}
