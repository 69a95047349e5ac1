# mirrorfence — see README.md.
GO      ?= go
BIN     := bin/backup

.PHONY: all build test test-unpriv test-race vet demo bench fuzz mutate clean

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

# Mutation testing of mirror and table with their package tests (not in
# CI: it takes an hour or more). Efficacy is killed / (killed + lived);
# mutants in "case" conditions show as NOT COVERED (the coverage profile
# has no block for them). GREMLINS_FLAGS adds flags, e.g. --workers 2.
# -count=1: a cached coverage run would set every mutant's timeout from
# its cached time, and all would time out.
GREMLINS ?= $(shell command -v gremlins 2>/dev/null || echo $$($(GO) env GOPATH)/bin/gremlins)
mutate:
	@test -x "$(GREMLINS)" || $(GO) install github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
	GOFLAGS="$(GOFLAGS) -count=1" $(GREMLINS) unleash --workers 1 --timeout-coefficient 5 $(GREMLINS_FLAGS) ./mirror
	GOFLAGS="$(GOFLAGS) -count=1" $(GREMLINS) unleash --workers 1 --timeout-coefficient 5 $(GREMLINS_FLAGS) ./table

fuzz:
	$(GO) test ./table -run '^$$' -fuzz FuzzParse -fuzztime 60s

clean:
	rm -rf bin demo
