package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHTTPListener(t *testing.T) {
	tests := []struct {
		name string
		file string
		want *HTTP
	}{
		{
			"every key",
			`
listeners:
  - type: http
    address: "127.0.0.1:8080"
    http:
      max_body_size: 65536
      max_streams: 100
      max_streams_per_user: 4
      stream_buffer_messages: 500
      stream_buffer_bytes: 262144
      resume_window: 1m
      request_timeout: 20s
      read_header_timeout: 5s
      idle_timeout: 90s
      write_timeout: 8s
      keep_alive: 25s
      max_wait: 45s
`,
			&HTTP{
				MaxBodySize: 65536, MaxStreams: 100, MaxStreamsPerUser: 4,
				StreamBufferMessages: 500, StreamBufferBytes: 262144,
				ResumeWindow: time.Minute, RequestTimeout: 20 * time.Second, ReadHeaderTimeout: 5 * time.Second,
				IdleTimeout: 90 * time.Second, WriteTimeout: 8 * time.Second, KeepAlive: 25 * time.Second, MaxWait: 45 * time.Second,
			},
		},
		{
			"no block: the body is bounded like a packet",
			"listeners:\n  - type: http\n    address: \":8080\"\nlimits:\n  max_packet_size: 4096\n",
			&HTTP{MaxBodySize: 4096},
		},
		{
			"empty block",
			"listeners:\n  - type: HTTP\n    address: \":8080\"\n    http: {}\n",
			&HTTP{MaxBodySize: 1 << 20},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("tern.yaml", []byte(tt.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			l := c.Listeners[0]
			if l.Type != "http" || l.Name != "http" {
				t.Errorf("type %q name %q, want http", l.Type, l.Name)
			}
			if diff := cmp.Diff(tt.want, l.HTTP); diff != "" {
				t.Errorf("http (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPListenerErrors(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{
			"block on a tcp listener",
			"listeners:\n  - type: tcp\n    address: \":1883\"\n    http:\n      max_streams: 3\n",
			`line 4: listeners[0].http: is set but the listener's type is "tcp"`,
		},
		{
			"unknown key",
			"listeners:\n  - type: http\n    address: \":8080\"\n    http:\n      max_stream: 3\n",
			`line 5: unknown key "max_stream" in listeners[0].http (known: max_body_size,`,
		},
		{
			"negative count",
			"listeners:\n  - type: http\n    address: \":8080\"\n    http:\n      max_streams: -1\n",
			`line 5: listeners[0].http.max_streams: -1 is out of range`,
		},
		{
			"negative duration",
			"listeners:\n  - type: http\n    address: \":8080\"\n    http:\n      resume_window: -5s\n",
			`line 5: listeners[0].http.resume_window: must not be negative`,
		},
		{
			"duration without unit",
			"listeners:\n  - type: http\n    address: \":8080\"\n    http:\n      max_wait: 30\n",
			`line 5: listeners[0].http.max_wait: invalid duration "30"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("tern.yaml", []byte(tt.file), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %s", err, tt.want)
			}
		})
	}
}
