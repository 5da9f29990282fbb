package node_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"minitwit/node/nodetest"
)

// TestLostQuorumRecoversWithPeersJSON: two of three nodes are gone for
// good; the survivor, given a peers.json naming only itself, starts as a
// one-node cluster with all its data and takes writes again; the file is
// used once.
func TestLostQuorumRecoversWithPeersJSON(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	register(t, nodes[1], "before the loss")
	waitSame(t, nodes)
	survivor := nodes[2]
	cfg := survivor.ConfigForTest()
	for _, n := range nodes {
		closeNode(t, n)
	}
	// The survivor comes back on a known port, named in peers.json.
	cfg.RaftAddr = nodetest.FreeAddr(t)
	peers := filepath.Join(cfg.DataDir, "raft", "peers.json")
	if err := os.WriteFile(peers, []byte(fmt.Sprintf(`[{"id": %q, "address": %q, "non_voter": false}]`, cfg.NodeID, cfg.RaftAddr)), 0o600); err != nil {
		t.Fatal(err)
	}
	back := nodetest.Start(t, web, cfg) // waits until it is ready: a leader again
	if !nodetest.ReadUser(t, back, "before the loss") {
		t.Fatal("the recovered node lost data")
	}
	register(t, back, "after the recovery")
	if len(back.Members()) != 1 {
		t.Fatalf("members after the recovery: %v", back.Members())
	}
	if _, err := os.Stat(peers); !os.IsNotExist(err) {
		t.Fatal("peers.json is still there: it would be applied again at the next start")
	}
}
