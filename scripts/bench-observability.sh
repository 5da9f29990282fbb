#!/bin/sh
# bench-observability: the cost of request logging (and everything that
# rides on it: the in-memory ring the admin page tails, the log file). The
# scenario at concurrency 16 against a fresh single node, request logging
# on (log.level info) and off (warn), alternating, RUNS times each.
# Metrics and the admin page's sampler are always on in both.
set -eu
SCENARIO=${SCENARIO:-../shared/data/minitwit_scenario.csv}
RUNS=${RUNS:-2}
DIR=${BENCH_DIR:-/tmp/minitwit-bench-obs}
rm -rf "$DIR" && mkdir -p "$DIR"
i=0
while [ "$i" -lt "$RUNS" ]; do
  i=$((i + 1))
  for level in info warn; do
    rm -rf "$DIR/data"
    MINITWIT_LOG_LEVEL=$level MINITWIT_LOG_FILE="$DIR/minitwit.log" \
      ./bin/minitwit serve --data-dir "$DIR/data" --http-addr 127.0.0.1:18580 --raft-addr 127.0.0.1:18581 >"$DIR/serve.log" 2>&1 &
    pid=$!
    until curl -sf http://127.0.0.1:18580/readyz >/dev/null; do sleep 0.1; done
    printf 'run %d, log level %s: ' "$i" "$level"
    ./bin/minitwit simulate --url http://127.0.0.1:18580/api --scenario "$SCENARIO" --concurrency 16 2>/dev/null |
      grep -E 'throughput|req/s' | head -1
    kill "$pid"
    wait "$pid" || true
  done
done
