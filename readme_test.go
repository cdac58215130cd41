package broker_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeExampleIsExamplesSimple keeps the README's embedding example and
// examples/simple (which go vet and go build compile) identical.
func TestReadmeExampleIsExamplesSimple(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Embedding\n\n```go\n")
	if !ok {
		t.Fatal("README has no embedding example")
	}
	snippet, _, _ := strings.Cut(after, "```")
	src, err := os.ReadFile("examples/simple/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(src), snippet) {
		t.Fatalf("examples/simple/main.go differs from the README snippet:\n%s", snippet)
	}
}
