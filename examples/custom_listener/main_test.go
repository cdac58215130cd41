package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestCustomListenerRuns: the example's broker serves a paho.golang client
// through the user-written Pipe transport.
func TestCustomListenerRuns(t *testing.T) {
	got, err := run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := "pipe/hello: no socket involved"; got != want {
		t.Errorf("run() = %q, want %q", got, want)
	}
}

// TestTransportIsShort: the point of the example is that a transport takes
// few lines; keep Pipe (pipe.go after its imports) under 40.
func TestTransportIsShort(t *testing.T) {
	src, err := os.ReadFile("pipe.go")
	if err != nil {
		t.Fatal(err)
	}
	_, code, ok := strings.Cut(string(src), "\n// Pipe is")
	if !ok {
		t.Fatal("pipe.go does not start Pipe with its doc comment")
	}
	if n := strings.Count(code, "\n") + 1; n >= 40 {
		t.Errorf("Pipe takes %d lines, want under 40", n)
	}
}
