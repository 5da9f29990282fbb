# MiniTwit: one binary. `make run` starts a node on its defaults,
# `make test` runs every test, `make test-short` all but the process-level
# end-to-end tests.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(DATE)
SCENARIO ?= ../shared/data/minitwit_scenario.csv
URL     ?= http://127.0.0.1:8080/api

.PHONY: build run test test-short lint bench bench-scenario bench-cluster bench-observability bench-faults simulate clean release

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/minitwit ./cmd/minitwit

run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/minitwit serve

# lint: formatting, vet (with the e2e tag too, so the end-to-end tests
# compile), staticcheck and errcheck must be clean before tests count. The
# two checkers come from the Go module proxy at pinned versions; `go run`
# caches their binaries and staticcheck caches its analysis, so a second run
# takes seconds. errcheck's exclusions, each with its reason, are in
# scripts/errcheck-excludes.txt.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
ERRCHECK    ?= github.com/kisielk/errcheck@v1.30.0
lint:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./cmd/...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(ERRCHECK) -ignoretests -exclude scripts/errcheck-excludes.txt ./...

# TESTFLAGS go to go test in test and test-short, e.g. TESTFLAGS=-parallel=4
# to try more of a package's tests at once (docs/benchmarks.md, "Where
# make test-short's time goes").
TESTFLAGS ?=

# The tests come in three tiers: unit tests; in-process cluster tests (real
# bbolt, Raft and listeners on loopback, several nodes in one process); and
# process-level end-to-end tests, which build the binary and run it, behind
# the e2e build tag (cmd/minitwit/*e2e_test.go). test runs all three;
# test-short the first two, with -short: the tests that replay volume
# (the whole scenario, a 50,000-entry catch-up, 20 stops under load)
# replay a part of it there and all of it in test.
# test ends with a short fuzz run of every target (FUZZTIME_SHORT each);
# make fuzz runs them longer.
# The per-package -timeout is a hang guard, not a budget: with a second
# make test beside it on two cores, the process-level package alone took
# more than 20 minutes (CI, alone, takes about 10 for everything).
FUZZTIME_SHORT ?= 2s
test: lint
	$(GO) test -race -count=1 -timeout 45m -tags e2e $(TESTFLAGS) ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT)

# test-short names ./node and ./httpui first: go test starts packages in
# the order given, -p (the number of cores) at a time, and these two take
# longest (in-process clusters; Chromium), so they start at once and the
# small packages fill the slots around them instead of one of the two
# starting last and running alone at the end.
# test-short runs without the race detector: it is the quick check while
# working (1 min 40 s quiet against 2 min 46 s with -race, most of the
# difference argon2id and the cluster tests' CPU under the detector's
# bookkeeping); make test, which CI runs, keeps -race on every tier. Add
# it back with TESTFLAGS=-race.
test-short: lint
	$(GO) test -count=1 -short -timeout 20m $(TESTFLAGS) ./node/ ./httpui/ ./...

# fuzz: each Go fuzz target for FUZZTIME, one after the other (a fuzz run
# takes one target at a time). Their seed corpora also run as ordinary
# tests in test and test-short, and test ends with this at FUZZTIME_SHORT;
# a failing input is saved under the package's testdata/fuzz/ and replays
# there from then on.
FUZZTIME ?= 30s
FUZZ_TARGETS ?= ./httpui/auth:FuzzLegacyHash ./httpui:FuzzAPIRegister ./httpui:FuzzAPIMessages \
	./httpui:FuzzAPIFollows ./httpui:FuzzUIRegister ./httpui:FuzzUILogin ./httpui:FuzzUIAddMessage \
	./raftfsm:FuzzDecode
.PHONY: fuzz
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "== $$name ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

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

# bench-observability: request logging on versus off (metrics and the
# admin page's sampler always on), the scenario at concurrency 16
# (scripts/bench-observability.sh).
bench-observability: build
	@SCENARIO=$(SCENARIO) sh scripts/bench-observability.sh

# bench-faults: the network-fault scenarios (node/nemesis_test.go) in their
# long versions (15 s faults, a 30 s flapping link, 60 s of latency with the
# lan and wan profiles), without the race detector, on in-process clusters
# whose links go through a fault point (node/nodetest/faultnet), then the
# leader's process paused for 300 ms with each profile (three real
# processes, cmd/minitwit/pause_e2e_test.go). Prints the fault table for
# docs/benchmarks.md; the tests' full output is in $(BENCH_DIR)/faults.log
# and faults-pause.log.
bench-faults:
	@mkdir -p $(BENCH_DIR)
	@rm -f $(BENCH_DIR)/faults.md $(BENCH_DIR)/faults-pause.md
	@MINITWIT_FAULTS_LONG=1 MINITWIT_FAULTS_TABLE=$(BENCH_DIR)/faults.md \
	  $(GO) test -count=1 -timeout 30m -run '^TestNemesis$$' -v ./node/ > $(BENCH_DIR)/faults.log 2>&1; rc=$$?; \
	  MINITWIT_FAULTS_ROWS=$(BENCH_DIR)/faults-pause.md \
	  $(GO) test -tags e2e -count=1 -timeout 10m -run '^TestClusterE2ELeaderPause$$' -v ./cmd/minitwit/ > $(BENCH_DIR)/faults-pause.log 2>&1; rc2=$$?; \
	  cat $(BENCH_DIR)/faults.md $(BENCH_DIR)/faults-pause.md 2>/dev/null; echo "load average: $$(cut -d' ' -f1-3 /proc/loadavg)"; \
	  if [ $$rc != 0 ]; then echo "bench-faults: a scenario failed; see $(BENCH_DIR)/faults.log"; exit 1; fi; \
	  if [ $$rc2 != 0 ]; then echo "bench-faults: the pause scenario failed; see $(BENCH_DIR)/faults-pause.log"; exit 1; fi

# bench-cluster: the scenario through a fresh 3-node cluster at concurrency
# 1 and 16, then a leader kill -9 under load, then what a verified read
# costs on the leader and a follower (scripts/bench-cluster.sh).
bench-cluster: build
	@GO=$(GO) SCENARIO=$(SCENARIO) sh scripts/bench-cluster.sh

# simulate: replay the course scenario against a running node (make run).
simulate: build
	./bin/minitwit simulate --url $(URL) --scenario $(SCENARIO) $(ARGS)

# screenshots: every user and admin page at 1280 and 375 px, taken by the
# browser test (Debian's chromium, apt-get install -y chromium) into
# docs/screenshots/, which the README shows. make test writes them to a
# temporary directory instead; make test-short (-short) takes none.
.PHONY: screenshots
screenshots:
	@mkdir -p docs/screenshots && rm -f docs/screenshots/*-1280.png docs/screenshots/*-375.png
	CI=true MINITWIT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestBrowserEveryPage$$' ./httpui/

clean:
	rm -rf bin dist

# release: static binaries (no cgo, paths trimmed) for Linux on amd64 and
# arm64 in dist/, stamped with VERSION (git describe; set VERSION=v1.2.0 to
# override), and dist/SHA256SUMS for `sha256sum -c`. What changed is in
# CHANGELOG.md.
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64
release:
	@rm -rf dist && mkdir -p dist
	@for p in $(RELEASE_PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; \
	  echo "building dist/minitwit-$$os-$$arch ($(VERSION))"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" \
	    -o dist/minitwit-$$os-$$arch ./cmd/minitwit || exit 1; \
	done
	@cd dist && sha256sum minitwit-* > SHA256SUMS && cat SHA256SUMS

# cluster: a 3-node local cluster in the background (HTTP 8091-8093, Raft
# 8191-8193), data and logs in ./cluster-data. The same command lines start
# it again after cluster-stop (nodes with state ignore --join); the join
# token is made once into ./cluster-data/token. Each running node records
# its addresses in cluster-data/nodeN/listen.json, so the tools need no
# address: ./bin/minitwit cluster status --data-dir cluster-data/node1
# (likewise flag, admin, backup).
CLUSTER_DIR ?= cluster-data
.PHONY: cluster cluster-stop
cluster: build
	@command -v curl >/dev/null 2>&1 || { echo "make cluster: curl is needed to wait for /readyz"; exit 1; }
	@mkdir -p $(CLUSTER_DIR)
	@if [ ! -s $(CLUSTER_DIR)/token ]; then \
	  (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > $(CLUSTER_DIR)/token); \
	fi
	@token=$$(cat $(CLUSTER_DIR)/token); \
	fresh=yes; [ -d $(CLUSTER_DIR)/node1 ] && fresh=no; \
	ready() { \
	  n=0; \
	  until curl -sf -o /dev/null http://127.0.0.1:809$$1/readyz; do \
	    if ! kill -0 $$(cat $(CLUSTER_DIR)/node$$1.pid) 2>/dev/null; then \
	      echo "node$$1 exited; the end of $(CLUSTER_DIR)/node$$1.log:"; tail -n 20 $(CLUSTER_DIR)/node$$1.log; exit 1; \
	    fi; \
	    n=$$((n + 1)); \
	    if [ $$n -gt 60 ]; then echo "node$$1 is not ready after 60 s; see $(CLUSTER_DIR)/node$$1.log"; exit 1; fi; \
	    sleep 1; \
	  done; \
	}; \
	for i in 1 2 3; do \
	  if [ -f $(CLUSTER_DIR)/node$$i.pid ] && kill -0 $$(cat $(CLUSTER_DIR)/node$$i.pid) 2>/dev/null; then \
	    echo "node$$i is already running (pid $$(cat $(CLUSTER_DIR)/node$$i.pid))"; continue; \
	  fi; \
	  join=""; [ $$i = 1 ] || join="--join 127.0.0.1:8191"; \
	  MINITWIT_JOIN_TOKEN=$$token nohup ./bin/minitwit serve --data-dir $(CLUSTER_DIR)/node$$i \
	    --http-addr 127.0.0.1:809$$i --raft-addr 127.0.0.1:819$$i --node-id node$$i $$join \
	    >> $(CLUSTER_DIR)/node$$i.log 2>&1 < /dev/null & \
	  echo $$! > $(CLUSTER_DIR)/node$$i.pid; \
	  if [ $$i = 1 ] && [ $$fresh = yes ]; then ready 1 || exit 1; fi; \
	done; \
	for i in 1 2 3; do ready $$i || exit 1; done; \
	echo "MiniTwit cluster is up (stop it with make cluster-stop):"; \
	for i in 1 2 3; do \
	  echo "  node$$i  http://127.0.0.1:809$$i  API http://127.0.0.1:809$$i/api  log $(CLUSTER_DIR)/node$$i.log"; \
	done; \
	echo "Members: ./bin/minitwit cluster status --data-dir $(CLUSTER_DIR)/node1"

cluster-stop:
	@for i in 1 2 3; do \
	  f=$(CLUSTER_DIR)/node$$i.pid; \
	  [ -f $$f ] || continue; \
	  pid=$$(cat $$f); \
	  if kill -TERM $$pid 2>/dev/null; then \
	    echo "stopping node$$i (pid $$pid)"; \
	    n=0; \
	    while kill -0 $$pid 2>/dev/null; do \
	      n=$$((n + 1)); \
	      if [ $$n -gt 60 ]; then echo "node$$i (pid $$pid) did not stop within 60 s"; exit 1; fi; \
	      sleep 1; \
	    done; \
	  fi; \
	  rm -f $$f; \
	done
