# fleetctl — build, test, lint and the local demo.
GO      ?= go
BIN     ?= bin
GOFLAGS ?=
DIST    ?= dist

.PHONY: all build test lint demo clean release-snapshot release-check release-reproducible

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

# A release of this commit in $(DIST) without publishing anything: an
# archive of fleetctl and of hcloudsim per platform, the bare Linux fleetctl
# binaries, checksums.txt and release-notes.md.
release-snapshot:
	GO=$(GO) $(GO) run ./scripts/release -snapshot -dist $(DIST)

# Checks the release in $(DIST): archives, checksums, platforms, versions.
release-check:
	FLEETCTL_RELEASE_DIST=$(abspath $(DIST)) $(GO) test -count=1 ./test/release/

# Builds the release a second time and compares the checksums.
release-reproducible: release-snapshot
	GO=$(GO) $(GO) run ./scripts/release -snapshot -dist $(DIST).again
	diff -u $(DIST)/checksums.txt $(DIST).again/checksums.txt
	rm -rf $(DIST).again

clean:
	rm -rf $(BIN) $(DIST)
