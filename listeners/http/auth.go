package httpbridge

import (
	"crypto/sha256"
	"net/http"
	"strings"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// credentials reads the Authorization header into what an MQTT CONNECT
// would carry: HTTP Basic (RFC 7617) gives the user name and password; a
// Bearer token (RFC 6750) arrives as the password with an empty user name,
// so a token authenticator written for MQTT clients works unchanged. No
// header is an anonymous client (no user name, no password).
func credentials(r *http.Request) (*broker.Credentials, error) {
	c := &broker.Credentials{}
	h := r.Header.Get("Authorization")
	if h == "" {
		return c, nil
	}
	scheme, param, _ := strings.Cut(h, " ")
	param = strings.TrimSpace(param)
	switch {
	case strings.EqualFold(scheme, "Basic"):
		u, p, ok := r.BasicAuth()
		if !ok {
			return nil, packets.BadUserNameOrPassword
		}
		c.Username, c.Password = u, []byte(p)
	case strings.EqualFold(scheme, "Bearer"):
		if param == "" {
			return nil, packets.BadUserNameOrPassword
		}
		c.Password = []byte(param)
	default:
		return nil, packets.BadAuthenticationMethod
	}
	return c, nil
}

// owner is who may resume a stream: the user name the Authenticator left
// and a digest of the secret presented, so that a stream opened with one
// token is not resumed with another even when both carry no user name.
func owner(info broker.ClientInfo, secret []byte) string {
	sum := sha256.Sum256(secret)
	return info.Username + "\x00" + string(sum[:])
}
