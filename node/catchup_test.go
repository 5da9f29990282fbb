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
// same data. Under -short (make test-short) they write 6,000 with an
// eighth of the snapshot threshold and trailing log: the same margin, in
// thresholds, over what the check below (only a snapshot can bring the
// follower up to date) needs.
func TestFollowerFarBehindCatchesUpBySnapshot(t *testing.T) {
	t.Parallel()
	entries, threshold, trailing := 50_000, uint64(2048), uint64(512)
	if testing.Short() {
		entries, threshold, trailing = 6_000, 256, 64
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
