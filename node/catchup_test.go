package node_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
)

// TestFollowerFarBehindCatchesUpBySnapshot: a follower is stopped, the
// others write 50,000 entries (compacting their logs far past it), and on
// restart the follower is brought up to date by a snapshot and serves the
// same data. Under -short (make test-short) they write 6,000.
//
// The snapshot threshold counts Raft log entries, not writes: the group
// commit sends everything the 32 writers have queued as one entry, so the
// 50,000 writes make between 50,000/32 = 1,563 entries (every batch full,
// as on a loaded machine) and about 2,300 (batches of 21 on average, run
// alone at load 5-17). A threshold of 2,048 therefore snapshotted once on
// a quiet machine and could miss it under load (full batches), failing the
// check below that only a snapshot can bring the follower up to date. The
// thresholds are below the fewest entries the writes can make (1,024 of
// 1,563; -short 128 of 187), so at least one snapshot is certain.
//
// Where the time goes (run alone, -race, 2 cores): about 45 s wall, 30 s
// CPU at load 5, 74 s at load 17; the writing is ~2,300 consensus rounds
// of ~10 ms CPU each (fsync is 0.6 ms here, not the limit), the catch-up
// waits up to 10 s for hashicorp/raft's replication back-off to the
// stopped follower to expire, and each waitSame poll hashes three stores
// of 50,000 messages (store.Digest, 4x cheaper since it stopped using fmt
// per key). Beside a second make test at load 30 the process gets about a
// tenth of a core and took 926 s; more writers (fuller batches) did not
// help there: at 128 and 256 writers (load 14-44) the leader changed and the
// writes went through elections and forwarding instead.
func TestFollowerFarBehindCatchesUpBySnapshot(t *testing.T) {
	t.Parallel()
	entries, threshold, trailing := 50_000, uint64(1024), uint64(256)
	if testing.Short() {
		entries, threshold, trailing = 6_000, 128, 32
	}
	var nodes []*node.Node
	for i := 0; i < 3; i++ {
		cfg := nodetest.Config(t.TempDir())
		cfg.NodeID, cfg.JoinToken = fmt.Sprintf("node%d", i+1), nodetest.ClusterToken
		cfg.Raft.SnapshotThreshold, cfg.Raft.TrailingLogs = threshold, trailing
		cfg.Raft.SnapshotInterval = config.Duration(200 * time.Millisecond)
		if i > 0 {
			cfg.Join = []string{nodes[0].RaftAddr()}
		}
		nodes = append(nodes, nodetest.Start(t, web, cfg))
	}
	leader, rest := leaderOf(t, nodes)
	register(t, leader, "writer")
	lagging := rest[0]
	cfg := lagging.ConfigForTest()
	stoppedAt := lagging.Status().AppliedIndex
	closeNode(t, lagging)

	// A bound on the writing, not a throughput figure: with a second test
	// suite beside it on two cores, 50,000 writes under -race took more
	// than 5 minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < entries; i += 32 {
				// A proposal that times out while a loaded machine
				// elects a leader is sent again: the test counts log
				// entries, not messages, so one applied twice is fine.
				err := testwait.Poll(ctx, testwait.Timeout, func() error {
					res, err := leader.Propose(ctx, &raftfsm.PostMessage{Author: "writer", Text: "m" + strconv.Itoa(i), PubDate: 1})
					if err == nil {
						err = res.Err
					}
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// The entries the follower lacks are gone from the leader's log: only a
	// snapshot can bring it up to date.
	snap, _ := strconv.ParseUint(leader.RaftStatsForTest()["last_snapshot_index"], 10, 64)
	if snap < stoppedAt+uint64(cfg.Raft.TrailingLogs)+1 {
		t.Fatalf("the leader's log still holds what the follower needs (snapshot %d, follower at %d)", snap, stoppedAt)
	}
	back := nodetest.Start(t, web, cfg)
	waitSame(t, []*node.Node{leader, rest[1], back})
	if !nodetest.ReadUser(t, back, "writer") {
		t.Fatal("the caught-up follower does not serve the data")
	}
}
