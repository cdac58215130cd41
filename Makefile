# The README's two commands: `go run ./cmd/mqttd` runs the broker, `make test` runs the tests.
.PHONY: test deps vet bench

# deps installs what the tests talk to and we did not write: Debian's
# mosquitto clients and etcd server (a real etcd process a test kills).
# It is a no-op when they are there already.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
deps:
	@command -v mosquitto_pub >/dev/null 2>&1 && command -v etcd >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq mosquitto-clients etcd-server >/dev/null; }

vet:
	go vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# Every package with -race; fuzz targets run their seed corpora only.
test: deps vet
	go test -race -count=1 -timeout 15m ./...

bench:
	go test -run=NONE -bench=. -benchmem ./...
