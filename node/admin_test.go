package node_test

import (
	"context"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
)

func TestClusterAdministration(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	c, err := node.NewClusterClient(nodes[1].DataDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := nodes[1].RaftAddr()

	rep, err := c.Members(ctx, addr)
	if err != nil || len(rep.Members) != 3 || rep.Self.NodeID != "node2" || !rep.Ready {
		t.Fatalf("members: %+v %v", rep, err)
	}
	if token, err := c.Token(ctx, addr); err != nil || token != nodetest.ClusterToken {
		t.Fatalf("token: %q %v", token, err)
	}
	leader, _ := leaderOf(t, nodes)
	target := "node3"
	if leader.ID() == "node3" {
		target = "node1"
	}
	if got, err := c.Transfer(ctx, addr, target); err != nil || got != target {
		t.Fatalf("transfer to %s: %q %v", target, got, err)
	}
	if now, _ := leaderOf(t, nodes); now.ID() != target {
		t.Fatalf("leader is %s after a transfer to %s", now.ID(), target)
	}
	if err := c.Remove(ctx, addr, "node1"); err != nil && leader.ID() != "node1" {
		t.Fatal(err)
	}
	if _, err := node.NewClusterClient(t.TempDir()); err == nil {
		t.Fatal("a client without a node certificate must not be made")
	}
}
