package node_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/store"
)

// TestFirstStartFailedMidwayRecovers: a first start that fails after Raft
// was set up (its HTTP port is taken) leaves a data dir whose next start
// completes the cluster's secrets, CA included, so another node can join.
// It used to propose "initialised cluster secrets" every second forever,
// without the CA, whose key had died with the failed process.
func TestFirstStartFailedMidwayRecovers(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := nodetest.Config(t.TempDir())
	cfg.NodeID, cfg.JoinToken = "node1", nodetest.ClusterToken
	cfg.HTTPAddr = taken.Addr().String()
	if _, err := node.Start(cfg, node.Options{Logger: nodetest.Logger()}); err == nil || !strings.Contains(err.Error(), "http_addr") {
		t.Fatalf("a first start on a taken HTTP port: err = %v", err)
	}

	cfg.HTTPAddr = "127.0.0.1:0"
	n1 := nodetest.Start(t, cfg)
	waitFor(t, 10*time.Second, "the cluster CA in the replicated state", func() bool {
		var sec store.ClusterSecrets
		n1.LocalStore().View(func(r *store.ReadTx) error { sec = r.Secrets(); return nil })
		return len(sec.CACert) > 0 && len(sec.CAKey) > 0 && len(sec.JoinToken) > 0
	})
	// The CA key kept on disk for this case goes once the cluster has it.
	waitFor(t, 10*time.Second, "the pending CA key removed", func() bool {
		_, err := os.Stat(filepath.Join(cfg.DataDir, "tls", "ca-pending.key"))
		return os.IsNotExist(err)
	})
	cfg2 := nodetest.Config(t.TempDir())
	cfg2.NodeID, cfg2.JoinToken, cfg2.Join = "node2", nodetest.ClusterToken, []string{n1.RaftAddr()}
	n2 := nodetest.Start(t, cfg2)
	register(t, n2, "after recovery")
	if !readUser(t, n1, "after recovery") {
		t.Fatal("a write through the joined node is not visible on the recovered one")
	}
}
