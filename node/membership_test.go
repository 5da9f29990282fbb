package node_test

import (
	"context"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
)

// TestJoinerIsANonVoterUntilReady: a joining node enters the cluster as a
// non-voter and stays one while it does not report ready; once it does,
// the leader promotes it. A joiner that dies while a non-voter costs the
// cluster nothing: the voters keep writing.
func TestJoinerIsANonVoterUntilReady(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 1)
	leader := nodes[0]

	held := startHeld(t, "node2", leader.RaftAddr())
	if !held.Status().Ready {
		t.Fatalf("the joiner is not serving: %+v", held.Status())
	}
	// Ten promotion rounds at least: it stays a non-voter.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if held.IsVoter() {
			t.Fatal("a joiner that does not report ready was made a voter")
		}
	}
	register(t, held, "through a non-voter")
	held.ReleaseForTest()
	testwait.Within(10*time.Second).Until(t, "node2 promoted to voter", held.IsVoter)
	if !nodetest.ReadUser(t, leader, "through a non-voter") {
		t.Fatal("a write through the non-voter was lost")
	}

	// A second joiner that dies before it is ready: the two voters write on.
	doomed := startHeld(t, "node3", leader.RaftAddr())
	doomed.CrashForTest()
	register(t, leader, "after the failed joiner")
	if !nodetest.ReadUser(t, held, "after the failed joiner") {
		t.Fatal("the voters do not serve writes after a failed join")
	}
}

// startHeld starts a node that joins via member and reports itself not
// ready to vote until released.
func startHeld(t *testing.T, id, member string) *node.Node {
	t.Helper()
	cfg := nodetest.Config(t.TempDir())
	cfg.NodeID, cfg.JoinToken, cfg.Join = id, nodetest.ClusterToken, []string{member}
	n, err := node.StartHeldForTest(cfg, node.Options{Logger: nodetest.Logger(), Handler: web})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Close(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if n.IsVoter() {
		t.Fatalf("%s joined as a voter", id)
	}
	return n
}
