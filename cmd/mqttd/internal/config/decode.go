package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a configuration file.
type Error struct {
	File string // file name, or DefaultSource
	Line int    // 1-based; 0 when the problem has no single place
	Msg  string // names the key
}

// Error formats e as "FILE: line N: MSG".
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// decoder turns a yaml.Node tree into a Config. It is as strict as
// yaml.v3's Decoder.KnownFields(true), but its errors name the YAML key
// ("unknown key \"foo\" in limits") where yaml.v3 names Go types ("field foo
// not found in type config.Limits"), it reports every problem rather than
// the first, and it resolves ${NAME} references in scalar values.
//
// It handles the kinds the Config types use: structs (mappings, keys from
// yaml tags), slices (lists, replaced whole), pointers to structs, strings,
// bools, integers and time.Duration.
type decoder struct {
	file   string
	lookup func(string) (string, bool)
	lines  map[string]int // line of every key path set by this document
	errs   []error

	// spelled maps a top-level key to the path it was written as when the
	// document used the architecture document's spelling ("listeners" ->
	// "server.adapters"); see spelling.go.
	spelled  map[string]string
	warnings []string
}

func newDecoder(file string, lookup func(string) (string, bool)) *decoder {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	return &decoder{file: file, lookup: lookup, lines: make(map[string]int), spelled: make(map[string]string)}
}

func (d *decoder) errorf(line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) err() error { return errors.Join(d.errs...) }

// decodeDocument decodes the single YAML document in data onto c. Empty data
// (or only comments) leaves c as it is.
func (d *decoder) decodeDocument(data []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return &Error{File: d.file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		d.errorf(extra.Line, "a second YAML document: mqttd reads one")
	case !errors.Is(err, io.EOF):
		d.errorf(0, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 1 {
		d.respell(doc.Content[0])
		d.decode(doc.Content[0], reflect.ValueOf(c).Elem(), "")
	}
	return d.err()
}

var durationType = reflect.TypeFor[time.Duration]()

// decode sets v from n; path is the key path of n ("limits.max_inflight",
// "listeners[0].address", "" at top level). A null value ("key:" or "key: ~")
// leaves v as it is.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	switch {
	case v.Type() == durationType:
		s, ok := d.scalar(n, path)
		if !ok {
			return
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.errorf(n.Line, "%s: invalid duration %q (a number with a unit, e.g. 10s or 1m30s)", path, s)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case v.Kind() == reflect.Slice:
		d.sequence(n, v, path)
	case v.Kind() == reflect.String:
		if s, ok := d.scalar(n, path); ok {
			v.SetString(s)
		}
	case v.Kind() == reflect.Bool:
		s, ok := d.scalar(n, path)
		if !ok {
			return
		}
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.errorf(n.Line, "%s: %q is not true or false", path, s)
		}
	case v.CanInt(), v.CanUint():
		if s, ok := d.scalar(n, path); ok {
			d.integer(n.Line, s, v, path)
		}
	default:
		panic(fmt.Sprintf("config: %s: no decoding for %s", path, v.Type()))
	}
}

// mapping decodes a YAML mapping onto the struct v, one yaml-tagged field
// per key.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, "%s: expected a mapping (key: value), found %s", orTop(path), describe(n))
		return
	}
	fields, names := fieldsOf(v.Type())
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		idx, known := fields[k.Value]
		if k.Kind != yaml.ScalarNode || !known {
			where := "at top level"
			if path != "" {
				where = "in " + path
			}
			d.errorf(k.Line, "unknown key %q %s (known: %s)", k.Value, where, strings.Join(names, ", "))
			continue
		}
		child := k.Value
		if path != "" {
			child = path + "." + k.Value
		} else if w, ok := d.spelled[child]; ok {
			child = w
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, "%s: duplicate key (first at line %d)", child, first)
			continue
		}
		seen[k.Value] = k.Line
		d.lines[child] = k.Line
		d.decode(val, v.Field(idx), child)
	}
}

// sequence decodes a YAML list into the slice v, replacing what it held.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, "%s: expected a list, found %s", path, describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = e.Line
		d.decode(e, s.Index(i), p)
	}
	v.Set(s)
}

// scalar returns the value of the scalar n with its ${NAME} references
// resolved.
func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, "%s: expected a single value, found %s", path, describe(n))
		return "", false
	}
	s, err := expand(n.Value, d.lookup)
	if err != nil {
		d.errorf(n.Line, "%s: %v", path, err)
		return "", false
	}
	return s, true
}

// integer sets the integer v from s, in decimal with optional underscores
// (1_048_576), checking the range of v's type.
func (d *decoder) integer(line int, s string, v reflect.Value, path string) {
	digits := strings.ReplaceAll(s, "_", "")
	bits := v.Type().Bits()
	var err error
	if v.CanInt() {
		var i int64
		if i, err = strconv.ParseInt(digits, 10, bits); err == nil {
			v.SetInt(i)
			return
		}
	} else {
		var u uint64
		if u, err = strconv.ParseUint(digits, 10, bits); err == nil {
			v.SetUint(u)
			return
		}
		if _, ierr := strconv.ParseInt(digits, 10, 64); ierr == nil || errors.Is(ierr, strconv.ErrRange) {
			err = strconv.ErrRange // a negative or huge number, not a typo
		}
	}
	if !errors.Is(err, strconv.ErrRange) {
		d.errorf(line, "%s: %q is not an integer", path, s)
		return
	}
	if v.CanInt() {
		d.errorf(line, "%s: %s is out of range (%d to %d)", path, s, -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1)
	} else {
		d.errorf(line, "%s: %s is out of range (0 to %d)", path, s, uint64(1)<<bits-1)
	}
}

// fieldsOf maps the yaml tag names of t's fields to their indexes; names
// lists them in declaration order for error messages.
func fieldsOf(t reflect.Type) (fields map[string]int, names []string) {
	fields = make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names
}

// describe names what n is, for "expected X, found Y" errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "something else"
}

func orTop(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}
