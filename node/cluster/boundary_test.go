package cluster_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/cluster"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/store"
)

// TestMembershipIsTheBoundary: only the nodes in the configuration reach
// the internode port, whatever certificate of the cluster CA they hold.
//   - A certificate of the CA whose node id is not in the configuration is
//     refused by every route of every member, and its Raft connections
//     are closed.
//   - A raw join client that proves the token and never starts Raft shows
//     in the configuration (`cluster status`) at once, as a non-voter; the
//     leader removes it after the joiner bound, after which its
//     certificate opens nothing on any member.
//     When the same id joins again, its new certificate opens the port and
//     the old one stays refused (revoked in the replicated state).
//   - A removed member's certificate is refused by every remaining member.
func TestMembershipIsTheBoundary(t *testing.T) {
	const bound = 2 * time.Second
	nodes := startMembersWithJoinerBound(t, bound)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	refusedEverywhere := func(who string, c *cluster.Client, members []*node.Node) {
		t.Helper()
		for _, n := range members {
			for _, rt := range cluster.RoutesForTest() {
				code, err := c.CallForTest(ctx, rt[0], n.RaftAddr(), rt[1])
				if err != nil || code != "not_member" {
					t.Errorf("%s: %s %s on %s answered code %q (err %v), want not_member", who, rt[0], rt[1], n.ID(), code, err)
				}
			}
		}
	}

	// A certificate of the CA for a node id that is not a member.
	stranger := certificateOfTheCA(t, nodes[0], "stranger")
	refusedEverywhere("a CA certificate for a non-member", cluster.ClientForTest(stranger), nodes)
	for _, n := range nodes {
		if open, err := cluster.RaftKeptOpenForTest(ctx, stranger, n.RaftAddr()); err != nil || open {
			t.Errorf("a Raft connection with a non-member's certificate to %s: kept open %v (err %v)", n.ID(), open, err)
		}
	}

	// A raw join client: proves the token, never starts Raft.
	drifter, _, err := cluster.JoinKeepForTest(ctx, nodes[1].RaftAddr(), nodetest.ClusterToken, "drifter")
	if err != nil {
		t.Fatal(err)
	}
	leader := leaderOf(t, nodes)
	admin, err := cluster.NewClient(leader.DataDir())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := admin.Members(ctx, leader.RaftAddr())
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(rep.Members, func(m cluster.Member) bool { return m.ID == "drifter" }); i < 0 || rep.Members[i].Voter {
		t.Fatalf("right after proving the token the joiner is not a non-voter in the configuration: %+v", rep.Members)
	}
	if code, err := drifter.CallForTest(ctx, "GET", leader.RaftAddr(), "/status"); err != nil || code != "" {
		t.Fatalf("the joiner, while a member, was refused: code %q, err %v", code, err)
	}
	testwait.Within(bound+30*time.Second).Until(t, "the leader to remove the joiner that never came up", func() bool {
		for _, n := range nodes {
			if _, ok := n.Members()["drifter"]; ok {
				return false
			}
		}
		return true
	})
	refusedEverywhere("the removed joiner", drifter, nodes)

	// The same id joins again: its new certificate opens the port, the old
	// one stays refused (the removal revoked it in the replicated state).
	again, _, err := cluster.JoinKeepForTest(ctx, nodes[1].RaftAddr(), nodetest.ClusterToken, "drifter")
	if err != nil {
		t.Fatal(err)
	}
	leader = leaderOf(t, nodes)
	if code, err := again.CallForTest(ctx, "GET", leader.RaftAddr(), "/status"); err != nil || code != "" {
		t.Fatalf("the id joined again, with a new certificate, was refused: code %q, err %v", code, err)
	}
	for _, n := range nodes {
		testwait.Until(t, "the old certificate of the id added again to be refused by "+n.ID(), func() bool {
			if _, ok := leaderOf(t, nodes).Members()["drifter"]; !ok {
				// The joiner bound (2 s) removed it again before this
				// member was asked, as it may on a loaded machine: add
				// it once more, so the old certificate is asked about
				// while its id is a member.
				if _, _, err := cluster.JoinKeepForTest(ctx, nodes[1].RaftAddr(), nodetest.ClusterToken, "drifter"); err != nil {
					t.Logf("joining again: %v", err)
				}
				return false
			}
			_, member := n.Members()["drifter"]
			code, err := drifter.CallForTest(ctx, "GET", n.RaftAddr(), "/status")
			return member && err == nil && code == "not_member"
		})
	}

	// A member removed: every remaining member refuses its certificate.
	gone := nodes[2]
	if err := nodes[0].RemoveMember(ctx, gone.ID()); err != nil {
		t.Fatal(err)
	}
	rest := nodes[:2]
	testwait.Until(t, "every remaining member to have the removal", func() bool {
		for _, n := range rest {
			if _, ok := n.Members()[gone.ID()]; ok {
				return false
			}
		}
		return true
	})
	removed, err := cluster.NewClient(gone.DataDir())
	if err != nil {
		t.Fatal(err)
	}
	refusedEverywhere("a removed member", removed, rest)
}

func leaderOf(t *testing.T, nodes []*node.Node) *node.Node {
	t.Helper()
	var leader *node.Node
	testwait.Until(t, "a leader", func() bool {
		for _, n := range nodes {
			if n.Status().Role == "leader" {
				leader = n
				return true
			}
		}
		return false
	})
	return leader
}

// startMembersWithJoinerBound starts three members (node1 bootstraps, the
// others join it; no web layer) whose leader removes a joiner that has
// not come up within bound.
func startMembersWithJoinerBound(t *testing.T, bound time.Duration) []*node.Node {
	t.Helper()
	var nodes []*node.Node
	for i := range 3 {
		cfg := nodetest.Config(t.TempDir())
		cfg.NodeID, cfg.JoinToken = fmt.Sprintf("node%d", i+1), nodetest.ClusterToken
		if i > 0 {
			cfg.Join = []string{nodes[0].RaftAddr()}
		}
		nodes = append(nodes, nodetest.StartWith(t, cfg, node.Options{JoinerBound: bound}))
	}
	return nodes
}

// certificateOfTheCA issues, with the cluster CA that member holds, a
// certificate and key for id, whether or not id is a member: what a
// removed node or a joiner past its bound still holds.
func certificateOfTheCA(t *testing.T, member *node.Node, id string) *cluster.TLS {
	t.Helper()
	var sec store.ClusterSecrets
	if err := member.LocalStore().View(func(tx *store.ReadTx) error { sec = tx.Secrets(); return nil }); err != nil {
		t.Fatal(err)
	}
	ca, err := cluster.ParseCA(sec.CACert, sec.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	key, keyPEM, err := cluster.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.Issue(id, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := cluster.MakeTLS(ca.CertPEM(), certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return stranger
}

// TestJoinerBoundOutlivesLeaderChanges: a raw join client that proves the
// token and never starts Raft is removed after the joiner bound even when
// the leader changes more often than the bound. (Found in the attack
// review: each new leader started the bound again, so on a loaded machine,
// where the leader changed several times a second, the joiner stayed a
// member, with its certificate, for good.)
func TestJoinerBoundOutlivesLeaderChanges(t *testing.T) {
	const bound = 3 * time.Second
	nodes := startMembersWithJoinerBound(t, bound)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	if _, _, err := cluster.JoinKeepForTest(ctx, nodes[1].RaftAddr(), nodetest.ClusterToken, "drifter"); err != nil {
		t.Fatal(err)
	}
	admin, err := cluster.NewClient(nodes[0].DataDir())
	if err != nil {
		t.Fatal(err)
	}
	gone := func() bool {
		for _, n := range nodes {
			if _, ok := n.Members()["drifter"]; ok {
				return false
			}
		}
		return true
	}
	// Hand leadership over every bound/6 until the joiner is gone: no
	// leader holds it for a whole bound (unless transfers fail), and the
	// removal must come well before one leader happens to.
	transfers, last := 0, time.Time{}
	testwait.Within(bound+15*time.Second).Until(t, "the joiner that never came up to be removed while the leader keeps changing", func() bool {
		if gone() {
			return true
		}
		if time.Since(last) >= bound/6 {
			last = time.Now()
			if _, err := admin.Transfer(ctx, nodes[0].RaftAddr(), ""); err == nil {
				transfers++
			}
		}
		return false
	})
	t.Logf("removed after %d leadership transfers", transfers)
	if transfers < 3 {
		t.Fatalf("only %d leadership transfers happened before the removal: the test did not change the leader faster than the bound", transfers)
	}
}

// TestJoinCannotTakeAVotersID: a join under the id of a voter is refused
// with a clear reason and changes nothing (the voter keeps its address and
// its place; no certificate naming it is issued), through the leader and
// through a follower. A non-voter's id may be joined again (a joiner
// retrying). (Attack review: a joiner with the token and the id "n3" moved
// the voter n3 to its own address, silently, and got a certificate for it.)
func TestJoinCannotTakeAVotersID(t *testing.T) {
	nodes := nodetest.StartCluster(t, nil, 2)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	for _, n := range nodes {
		testwait.Until(t, n.ID()+" to be a voter", n.IsVoter)
	}
	before := nodes[0].Members()
	for _, via := range nodes {
		for _, victim := range nodes {
			err := cluster.JoinAttemptForTest(ctx, via.RaftAddr(), nodetest.ClusterToken, victim.ID())
			if err == nil || !strings.Contains(err.Error(), "already a voting member") {
				t.Errorf("a join as %s through %s: %v, want a refusal naming the voter", victim.ID(), via.ID(), err)
			}
		}
	}
	for _, n := range nodes {
		if got := n.Members(); !maps.Equal(got, before) {
			t.Errorf("%s's configuration changed: %v, was %v", n.ID(), got, before)
		}
	}
	// A non-voter's id joins again.
	for i := range 2 {
		if err := cluster.JoinAttemptForTest(ctx, nodes[1].RaftAddr(), nodetest.ClusterToken, "retrying"); err != nil {
			t.Fatalf("join %d of a non-voter's id: %v", i+1, err)
		}
	}
}
