# mirrorfence — see README.md.
GO      ?= go
BIN     := bin/backup

.PHONY: all build test test-unpriv test-race vet demo bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/backup

# The whole suite: unit, conformance and end-to-end tests (real sshd on
# 127.0.0.x, rsync as the oracle).
test: vet
	$(GO) test -count=1 -timeout 15m ./...

# The permission cases (tests named TestPerm...) once more as a user
# without root privileges, who can be denied a read; run as root, it
# creates that user (backuptest) when missing.
test-unpriv:
	GO=$(GO) ./scripts/test-unpriv.sh

test-race:
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

# The main job on a built-in local demo target.
demo: build
	./scripts/demo.sh $(BIN)

# Speed and memory side by side with rsync (not a test; passes or fails nothing).
bench: build
	$(GO) run ./bench -backup $(BIN) $(BENCHFLAGS)

fuzz:
	$(GO) test ./table -run '^$$' -fuzz FuzzParse -fuzztime 60s

clean:
	rm -rf bin demo
