package node_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
	"minitwit/store"
)

// TestFormatGateDuringRollingUpgrade: while a member reads only older
// command formats, no node proposes a newer one (from the leader, through
// a follower, or through a tool), so the older member never meets an entry
// it cannot apply; older formats go on working; once the member "upgrades"
// the newer commands go through.
func TestFormatGateDuringRollingUpgrade(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	old := nodes[2]
	old.PlayOlderBinaryForTest(raftfsm.ReleasedFormat)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	register := &raftfsm.Register{Username: "someone", PasswordHash: "h"}
	if res, err := nodes[1].Propose(ctx, register); err != nil || res.Err != nil {
		t.Fatalf("an old-format command during the upgrade: %v %v", err, res.Err)
	}
	grant := &raftfsm.SetAdmin{User: "someone", Admin: true}
	for _, n := range nodes[:2] { // the leader, and a follower forwarding
		_, err := n.Propose(ctx, grant)
		if !errors.Is(err, raftfsm.ErrOlderMembers) || !strings.Contains(err.Error(), old.ID()) {
			t.Errorf("%s proposed a format-3 command while %s reads format 2: %v", n.ID(), old.ID(), err)
		}
	}
	client := nodetest.ClusterClient(t, nodes[0])
	_, err := client.Proposer(nodes[1].RaftAddr()).Propose(ctx, grant)
	if err == nil || !strings.Contains(err.Error(), "older MiniTwit") {
		t.Errorf("a tool proposed a format-3 command while %s reads format 2: %v", old.ID(), err)
	}
	var u store.User
	nodes[0].Store().View(func(tx *store.ReadTx) error { u, _ = tx.UserByName("someone"); return nil })
	if u.Admin {
		t.Fatal("the refused grant was applied")
	}

	old.PlayOlderBinaryForTest(raftfsm.FormatVersion) // the last node is upgraded
	if res, err := client.Proposer(nodes[1].RaftAddr()).Propose(ctx, grant); err != nil || res.Err != nil {
		t.Fatalf("the grant after the upgrade: %v %v", err, res.Err)
	}
	st, err := old.ReadStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.View(func(tx *store.ReadTx) error { u, _ = tx.UserByName("someone"); return nil })
	if !u.Admin {
		t.Error("the grant did not reach the upgraded member")
	}
}

// TestFormatGateRefusalByTheLeaderIsNotRetried: a follower whose own gate
// passes (a stale confirmation) forwards a newer command to a leader whose
// gate refuses it. The refusal comes back as such, an ErrOlderMembers: it
// used to share its status with "outcome unknown, retry", so the follower
// retried it until the caller's deadline.
func TestFormatGateRefusalByTheLeaderIsNotRetried(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := nodes[0].Propose(ctx, &raftfsm.Register{Username: "someone", PasswordHash: "h"}); err != nil || res.Err != nil {
		t.Fatalf("register: %v %v", err, res.Err)
	}
	// Two followers: one plays an older member, the other's gate holds a
	// stale confirmation.
	_, rest := leaderOf(t, nodes)
	follower, old := rest[0], rest[1]
	old.PlayOlderBinaryForTest(raftfsm.ReleasedFormat)
	follower.ConfirmFormatForTest(ctx, raftfsm.FormatVersion)

	_, err := follower.Propose(ctx, &raftfsm.SetAdmin{User: "someone", Admin: true})
	if !errors.Is(err, raftfsm.ErrOlderMembers) || !strings.Contains(err.Error(), old.ID()) {
		t.Fatalf("a grant refused by the leader's format gate: %v (ctx: %v)", err, ctx.Err())
	}
	var u store.User
	for _, n := range nodes {
		n.Store().View(func(tx *store.ReadTx) error { u, _ = tx.UserByName("someone"); return nil })
		if u.Admin {
			t.Fatalf("the refused grant was applied on %s", n.ID())
		}
	}
}

// TestFormatGatePassesOnTheFloorWithAMemberDown: once the log holds a
// command of a format (FoldNames, format 5, proposed at the cluster's
// start), a member that cannot be asked no longer holds up commands of
// that format or older: a sign-out (EndSessions, format 4, which no gate
// on these nodes has confirmed yet) ends the user's sessions with a member
// down. It used to fail on every node until the member was back, leaving
// the signed-out session valid.
func TestFormatGatePassesOnTheFloorWithAMemberDown(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	floor := func(n *node.Node) (f byte) {
		n.Store().View(func(tx *store.ReadTx) error { f = tx.FormatFloor(); return nil })
		return f
	}
	testwait.Until(t, "every replica's format floor at 5 (FoldNames applied)", func() bool {
		for _, n := range nodes {
			if floor(n) < 5 {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := nodes[0].Propose(ctx, &raftfsm.Register{Username: "someone", PasswordHash: "h"}); err != nil || res.Err != nil {
		t.Fatalf("register: %v %v", err, res.Err)
	}
	leader, rest := leaderOf(t, nodes)
	down, up := rest[1], rest[0]
	down.CrashForTest()
	for _, n := range []*node.Node{leader, up} {
		if res, err := n.Propose(ctx, &raftfsm.EndSessions{User: "someone"}); err != nil || res.Err != nil {
			t.Fatalf("a sign-out through %s with %s down: %v %v", n.ID(), down.ID(), err, res.Err)
		}
	}
}
