package node_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/raftfsm"
	"minitwit/store"
)

// TestDataDirPreparedOfflineCarriesStateNotIdentity: commands applied to a
// data dir that was never served land in its data file only; the first
// serve adopts that file under its own node id; once served, the dir's
// commands go through its node (and its log), which keeps its id.
func TestDataDirPreparedOfflineCarriesStateNotIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	cfg := nodetest.Config(dir)
	cfg.NodeID = "offline-default"
	ctx := context.Background()
	register := func(name string) error {
		return node.WithDataDir(ctx, cfg, nodetest.Logger(), func(p node.Proposer) error {
			res, err := p.Propose(ctx, &raftfsm.Register{Username: name, Email: name + "@x", PasswordHash: "x"})
			if err == nil {
				err = res.Err
			}
			return err
		})
	}
	if err := register("seeded"); err != nil {
		t.Fatal(err)
	}
	if err := register("seeded"); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("registering the same name again offline: %v, want name taken", err)
	}
	for _, name := range []string{"node-id", "raft"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the offline command left %s (%v)", name, err)
		}
	}

	cfg.NodeID = "served"
	n := nodetest.StartWith(t, cfg, node.Options{})
	if n.ID() != "served" || !nodetest.ReadUser(t, n, "seeded") {
		t.Fatalf("after the first serve: node id %q, user applied offline there: %v", n.ID(), nodetest.ReadUser(t, n, "seeded"))
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Served once: the dir's own node applies the command (through its
	// log), under its recorded id (the default id counts as unset).
	cfg.NodeID = config.Default().NodeID
	if err := register("later"); err != nil {
		t.Fatal(err)
	}
	cfg.NodeID = "served"
	n = nodetest.StartWith(t, cfg, node.Options{})
	if !nodetest.ReadUser(t, n, "later") || !nodetest.ReadUser(t, n, "seeded") {
		t.Fatal("a user is missing after the offline command on the served dir")
	}
}
