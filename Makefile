# The README's two commands: `go run ./cmd/mqttd` runs the broker, `make test` runs the tests.
.PHONY: test deps vet bench

# deps installs what the tests talk to and we did not write (Debian and npm
# packages): every script in .ci/deps, each a no-op when its packages are
# there already.
deps:
	@for f in .ci/deps/*.sh; do bash "$$f" || exit 1; done

vet:
	go vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# Every package with -race; fuzz targets run their seed corpora only.
test: deps vet
	go test -race -count=1 -timeout 15m ./...

bench:
	go test -run=NONE -bench=. -benchmem ./...
