package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/node/nodetest/faultnet"
	"minitwit/raftfsm"
	"minitwit/store"
)

// leaderAmong waits until the nodes agree on a leader among them and
// returns it.
func leaderAmong(t *testing.T, nodes []*node.Node, within time.Duration) *node.Node {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var leader *node.Node
		agreed := true
		for _, n := range nodes {
			st := n.Status()
			if st.Role == "leader" && st.Leader == n.ID() {
				leader = n
			}
			if st.Leader == "" {
				agreed = false
			}
		}
		if leader != nil && agreed {
			for _, n := range nodes {
				agreed = agreed && n.Status().Leader == leader.ID()
			}
			if agreed {
				return leader
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no leader agreed on among %d nodes within %v", len(nodes), within)
	return nil
}

func without(nodes []*node.Node, drop *node.Node) []*node.Node {
	var out []*node.Node
	for _, n := range nodes {
		if n != drop {
			out = append(out, n)
		}
	}
	return out
}

// TestForwardedRequestsFollowANewLeader: a follower whose leader is cut off
// sends its forwarded write and its read index to the leader the others
// elect, instead of waiting for the old one until the caller gives up. The
// write is applied once, and the cut-off leader acknowledges nothing and
// serves no read meanwhile.
func TestForwardedRequestsFollowANewLeader(t *testing.T) {
	t.Parallel()
	fn := faultnet.New()
	nodes := nodetest.StartClusterOn(t, web, 3, fn)
	registerPatiently(t, nodes[0], "alice")
	old := leaderAmong(t, nodes, 30*time.Second)
	rest := without(nodes, old)
	via := rest[0]

	// Cut the leader off while the follower still takes it for the leader:
	// the first attempt goes to it and stalls.
	fn.Isolate(old.ID())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	started := time.Now()
	post := &raftfsm.PostMessage{Author: "alice", Text: "after the cut", PubDate: 1}
	res, err := via.ProposeForTest(ctx, raftfsm.RequestID{7, 7, 7}, post, false)
	if err != nil || res.Err != nil {
		t.Fatalf("forwarded write with the leader cut off: %+v, %v", res, err)
	}
	t.Logf("forwarded write acknowledged %v after the cut", time.Since(started).Round(time.Millisecond))
	started = time.Now()
	st, err := rest[1].ReadStore(ctx)
	if err != nil {
		t.Fatalf("read on a follower with the leader cut off: %v", err)
	}
	t.Logf("read index answered %v later", time.Since(started).Round(time.Millisecond))
	if got := countMessages(t, st, "alice"); got != 1 {
		t.Fatalf("%d messages on %s, want 1", got, rest[1].ID())
	}

	// The cut-off node acknowledges no write and serves no read.
	short, cancelShort := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShort()
	if _, err := old.Propose(short, &raftfsm.PostMessage{Author: "alice", Text: "lost", PubDate: 2}); !errors.Is(err, node.ErrUnavailable) {
		t.Errorf("write on the cut-off leader: %v, want ErrUnavailable", err)
	}
	if st, err := old.ReadStore(short); err == nil {
		t.Errorf("read on the cut-off leader served (%d messages)", countMessages(t, st, "alice"))
	}

	healed := time.Now()
	fn.HealAll()
	waitSameWithin(t, nodes, 60*time.Second)
	t.Logf("converged %v after healing", time.Since(healed).Round(time.Millisecond))
	for _, n := range nodes {
		if got := countMessages(t, n.LocalStore(), "alice"); got != 1 {
			t.Errorf("%d messages on %s after healing, want 1", got, n.ID())
		}
	}
}

// countMessages counts the messages of user (up to 100) in st as it stands.
func countMessages(t *testing.T, st *store.Store, user string) int {
	t.Helper()
	count := 0
	err := st.View(func(r *store.ReadTx) error {
		u, err := r.UserByName(user)
		if err != nil {
			return err
		}
		page, err := r.UserTimeline(u.ID, store.Page{Limit: 100})
		count = len(page.Messages)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return count
}
