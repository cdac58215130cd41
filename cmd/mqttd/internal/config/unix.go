package config

import (
	"io/fs"
	"strconv"
	"strings"
)

// unixKeys checks path and mode (unix listeners only).
func (d *decoder) unixKeys(p string, l *Listener) {
	if l.Type != "unix" {
		if l.Mode != "" {
			d.invalid(p+".mode", "is set but %s.type is %q (unix listeners take it)", p, l.Type)
		}
		if l.Path != "" && l.Type != "websocket" {
			d.invalid(p+".path", "is set but %s.type is %q (websocket and unix listeners take it)", p, l.Type)
		}
		return
	}
	if l.Path == "" {
		d.invalidNear(p+".path", p+".type", "is required for a unix listener (the socket file, e.g. /run/tern/mqtt.sock)")
	}
	if l.Mode != "" {
		if _, err := l.FileMode(); err != nil {
			d.invalid(p+".mode", "%q is not a file mode (octal, 0 to 0777, e.g. \"0660\")", l.Mode)
		}
	}
}

// FileMode returns the permissions that mode sets, or 0 when it is empty.
func (l *Listener) FileMode() (fs.FileMode, error) {
	if l.Mode == "" {
		return 0, nil
	}
	m, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(l.Mode, "0o"), "0O"), 8, 32)
	if err != nil || m > 0o777 {
		return 0, strconv.ErrRange
	}
	return fs.FileMode(m), nil
}
