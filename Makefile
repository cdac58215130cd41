# The README's two commands: `go run ./cmd/mqttd` runs the broker, `make test` runs the tests.
.PHONY: test deps vet bench

# deps installs what the tests talk to: Debian's mosquitto clients (a real
# MQTT client we did not write). It is a no-op when they are there already.
deps:
	@command -v mosquitto_pub >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq mosquitto-clients >/dev/null; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq mosquitto-clients >/dev/null; fi; }

vet:
	go vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# Every package with -race; fuzz targets run their seed corpora only.
test: deps vet
	go test -race -count=1 -timeout 15m ./...

bench:
	go test -run=NONE -bench=. -benchmem ./...
