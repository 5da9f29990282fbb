package node_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/store"
)

// TestFirstStartFailedMidwayRecovers: a first start that fails after Raft
// was set up (the public TLS certificate in the data dir is unreadable)
// leaves a data dir whose next start completes the cluster's secrets, CA
// included, so another node can join. It used to propose "initialised
// cluster secrets" every second forever, without the CA, whose key had
// died with the failed process.
func TestFirstStartFailedMidwayRecovers(t *testing.T) {
	t.Parallel()
	cfg := nodetest.Config(t.TempDir())
	cfg.NodeID, cfg.JoinToken = "node1", nodetest.ClusterToken
	cfg.TLS.Mode = config.TLSSelfSigned
	garbage := []string{filepath.Join(cfg.DataDir, "tls", "self-signed.crt"), filepath.Join(cfg.DataDir, "tls", "self-signed.key")}
	if err := os.MkdirAll(filepath.Dir(garbage[0]), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range garbage {
		if err := os.WriteFile(p, []byte("not PEM"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := node.Start(cfg, node.Options{Logger: nodetest.Logger()}); err == nil || !strings.Contains(err.Error(), "self-signed") {
		t.Fatalf("a first start with an unreadable certificate: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "raft", "raft.db")); err != nil {
		t.Fatalf("the failed start did not get as far as Raft: %v", err)
	}
	for _, p := range garbage {
		os.Remove(p)
	}
	cfg.TLS.Mode = config.TLSOff

	n1 := nodetest.Start(t, web, cfg)
	testwait.Within(10*time.Second).Until(t, "the cluster CA in the replicated state", func() bool {
		var sec store.ClusterSecrets
		n1.LocalStore().View(func(r *store.ReadTx) error { sec = r.Secrets(); return nil })
		return len(sec.CACert) > 0 && len(sec.CAKey) > 0 && len(sec.JoinToken) > 0
	})
	// The CA key kept on disk for this case goes once the cluster has it.
	testwait.Within(10*time.Second).Until(t, "the pending CA key removed", func() bool {
		_, err := os.Stat(filepath.Join(cfg.DataDir, "tls", "ca-pending.key"))
		return os.IsNotExist(err)
	})
	cfg2 := nodetest.Config(t.TempDir())
	cfg2.NodeID, cfg2.JoinToken, cfg2.Join = "node2", nodetest.ClusterToken, []string{n1.RaftAddr()}
	n2 := nodetest.Start(t, web, cfg2)
	register(t, n2, "after recovery")
	if !nodetest.ReadUser(t, n1, "after recovery") {
		t.Fatal("a write through the joined node is not visible on the recovered one")
	}
}
