package httpuitest_test

import (
	"context"
	"errors"
	"testing"

	"minitwit/httpui/httpuitest"
	"minitwit/node/config"
	"minitwit/raftfsm"
	"minitwit/store"
)

func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.NodeID = "fake"
	cfg.Admin.Password = "a-password-for-the-fake"
	return cfg
}

// TestNodeStartsAsAReadyNode: the secrets and the first admin are there,
// and proposals go through the state machine, refusals included.
func TestNodeStartsAsAReadyNode(t *testing.T) {
	n := httpuitest.New(t, testConfig(t))
	if st := n.Status(); !st.Ready || st.Role != "leader" || st.Leader != "fake" || st.AppliedIndex < 2 {
		t.Errorf("status %+v, want a ready leader with the secrets and the admin applied", st)
	}
	ctx := context.Background()
	res, err := n.Propose(ctx, &raftfsm.Register{Username: "ann", Email: "ann@example.com", PasswordHash: "$h$"})
	if err != nil || res.Err != nil || res.ID == 0 {
		t.Fatalf("register: %+v %v", res, err)
	}
	res, err = n.Propose(ctx, &raftfsm.Register{Username: "ann", Email: "ann@example.com", PasswordHash: "$h$"})
	if err != nil || !errors.Is(res.Err, store.ErrNameTaken) {
		t.Fatalf("second register: %+v %v, want the store's ErrNameTaken", res, err)
	}
	st, err := n.ReadStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var c store.Counts
	var key []byte
	if err := st.View(func(tx *store.ReadTx) error { c, key = tx.Counts(), tx.SessionKey(); return nil }); err != nil {
		t.Fatal(err)
	}
	if c.Users != 2 || c.Admins != 1 || len(key) == 0 {
		t.Errorf("counts %+v, session key %d bytes; want ann and the admin, and a key", c, len(key))
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := n.Propose(done, &raftfsm.SetLatest{Latest: raftfsm.LatestOf(1)}); err == nil {
		t.Error("a proposal with its context done was applied")
	}
}
