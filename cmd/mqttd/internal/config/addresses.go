package config

import (
	"fmt"
	"net"
)

// sharedAddresses reports listeners that would listen on one address (or
// socket file): the second could not start. A wildcard host (":1883",
// "0.0.0.0:1883", "[::]:1883") clashes with every host on its port; port 0
// picks a free port and clashes with nothing.
func (d *decoder) sharedAddresses(ls []Listener) {
	type where struct {
		host string
		i    int
	}
	ports := make(map[string][]where)
	paths := make(map[string]int)
	for i, l := range ls {
		p := fmt.Sprintf("listeners[%d]", i)
		if l.Type == "unix" {
			if l.Path == "" {
				continue
			}
			if j, dup := paths[l.Path]; dup {
				d.invalid(p+".path", "%q is also the socket of listeners[%d]", l.Path, j)
			}
			paths[l.Path] = i
			continue
		}
		host, port, err := net.SplitHostPort(l.Address)
		if err != nil || port == "0" {
			continue
		}
		for _, w := range ports[port] {
			if w.host == host || wildcard(w.host) || wildcard(host) {
				d.invalid(p+".address", "%q clashes with %q of listeners[%d]: two listeners cannot listen on one address", l.Address, ls[w.i].Address, w.i)
				break
			}
		}
		ports[port] = append(ports[port], where{host, i})
	}
}

func wildcard(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || (ip != nil && ip.IsUnspecified())
}
