package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseCoAPListener(t *testing.T) {
	tests := []struct {
		name string
		file string
		want Listener
	}{
		{
			"address only: the listener's defaults",
			"listeners:\n  - type: coap\n    address: \":5683\"\n",
			Listener{Type: "coap", Name: "coap", Address: ":5683"},
		},
		{
			"every key",
			`listeners:
  - type: CoAP
    name: sensors
    address: "0.0.0.0:5683"
    coap:
      username: sensors
      password: ${PW}
      query_credentials: true
      inactivity_timeout: 5m
      ack_timeout: 3s
      max_retransmit: 2
      max_payload: 1_048_576
      block_size: 512
      max_observers: 4
`,
			Listener{Type: "coap", Name: "sensors", Address: "0.0.0.0:5683", CoAP: &CoAP{
				Username: "sensors", Password: "secret", QueryCredentials: true,
				InactivityTimeout: 5 * time.Minute, AckTimeout: 3 * time.Second, MaxRetransmit: 2,
				MaxPayload: 1 << 20, BlockSize: 512, MaxObservers: 4,
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("tern.yaml", []byte(tt.file), env(map[string]string{"PW": "secret"}))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]Listener{tt.want}, c.Listeners); diff != "" {
				t.Errorf("listeners (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCoAPErrors(t *testing.T) {
	const head = "listeners:\n  - type: coap\n    address: \":5683\"\n    coap:\n"
	tests := []struct {
		name string
		file string
		want string
	}{
		{"coap block on a tcp listener", "listeners:\n  - type: tcp\n    address: \":1\"\n    coap: {username: x}\n",
			`line 4: listeners[0].coap: is set but type is "tcp"`},
		{"unknown key", head + "      user: x\n", `line 5: unknown key "user" in listeners[0].coap (known: username, password,`},
		{"negative inactivity", head + "      inactivity_timeout: -1s\n", `line 5: listeners[0].coap.inactivity_timeout: must be positive`},
		{"negative ack timeout", head + "      ack_timeout: -2s\n", `line 5: listeners[0].coap.ack_timeout: must be positive`},
		{"retransmit too high", head + "      max_retransmit: 21\n", `line 5: listeners[0].coap.max_retransmit: 21 is not from 1 to 20`},
		{"payload too large", head + "      max_payload: 300000000\n", `line 5: listeners[0].coap.max_payload: 300000000 is not from 1 to 268435455`},
		{"block size not a power of two", head + "      block_size: 100\n", `line 5: listeners[0].coap.block_size: 100 is not a power of two from 16 to 1024`},
		{"block size too large", head + "      block_size: 2048\n", `line 5: listeners[0].coap.block_size: 2048 is not a power of two`},
		{"negative observers", head + "      max_observers: -1\n", `line 5: listeners[0].coap.max_observers: must be at least 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("tern.yaml", []byte(tt.file), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n%v\ndoes not contain\n%s", err, tt.want)
			}
		})
	}
}
