# The README's two commands: `go run ./cmd/mqttd` runs the broker, `make test` runs the tests.
.PHONY: test deps vet bench soak fuzz

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

# soak runs 10 minutes of mixed traffic with -race (not in CI): churn,
# wills, takeovers, QoS 0/1/2, retained, a consumer that never reads, a
# publisher that never pauses; nothing acknowledged may be lost and
# goroutines and memory must come back (soak_test.go).
soak:
	TERN_SOAK=$${TERN_SOAK:-10m} go test -race -count=1 -run TestSoak -timeout 30m -v .

# fuzz runs every fuzz target of every package for FUZZTIME each (not in
# CI, which runs their seed corpora): `make fuzz FUZZTIME=2m`.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$(go list ./...); do \
		for f in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			go test -run=NONE -fuzz="^$$f\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done
