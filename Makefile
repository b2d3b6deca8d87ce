# fleetctl — build, test, lint and the local demo.
GO      ?= go
BIN     ?= bin
GOFLAGS ?=

.PHONY: all build test lint demo clean

all: build

build:
	mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test: lint build
	$(GO) test -race -timeout 40m ./...

demo: build
	SKIP_BUILD=1 BIN=$(BIN) GO=$(GO) ./scripts/demo.sh

clean:
	rm -rf $(BIN)
