#!/bin/sh
# bench-cluster.sh: the course scenario through a fresh 3-node cluster on
# loopback (make bench-cluster). Three runs, each on new data dirs:
#   1. concurrency 1, requests spread over the three nodes;
#   2. concurrency 16, the same;
#   3. concurrency 16 again, with the leader killed (kill -9) a few seconds
#      in; the simulator's outage line is the failover time as a client sees
#      it, and its error count is what the kill cost beyond the 0.3 s budget.
#      The killed node is then restarted with its unchanged command line and
#      must become ready again.
#   4. ("reads") what a verified read costs: BenchmarkClusterRead
#      (node/read_bench_test.go) on an in-process 3-node cluster, a read
#      on the leader and on a follower against a bare store read, with the
#      lan and wan profiles; READS reads per case.
# Figures go to docs/benchmarks.md with the machine they ran on.
set -eu

BIN=${BIN:-./bin/minitwit}
SCENARIO=${SCENARIO:-../shared/data/minitwit_scenario.csv}
DIR=${BENCH_DIR:-/tmp/minitwit-bench-cluster}
KILL_AFTER=${KILL_AFTER:-4}
RUNS=${RUNS:-"1 16 kill reads"} # which of the four runs to do
READS=${READS:-2000}
GO=${GO:-go}
TOKEN=bench-cluster-token-0123456789abcdef
URLS=http://127.0.0.1:18491/api,http://127.0.0.1:18492/api,http://127.0.0.1:18493/api

[ -r "$SCENARIO" ] || { echo "bench-cluster: no scenario at $SCENARIO (set SCENARIO=...)"; exit 2; }

start_node() { # start_node I: node I in the background, its pid in $DIR/nodeI.pid
	join=""
	[ "$1" = 1 ] || join="--join 127.0.0.1:18591"
	MINITWIT_JOIN_TOKEN=$TOKEN "$BIN" serve --data-dir "$DIR/node$1" --node-id "node$1" \
		--http-addr "127.0.0.1:1849$1" --raft-addr "127.0.0.1:1859$1" $join \
		>>"$DIR/node$1.log" 2>&1 &
	echo $! >"$DIR/node$1.pid"
}

wait_ready() { # wait_ready I
	n=0
	until curl -sf -o /dev/null "http://127.0.0.1:1849$1/readyz"; do
		n=$((n + 1))
		if [ $n -gt 300 ]; then echo "node$1 not ready; see $DIR/node$1.log"; exit 1; fi
		sleep 0.1
	done
}

stop_all() {
	for i in 1 2 3; do
		[ -f "$DIR/node$i.pid" ] || continue
		pid=$(cat "$DIR/node$i.pid")
		kill -TERM "$pid" 2>/dev/null && while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
		rm -f "$DIR/node$i.pid"
	done
}
trap stop_all EXIT INT TERM

fresh_cluster() {
	stop_all
	rm -rf "$DIR" && mkdir -p "$DIR"
	start_node 1 && wait_ready 1
	start_node 2 && start_node 3
	wait_ready 2 && wait_ready 3
}

cpu_report() { # the CPU-seconds (user+sys) each node has used since it started
	tck=$(getconf CLK_TCK)
	line="cpu"
	for i in 1 2 3; do
		pid=$(cat "$DIR/node$i.pid")
		# utime and stime are fields 14 and 15; the command name (field 2)
		# has no spaces here.
		line="$line  node$i $(awk -v t="$tck" '{printf "%.1f s", ($14 + $15) / t}' "/proc/$pid/stat")"
	done
	echo "$line"
}

leader() { # the index (1-3) of the current leader
	curl -sf http://127.0.0.1:18491/readyz | jq -r .leader | sed 's/^node//'
}

for c in $RUNS; do
	[ "$c" = kill ] || [ "$c" = reads ] && continue
	fresh_cluster
	echo "== 3 nodes, simulate --concurrency $c"
	"$BIN" simulate --url "$URLS" --scenario "$SCENARIO" --concurrency "$c" 2>"$DIR/errors-c$c.log" || true
	cpu_report
done

case " $RUNS " in *" kill "*) ;; *) RUNS_KILL=no ;; esac
if [ "${RUNS_KILL:-yes}" = yes ]; then
	fresh_cluster
	echo "== 3 nodes, simulate --concurrency 16, leader killed after ${KILL_AFTER}s"
	"$BIN" simulate --url "$URLS" --scenario "$SCENARIO" --concurrency 16 2>"$DIR/errors-failover.log" &
	sim=$!
	sleep "$KILL_AFTER"
	victim=$(leader)
	kill -KILL "$(cat "$DIR/node$victim.pid")"
	echo "killed the leader node$victim at $(date -u +%T.%N | cut -c1-12)"
	wait $sim || true
	start_node "$victim"
	wait_ready "$victim"
	echo "node$victim restarted and ready; leader now node$(leader)"
	stop_all
fi

case " $RUNS " in *" reads "*) ;; *) exit 0 ;; esac
echo "== verified reads on a 3-node in-process cluster ($READS per case; load average $(cut -d' ' -f1-3 /proc/loadavg))"
"$GO" test -run '^$' -bench '^BenchmarkClusterRead$' -benchtime "${READS}x" -count 1 ./node/ |
	grep -E '^Benchmark' | sed 's/^BenchmarkClusterRead\///'
