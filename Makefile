GO ?= go
BIN := bin/crmmock
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test build bench loadtest soak fuzz vet clean generate image examples testcontainers

## run: start the mock on the built-in default scenario (http://127.0.0.1:8080)
run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/crmmock serve $(ARGS)

## test: vet, every Go test under the race detector (the Go example and, with podman, the image tests among them), the Python, Node, PHP and Java examples, then the Testcontainers ones
test: vet
	$(GO) test -race -count=1 ./...
	@$(MAKE) --no-print-directory examples
	@$(MAKE) --no-print-directory testcontainers

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...
	cd testcontainers && $(GO) vet ./...

## examples: examples/python (pytest-3), examples/node (node --test), examples/php (phpunit) and examples/java (javac + JUnit 5) against a fresh build; each skips with its install hint when its tool is missing, but fails on CI=true
JAVA_JARS := /usr/share/java/junit-platform-console-standalone.jar /usr/share/java/gson.jar
examples: build
	@fail=0; bin=$(CURDIR)/$(BIN); \
	missing() { if [ "$$CI" = true ]; then echo "examples/$$1: $$2 missing ($$3)"; fail=1; else echo "SKIP examples/$$1: $$2 missing ($$3)"; fi; }; \
	if command -v pytest-3 >/dev/null; then \
		echo "examples/python"; CRMMOCK_BIN=$$bin pytest-3 -q -p no:cacheprovider examples/python || fail=1; \
	else missing python pytest-3 "apt-get install python3-pytest"; fi; \
	if command -v node >/dev/null; then \
		echo "examples/node"; CRMMOCK_BIN=$$bin node --test examples/node/ || fail=1; \
	else missing node node "apt-get install nodejs"; fi; \
	if command -v phpunit >/dev/null && php -r 'exit(function_exists("curl_init") ? 0 : 1);' 2>/dev/null; then \
		echo "examples/php"; CRMMOCK_BIN=$$bin phpunit -c examples/php/phpunit.xml || fail=1; \
	else missing php "phpunit or php-curl" "apt-get install phpunit php-cli php-curl"; fi; \
	if command -v javac >/dev/null && ls $(JAVA_JARS) >/dev/null 2>&1; then \
		echo "examples/java"; $(MAKE) --no-print-directory -C examples/java test CRMMOCK_BIN=$$bin || fail=1; \
	else missing java "javac, JUnit 5 or Gson" "apt-get install openjdk-17-jdk-headless junit5 libgoogle-gson-java"; fi; \
	exit $$fail

## testcontainers: the Go module testcontainers/ (go test) and examples/node-testcontainers (npm ci, node --test) against the image of `make image`, through podman's Docker-compatible socket (testcontainers/with-podman-socket.sh, Ryuk off); each skips when its tool is missing, but fails on CI=true
testcontainers:
	@if ! command -v podman >/dev/null; then \
		if [ "$$CI" = true ]; then echo "testcontainers: podman missing (apt-get install podman runc)"; exit 1; fi; \
		echo "SKIP testcontainers (Go and Node): podman missing (apt-get install podman runc)"; exit 0; \
	fi; \
	$(MAKE) --no-print-directory image ENGINE=podman >/dev/null || exit 1; \
	fail=0; \
	echo "testcontainers (Go)"; \
	(cd testcontainers && CRMMOCK_IMAGE=$(IMAGE) ./with-podman-socket.sh $(GO) test -race -count=1 ./...) || fail=1; \
	if command -v npm >/dev/null; then \
		echo "examples/node-testcontainers"; \
		(cd examples/node-testcontainers && npm ci --prefer-offline --no-audit --no-fund --loglevel=error && \
			CRMMOCK_IMAGE=$(IMAGE) ../../testcontainers/with-podman-socket.sh node --test) || fail=1; \
	elif [ "$$CI" = true ]; then echo "examples/node-testcontainers: npm missing (apt-get install npm)"; fail=1; \
	else echo "SKIP examples/node-testcontainers: npm missing (apt-get install npm)"; fi; \
	exit $$fail

## generate: refresh internal/contract/doc_gen.go and mockserver/default_scenario_gen.go after editing openapi.yaml or scenarios/default.yaml (a test fails when one is stale)
generate:
	$(GO) generate ./internal/contract ./mockserver

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/crmmock

## bench: Go benchmarks of the full stack beside a bare net/http baseline (ratios as x-baseline), 1M-token memory and advance, server start; BENCHFLAGS e.g. -cpu 1 -count 3
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(BENCHFLAGS) ./...
	@if command -v wrk >/dev/null && command -v taskset >/dev/null; then $(MAKE) --no-print-directory loadtest; \
	else echo "SKIP loadtest: wrk missing (apt-get install wrk)"; fi

## soak: a login flood at full speed against serve --release R12 for SOAKTIME (default 10m), RSS every 10 s and its maximum (the token bound keeps it flat)
SOAKTIME ?= 10m
soak: build
	$(GO) run ./internal/tools/rssload -bin $(BIN) -dur $(SOAKTIME) -advance 0

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

## image: the container image (Dockerfile) with podman, else docker, tagged crmmock:dev (what the README runs) and crmmock:$(VERSION); IMAGE_NAME=name, IMAGE=name:tag, ENGINE=podman|docker
ENGINE ?= $(shell command -v podman 2>/dev/null || command -v docker 2>/dev/null)
IMAGE_NAME ?= crmmock
IMAGE ?= $(IMAGE_NAME):dev
IMAGE_TAGS = $(sort $(IMAGE) $(IMAGE_NAME):$(VERSION))
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
CREATED ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
image:
	@test -n "$(ENGINE)" || { echo "make image: needs podman or docker"; exit 1; }
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o bin/image/crmmock ./cmd/crmmock
	$(ENGINE) build $(if $(findstring podman,$(ENGINE)),--format docker) \
		--build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg CREATED=$(CREATED) $(addprefix -t ,$(IMAGE_TAGS)) .

clean:
	rm -rf bin examples/java/build
