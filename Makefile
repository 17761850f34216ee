GO ?= go
BIN := bin/crmmock
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test build bench loadtest fuzz vet clean generate image examples

## run: start the mock on the built-in default scenario (http://127.0.0.1:8080)
run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/crmmock serve $(ARGS)

## test: vet, every Go test under the race detector (the Go example and, with podman, the image test among them), then the Python and Node examples
test: vet
	$(GO) test -race -count=1 ./...
	@$(MAKE) --no-print-directory examples

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...

## examples: examples/python (pytest-3) and examples/node (node --test) against a fresh build; each skips when its tool is missing, but fails on CI=true
examples: build
	@fail=0; \
	if command -v pytest-3 >/dev/null; then \
		echo "examples/python"; CRMMOCK_BIN=$(CURDIR)/$(BIN) pytest-3 -q -p no:cacheprovider examples/python || fail=1; \
	elif [ "$$CI" = true ]; then echo "examples/python: pytest-3 missing (apt-get install python3-pytest)"; fail=1; \
	else echo "SKIP examples/python: pytest-3 missing (apt-get install python3-pytest)"; fi; \
	if command -v node >/dev/null; then \
		echo "examples/node"; CRMMOCK_BIN=$(CURDIR)/$(BIN) node --test examples/node/ || fail=1; \
	elif [ "$$CI" = true ]; then echo "examples/node: node missing"; fail=1; \
	else echo "SKIP examples/node: node missing"; fi; \
	exit $$fail

## generate: refresh internal/contract/openapi.json after editing openapi.yaml (a test fails when it is stale)
generate:
	$(GO) generate ./internal/contract

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/crmmock

## bench: Go benchmarks of the full stack beside a bare net/http baseline (ratios as x-baseline), 1M-token memory and advance, server start; BENCHFLAGS e.g. -cpu 1 -count 3
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(BENCHFLAGS) ./...
	@if command -v wrk >/dev/null && command -v taskset >/dev/null; then $(MAKE) --no-print-directory loadtest; \
	else echo "SKIP loadtest: wrk missing (apt-get install wrk)"; fi

## loadtest: wrk against crmmock and a bare net/http token server, each pinned apart from wrk (LOADFLAGS e.g. -rounds 5 -dur 10s)
loadtest:
	$(GO) run ./internal/tools/loadcmp $(LOADFLAGS)

## fuzz: run each fuzz target for FUZZTIME (one at a time, FUZZPARALLEL workers)
FUZZTIME ?= 30s
FUZZPARALLEL ?= 1
FUZZ_TARGETS := FuzzAuthenticationToken FuzzWebAPIKeyToken FuzzReleaseToken FuzzOtherMethod FuzzParseScenario FuzzTokenCheck
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $$t ($(FUZZTIME))"; \
		$(GO) test ./mockserver -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -parallel $(FUZZPARALLEL); \
	done

## image: the container image (Dockerfile) with podman, else docker; IMAGE=name:tag, ENGINE=podman|docker
ENGINE ?= $(shell command -v podman 2>/dev/null || command -v docker 2>/dev/null)
IMAGE ?= crmmock:$(VERSION)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
CREATED ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
image:
	@test -n "$(ENGINE)" || { echo "make image: needs podman or docker"; exit 1; }
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o bin/image/crmmock ./cmd/crmmock
	$(ENGINE) build $(if $(findstring podman,$(ENGINE)),--format docker) \
		--build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg CREATED=$(CREATED) -t $(IMAGE) .

clean:
	rm -rf bin
