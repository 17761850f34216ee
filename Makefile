GO ?= go
BIN := bin/crmmock
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test build bench fuzz vet clean generate

## run: start the mock on the built-in default scenario (http://127.0.0.1:8080)
run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/crmmock serve $(ARGS)

## test: vet, then every test under the race detector
test: vet
	$(GO) test -race -count=1 ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...

## generate: refresh internal/contract/openapi.json after editing openapi.yaml (a test fails when it is stale)
generate:
	$(GO) generate ./internal/contract

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/crmmock

## bench: Go benchmarks of the full stack beside a bare net/http baseline (ratios as x-baseline), 1M-token memory and advance, server start; BENCHFLAGS e.g. -cpu 1 -count 3
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(BENCHFLAGS) ./...

## fuzz: run each fuzz target for FUZZTIME (one at a time, FUZZPARALLEL workers)
FUZZTIME ?= 30s
FUZZPARALLEL ?= 1
FUZZ_TARGETS := FuzzAuthenticationToken FuzzWebAPIKeyToken FuzzReleaseToken FuzzOtherMethod FuzzParseScenario FuzzTokenCheck
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $$t ($(FUZZTIME))"; \
		$(GO) test ./mockserver -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -parallel $(FUZZPARALLEL); \
	done

clean:
	rm -rf bin
