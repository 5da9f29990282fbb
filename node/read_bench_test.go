package node_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/store"
)

// BenchmarkClusterRead measures what a linearizable read costs on a 3-node
// in-process cluster on loopback (make bench-cluster runs it; figures in
// docs/benchmarks.md), for each Raft timing profile:
//
//   - local: one read transaction on a node's store, no confirmation: the
//     floor, what a read cost before reads were verified;
//   - leader: Node.ReadStore on the leader (its commit index, vouched for by
//     a round of heartbeats a quorum answers, raft.VerifyLeader; a barrier
//     instead right after the process stalled), then the same transaction;
//   - follower: ReadStore on a follower (it asks the leader for the read
//     index over the internode port, and the leader confirms as above);
//   - the same two in parallel (RunParallel: concurrent reads share
//     confirmation rounds);
//   - http-leader, http-follower: GET /public through each, as a browser
//     sees it (session-less page, 30 messages of an empty cluster).
//
// The serial cases report their p50 and p99 besides the mean. There is no
// assertion: a benchmark's figures are for reading, not for passing.
func BenchmarkClusterRead(b *testing.B) {
	for _, profile := range []string{config.RaftLAN, config.RaftWAN} {
		b.Run(profile, func(b *testing.B) {
			timing := config.RaftProfiles()[profile]
			nodes := nodetest.StartClusterWith(b, web, 3, func(_ int, cfg *config.Config) {
				cfg.Raft.Profile = profile
				cfg.Raft.HeartbeatTimeout = config.Duration(timing.HeartbeatTimeout)
				cfg.Raft.ElectionTimeout = config.Duration(timing.ElectionTimeout)
				cfg.Raft.LeaderLeaseTimeout = config.Duration(timing.LeaderLeaseTimeout)
				cfg.Raft.CommitTimeout = config.Duration(timing.CommitTimeout)
			})
			var leader, follower *node.Node
			testwait.Until(b, "a leader and every node ready", func() bool {
				leader, follower = nil, nil
				for _, n := range nodes {
					switch n.Status().Role {
					case "leader":
						leader = n
					case "follower":
						follower = n
					}
				}
				return leader != nil && follower != nil
			})
			ctx := context.Background()
			view := func(st *store.Store) error {
				return st.View(func(r *store.ReadTx) error { _ = r.Counts(); return nil })
			}
			read := func(n *node.Node) error {
				st, err := n.ReadStore(ctx)
				if err != nil {
					return err
				}
				return view(st)
			}
			get := func(n *node.Node) func() error {
				url := "http://" + n.HTTPAddr() + "/public"
				return func() error {
					resp, err := http.Get(url)
					if err != nil {
						return err
					}
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("GET %s: %d", url, resp.StatusCode)
					}
					return err
				}
			}
			serial := map[string]func() error{
				"local":         func() error { return view(leader.Store()) },
				"leader":        func() error { return read(leader) },
				"follower":      func() error { return read(follower) },
				"http-leader":   get(leader),
				"http-follower": get(follower),
			}
			// barriers reports the share of leader reads that committed a
			// barrier (a log write) because the process may have stalled,
			// which the lan profile's short lease makes likely on a loaded
			// machine.
			// It also reports the leader changes during the case: an
			// election (the lan profile's 50 ms on a starved machine) holds
			// reads back until the new leader is in place.
			changes := func() (most uint64) {
				for _, n := range nodes {
					most = max(most, n.Metrics().Counter(`minitwit_raft_leader_changes_total`).Get())
				}
				return most
			}
			barriers := func(b *testing.B, op func(b *testing.B)) {
				before, elections := leader.BarrierReadsForTest(), changes()
				op(b)
				b.ReportMetric(float64(leader.BarrierReadsForTest()-before)/float64(b.N), "barriers/op")
				b.ReportMetric(float64(changes()-elections), "leader-changes")
			}
			for _, name := range []string{"local", "leader", "follower", "http-leader", "http-follower"} {
				b.Run(name, func(b *testing.B) { barriers(b, func(b *testing.B) { timed(b, serial[name]) }) })
			}
			for _, c := range []struct {
				name string
				n    *node.Node
			}{{"leader-parallel", leader}, {"follower-parallel", follower}} {
				b.Run(c.name, func(b *testing.B) {
					barriers(b, func(b *testing.B) {
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								if err := read(c.n); err != nil {
									b.Error(err)
									return
								}
							}
						})
					})
				})
			}
		})
	}
}

// timed runs op b.N times and reports the p50 and p99 of its durations.
func timed(b *testing.B, op func() error) {
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}
