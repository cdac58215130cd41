package config

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// The architecture document (seed-architecture.md) spells mqttd's
// configuration differently:
//
//	server:
//	  adapters: [{type: tcp, address: ":1883"}, ...]   # listeners
//	  limits: {max_connections: 100000, idle_timeout: 300s, ...}
//	store: {type: memory, etcd: {...}}                 # storage
//
// Both spellings are one schema: respell moves the document's keys to
// the names of Config before decoding, and errors name the keys as the
// file wrote them ("server.adapters[1].address", "store.etcd").

// serverKeys maps the keys of the architecture document's server block
// to top-level keys of Config.
var serverKeys = map[string]string{
	"adapters":         "listeners",
	"limits":           "limits",
	"shutdown_timeout": "shutdown_timeout",
}

// respell rewrites the top-level mapping top from the architecture
// document's spelling to Config's, recording in d.spelled how each moved
// key was written. A key given in both spellings is an error.
func (d *decoder) respell(top *yaml.Node) {
	if top.Kind != yaml.MappingNode {
		return // decode reports it
	}
	written := make(map[string]int) // top-level keys as written, with their line
	for i := 0; i+1 < len(top.Content); i += 2 {
		written[top.Content[i].Value] = top.Content[i].Line
	}
	out := make([]*yaml.Node, 0, len(top.Content))
	move := func(k, v *yaml.Node, canon, as string) {
		if line, both := written[canon]; both {
			d.errorf(k.Line, "%s: %s is set too (line %d): write one of them", as, canon, line)
			return
		}
		if prev, dup := d.spelled[canon]; dup {
			d.errorf(k.Line, "%s: %s is set too: write one of them", as, prev)
			return
		}
		d.spelled[canon] = as
		nk := *k
		nk.Value = canon
		out = append(out, &nk, v)
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		switch k.Value {
		case "store":
			move(k, v, "storage", "store")
		case "server":
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			if v.Kind != yaml.MappingNode {
				d.errorf(v.Line, "server: expected a mapping (key: value), found %s", describe(v))
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				sk, sv := v.Content[j], v.Content[j+1]
				canon, ok := serverKeys[sk.Value]
				if !ok {
					d.errorf(sk.Line, "unknown key %q in server (known: adapters, limits, shutdown_timeout)", sk.Value)
					continue
				}
				move(sk, sv, canon, "server."+sk.Value)
			}
		default:
			out = append(out, k, v)
		}
	}
	top.Content = out
}

// written returns path as the file wrote it: "listeners[0].type" is
// "server.adapters[0].type" in a file of the architecture document's
// spelling.
func (d *decoder) written(path string) string {
	top, rest := path, ""
	if i := strings.IndexAny(path, ".["); i >= 0 {
		top, rest = path[:i], path[i:]
	}
	if w, ok := d.spelled[top]; ok {
		return w + rest
	}
	return path
}
