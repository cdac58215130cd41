package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"strings"
)

// keySet holds verification keys by key id; keys without an id are
// candidates for any token without one.
type keySet struct {
	byID map[string][]any
	anon []any
}

func (ks *keySet) add(kid string, k any) {
	if ks.byID == nil {
		ks.byID = make(map[string][]any)
	}
	if kid == "" {
		ks.anon = append(ks.anon, k)
		return
	}
	ks.byID[kid] = append(ks.byID[kid], k)
}

func (ks *keySet) len() int {
	if ks == nil {
		return 0
	}
	n := len(ks.anon)
	for _, v := range ks.byID {
		n += len(v)
	}
	return n
}

// candidates returns the keys of ks that may verify a token of algorithm
// alg with key id kid (any key id when kid is "" — a token without kid
// may be verified by any key of the right kind).
func (ks *keySet) candidates(alg, kid string) []any {
	if ks == nil {
		return nil
	}
	var out []any
	pick := func(keys []any) {
		for _, k := range keys {
			if fits(alg, k) {
				out = append(out, k)
			}
		}
	}
	if kid != "" {
		pick(ks.byID[kid])
		return out
	}
	pick(ks.anon)
	for _, keys := range ks.byID {
		pick(keys)
	}
	return out
}

// fits reports whether key k can verify algorithm alg: a secret only an
// HMAC, an RSA key only RS*/PS*, an EC key only the ES* of its curve, an
// Ed25519 key only EdDSA. This is what makes alg confusion (an RS256
// public key used as an HS256 secret) impossible.
func fits(alg string, k any) bool {
	switch k := k.(type) {
	case []byte:
		return strings.HasPrefix(alg, "HS")
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// parseKeys reads a key file: a JWKS document (JSON with "keys"), or PEM
// blocks of public keys ("PUBLIC KEY", "RSA PUBLIC KEY") and certificates.
func parseKeys(name string, data []byte) (*keySet, error) {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "{") {
		return parseJWKS(name, data)
	}
	ks := &keySet{}
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		var k any
		var err error
		switch b.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				k = c.PublicKey
			}
		default:
			return nil, fmt.Errorf("%s: PEM block %q: want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE (never a private key)", name, b.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, b.Type, err)
		}
		if !usable(k) {
			return nil, fmt.Errorf("%s: %T keys are not supported (RSA, ECDSA, Ed25519)", name, k)
		}
		ks.add("", k)
	}
	if ks.len() == 0 {
		return nil, fmt.Errorf("%s: no PEM public key or certificate, and not a JWKS document", name)
	}
	return ks, nil
}

func usable(k any) bool {
	switch k.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return true
	}
	return false
}

// jwk is one key of a JWKS (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	// RSA
	N string `json:"n"`
	E string `json:"e"`
	// EC and OKP
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	// oct
	K string `json:"k"`
}

// parseJWKS reads a JWK Set. Keys for encryption ("use": "enc") and key
// types it cannot use are skipped; a set left empty is an error.
func parseJWKS(name string, data []byte) (*keySet, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: JWKS: %w", name, err)
	}
	ks := &keySet{}
	var skipped []string
	for i, j := range doc.Keys {
		if j.Use != "" && j.Use != "sig" {
			continue
		}
		k, err := j.key()
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("keys[%d] (kid %q): %v", i, j.Kid, err))
			continue
		}
		ks.add(j.Kid, k)
	}
	if ks.len() == 0 {
		return nil, fmt.Errorf("%s: JWKS has no usable signing key %v", name, skipped)
	}
	return ks, nil
}

var b64 = base64.RawURLEncoding

func (j jwk) key() (any, error) {
	dec := func(field, s string) ([]byte, error) {
		b, err := b64.DecodeString(strings.TrimRight(s, "="))
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("%s is not base64url", field)
		}
		return b, nil
	}
	switch j.Kty {
	case "RSA":
		n, err := dec("n", j.N)
		if err != nil {
			return nil, err
		}
		e, err := dec("e", j.E)
		if err != nil {
			return nil, err
		}
		ei := new(big.Int).SetBytes(e)
		if !ei.IsInt64() || ei.Int64() < 3 || ei.Int64() > 1<<31 {
			return nil, errors.New("unusable RSA exponent")
		}
		k := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ei.Int64())}
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits (at least 2048)", k.N.BitLen())
		}
		return k, nil
	case "EC":
		curves := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}
		c, ok := curves[j.Crv]
		if !ok {
			return nil, fmt.Errorf("curve %q (P-256, P-384 or P-521)", j.Crv)
		}
		x, err := dec("x", j.X)
		if err != nil {
			return nil, err
		}
		y, err := dec("y", j.Y)
		if err != nil {
			return nil, err
		}
		size := (c.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return nil, errors.New("x and y do not fit the curve")
		}
		return ecdsa.ParseUncompressedPublicKey(c, append(append([]byte{4}, x...), y...))
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, fmt.Errorf("OKP curve %q (Ed25519)", j.Crv)
		}
		x, err := dec("x", j.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("an Ed25519 key is 32 bytes")
		}
		return ed25519.PublicKey(x), nil
	case "oct":
		k, err := dec("k", j.K)
		if err != nil {
			return nil, err
		}
		return k, nil
	}
	return nil, fmt.Errorf("key type %q (RSA, EC, OKP or oct)", j.Kty)
}

// maxKeyDocument bounds what is read from a key file or URL.
const maxKeyDocument = 1 << 20

// fetchKeys reads a JWKS from url.
func fetchKeys(ctx context.Context, client *http.Client, url string) (*keySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyDocument+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyDocument {
		return nil, fmt.Errorf("%s: larger than %d bytes", url, maxKeyDocument)
	}
	return parseJWKS(url, data)
}

// readKeyFile reads a key file of at most maxKeyDocument bytes.
func readKeyFile(path string) (*keySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyDocument+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyDocument {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxKeyDocument)
	}
	return parseKeys(path, data)
}
