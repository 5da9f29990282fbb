package node_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
)

func TestClusterAdministration(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	c := nodetest.ClusterClient(t, nodes[1])
	ctx, cancel := context.WithTimeout(context.Background(), 2*testwait.Timeout)
	defer cancel()
	addr := nodes[1].RaftAddr()

	// Ready needs a leader, which a loaded machine may be electing anew.
	testwait.UntilNil(t, "node2's members report with a leader", func() error {
		rep, err := c.Members(ctx, addr)
		if err != nil || len(rep.Members) != 3 || rep.Self.NodeID != "node2" || !rep.Ready {
			return fmt.Errorf("members: %+v %v", rep, err)
		}
		return nil
	})
	if token, err := c.Token(ctx, addr); err != nil || token != nodetest.ClusterToken {
		t.Fatalf("token: %q %v", token, err)
	}
	// Leadership may move on its own while the transfer is on its way
	// (elections come easily on a loaded machine): "not the leader" or a
	// target that leads already; and Raft gives up a transfer the target
	// does not take within an election timeout (50 ms), which a stalled
	// process misses. Then look again and ask again.
	var leader *node.Node
	var target string
	testwait.UntilNil(t, "a leadership transfer", func() error {
		leader, _ = leaderOf(t, nodes)
		target = "node3"
		if leader.ID() == "node3" {
			target = "node1"
		}
		got, err := c.Transfer(ctx, addr, target)
		switch {
		case err != nil && (strings.Contains(err.Error(), "not the leader") || strings.Contains(err.Error(), "to itself") ||
			strings.Contains(err.Error(), "leadership transfer timeout")):
			return err
		case err != nil || got != target:
			t.Fatalf("transfer to %s: %q %v", target, got, err)
		}
		return nil
	})
	testwait.UntilNil(t, "the leader to be "+target+" after the transfer", func() error {
		if now, _ := leaderOf(t, nodes); now.ID() != target {
			return fmt.Errorf("the leader is %s", now.ID())
		}
		return nil
	})
	testwait.UntilNil(t, "removing node1", func() error {
		err := c.Remove(ctx, addr, "node1")
		switch {
		case err != nil && strings.Contains(err.Error(), "not the leader"):
			return err // leadership moved meanwhile, as above
		case err != nil && leader.ID() != "node1":
			t.Fatal(err)
		}
		return nil
	})
	if _, err := node.NewClusterClient(t.TempDir()); err == nil {
		t.Fatal("a client without a node certificate must not be made")
	}
}
