# MiniTwit: one binary. `make run` starts a node on its defaults,
# `make test` runs every test.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(DATE)
SCENARIO ?= ../shared/data/minitwit_scenario.csv
URL     ?= http://127.0.0.1:8080/api

.PHONY: build run test lint bench bench-scenario simulate clean

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

# bench-scenario: the simulator scenario against a fresh node at
# concurrency 1 and 16, then read throughput with wrk (apt-get install wrk)
# over 32 kept-alive connections. Figures go to docs/benchmarks.md.
BENCH_DIR ?= /tmp/minitwit-bench
bench-scenario: build
	@rm -rf $(BENCH_DIR) && mkdir -p $(BENCH_DIR)
	@for c in 1 16; do \
	  rm -rf $(BENCH_DIR)/data; \
	  ./bin/minitwit serve --data-dir $(BENCH_DIR)/data --http-addr 127.0.0.1:18480 --raft-addr 127.0.0.1:18481 > $(BENCH_DIR)/serve-c$$c.log 2>&1 & pid=$$!; \
	  until curl -sf http://127.0.0.1:18480/readyz >/dev/null; do sleep 0.1; done; \
	  echo "== simulate --concurrency $$c"; \
	  ./bin/minitwit simulate --url http://127.0.0.1:18480/api --scenario $(SCENARIO) --concurrency $$c 2>$(BENCH_DIR)/errors-c$$c.log; \
	  if [ $$c = 16 ]; then \
	    echo "== wrk GET /api/msgs?no=100"; \
	    wrk -t2 -c32 -d10s -H 'Authorization: Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh' 'http://127.0.0.1:18480/api/msgs?no=100' | grep -E 'Requests/sec|Latency'; \
	    echo "== wrk GET /public"; \
	    wrk -t2 -c32 -d10s http://127.0.0.1:18480/public | grep -E 'Requests/sec|Latency'; \
	  fi; \
	  kill $$pid; wait $$pid; \
	done

# simulate: replay the course scenario against a running node (make run).
simulate: build
	./bin/minitwit simulate --url $(URL) --scenario $(SCENARIO) $(ARGS)

clean:
	rm -rf bin
