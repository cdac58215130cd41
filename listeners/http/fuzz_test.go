package httpbridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/broker"
	httpbridge "github.com/ternmq/broker/listeners/http"
)

// FuzzRequest sends any method, target, header and body to the bridge (a
// live listener of a started broker, its handler called directly): every
// request gets an answer, and an error answer is JSON with an "error".
func FuzzRequest(f *testing.F) {
	quiet := slog.New(slog.DiscardHandler)
	hl, err := httpbridge.New("web", "127.0.0.1:0", httpbridge.WithLogger(quiet))
	if err != nil {
		f.Fatal(err)
	}
	b, err := broker.New(broker.WithListener(hl), broker.WithSysInterval(-1), broker.WithLogger(quiet))
	if err != nil {
		f.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = b.Close() })

	for _, s := range []struct{ method, target, header, body string }{
		{"POST", "/publish/a/b", "Content-Type: text/plain", "hello"},
		{"POST", "/publish?topic=a%2Fb&qos=1&retain=true", "", "x"},
		{"POST", "/publish/a?qos=2&content_type=t&response_topic=r&correlation_data=c&user.k=v&expiry=10", "", ""},
		{"GET", "/subscribe?filter=a%2F%23&qos=1", "Accept: text/event-stream", ""},
		{"GET", "/subscribe?filter=a&wait=10ms&max=5", "", ""},
		{"GET", "/subscribe?filter=a&last_event_id=abc-3", "Last-Event-ID: abc-7", ""},
		{"GET", "/retained?topic=a%2F%2B", "Authorization: Basic dTpw", ""},
		{"DELETE", "/retained/a/b", "", ""},
		{"PUT", "/nothing", "", ""},
	} {
		f.Add(s.method, s.target, s.header, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, target, header string, body []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, "http://bridge"+target, bytes.NewReader(body))
		if err != nil || req.URL.Host != "bridge" {
			return
		}
		if k, v, ok := strings.Cut(header, ":"); ok && k != "" {
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		rec := httptest.NewRecorder()
		hl.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Code >= 400 {
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s: status %d with body %q", method, target, rec.Code, rec.Body.String())
			}
		}
	})
}
