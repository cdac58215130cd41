package config

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDecodeKindsBeyondTheSchema covers kinds the decoder handles that the
// current schema does not use yet (bools, signed ranges), for the keys that
// later listeners and backends will add.
func TestDecodeKindsBeyondTheSchema(t *testing.T) {
	type kinds struct {
		On    bool   `yaml:"on"`
		Small int8   `yaml:"small"`
		Tiny  uint8  `yaml:"tiny"`
		Skip  string `yaml:"-"`
	}
	tests := []struct {
		src     string
		want    kinds
		wantErr string
	}{
		{src: "on: true\nsmall: -128\ntiny: 255\n", want: kinds{On: true, Small: -128, Tiny: 255}},
		{src: "on: FALSE\n", want: kinds{}},
		{src: "on: yes\n", wantErr: `line 1: on: "yes" is not true or false`},
		{src: "small: -129\n", wantErr: `line 1: small: -129 is out of range (-128 to 127)`},
		{src: "tiny: 256\n", wantErr: `line 1: tiny: 256 is out of range (0 to 255)`},
		{src: "tiny: 0x10\n", wantErr: `line 1: tiny: "0x10" is not an integer`},
		{src: "Skip: x\n", wantErr: `line 1: unknown key "Skip" at top level (known: on, small, tiny)`},
		{src: "? [a]\n: 1\n", wantErr: `line 1: unknown key "" at top level`},
	}
	for _, tt := range tests {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tt.src), &n); err != nil {
			t.Fatal(err)
		}
		d := newDecoder("k.yaml", nil)
		var got kinds
		d.decode(n.Content[0], reflect.ValueOf(&got).Elem(), "")
		err := d.err()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tt.src, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("%q: got %+v, want %+v", tt.src, got, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: error %v, want %q", tt.src, err, tt.wantErr)
		}
	}
}
