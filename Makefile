# MiniTwit: one binary. `make run` starts a node on its defaults,
# `make test` runs every test.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(DATE)
SCENARIO ?= ../shared/data/minitwit_scenario.csv
URL     ?= http://127.0.0.1:8080/api

.PHONY: build run test lint bench simulate clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/minitwit ./cmd/minitwit

run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/minitwit serve

# lint: formatting and vet must be clean before tests count.
lint:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test: lint
	$(GO) test -race -count=1 -timeout 20m ./...

# bench: Go benchmarks (figures go to docs/benchmarks.md with the command).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./store/ ./raftfsm/ ./httpui/

# simulate: replay the course scenario against a running node (make run).
simulate: build
	./bin/minitwit simulate --url $(URL) --scenario $(SCENARIO) $(ARGS)

clean:
	rm -rf bin
