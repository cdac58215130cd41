package tls

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"net"
	"strings"
)

// IdentityField says which part of a client certificate names the user.
type IdentityField int

// The parts of a client certificate that can name the user.
const (
	// IdentityCN is the Subject's Common Name, as Mosquitto's
	// use_identity_as_username takes it.
	IdentityCN IdentityField = iota + 1
	// IdentitySAN is the first Subject Alternative Name, in the order the
	// certificate lists them: a DNS name, an e-mail address, a URI or an
	// IP address.
	IdentitySAN
)

// String returns "cn" or "san".
func (f IdentityField) String() string {
	switch f {
	case IdentityCN:
		return "cn"
	case IdentitySAN:
		return "san"
	}
	return fmt.Sprintf("IdentityField(%d)", int(f))
}

// ParseIdentityField reads "cn" or "san" (in any case).
func ParseIdentityField(s string) (IdentityField, error) {
	switch strings.ToLower(s) {
	case "cn":
		return IdentityCN, nil
	case "san":
		return IdentitySAN, nil
	}
	return 0, fmt.Errorf("unknown identity field %q (one of: cn, san)", s)
}

// Identity returns the field of the verified client certificate in st,
// or "" when the client presented no certificate that verified (an
// unverified certificate vouches for nothing).
func Identity(st tls.ConnectionState, field IdentityField) string {
	if len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return ""
	}
	leaf := st.VerifiedChains[0][0]
	switch field {
	case IdentityCN:
		return leaf.Subject.CommonName
	case IdentitySAN:
		return firstSAN(leaf)
	}
	return ""
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// GeneralName tags of RFC 5280 section 4.2.1.6.
const (
	sanEmail = 1
	sanDNS   = 2
	sanURI   = 6
	sanIP    = 7
)

// firstSAN returns the first DNS name, e-mail address, URI or IP address
// of cert's Subject Alternative Name extension (RFC 5280 section 4.2.1.6),
// in the certificate's own order: x509.Certificate sorts them by kind.
func firstSAN(cert *x509.Certificate) string {
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var seq asn1.RawValue
		if _, err := asn1.Unmarshal(ext.Value, &seq); err != nil || !seq.IsCompound || seq.Tag != asn1.TagSequence {
			return ""
		}
		for rest := seq.Bytes; len(rest) > 0; {
			var name asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &name); err != nil {
				return ""
			}
			if name.Class != asn1.ClassContextSpecific {
				continue
			}
			switch name.Tag {
			case sanEmail, sanDNS, sanURI:
				return string(name.Bytes)
			case sanIP:
				if len(name.Bytes) == net.IPv4len || len(name.Bytes) == net.IPv6len {
					return net.IP(name.Bytes).String()
				}
			}
		}
	}
	return ""
}
