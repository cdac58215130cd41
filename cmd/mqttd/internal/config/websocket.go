package config

import (
	"fmt"
	"net/url"
	"strings"
)

// websocketKeys checks path and allowed_origins (websocket listeners only)
// and sets the default path.
func (d *decoder) websocketKeys(p string, l *Listener) {
	if l.Type != "websocket" {
		if l.AllowedOrigins != nil {
			d.invalid(p+".allowed_origins", "is set but %s.type is %q (websocket listeners take it)", p, l.Type)
		}
		return
	}
	if l.Path == "" {
		l.Path = "/mqtt"
	}
	if !strings.HasPrefix(l.Path, "/") {
		d.invalid(p+".path", "%q is not a URL path (it starts with /, e.g. /mqtt)", l.Path)
	}
	for i, o := range l.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			d.invalidNear(fmt.Sprintf("%s.allowed_origins[%d]", p, i), p+".allowed_origins", "%q is not an origin (scheme://host[:port], e.g. https://app.example.com, or *)", o)
		}
	}
}
