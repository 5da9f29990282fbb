package node_test

import (
	"context"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
)

// messagesOf counts the messages of user on n, in a linearizable read.
func messagesOf(t *testing.T, n *node.Node, user string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	st, err := n.ReadStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return countMessages(t, st, user)
}

// TestRetriedWriteIsAppliedOnce: a write sent again with its request ID
// after an unknown outcome is answered with the first attempt's result and
// applied once: through another node, on the leader itself, and after the
// leader that applied it crashed. A retry of a write that never got through
// is applied.
func TestRetriedWriteIsAppliedOnce(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	register(t, nodes[0], "alice")
	leader, rest := leaderOf(t, nodes)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	post := &raftfsm.PostMessage{Author: "alice", Text: "once", PubDate: 1}
	id := raftfsm.RequestID{1, 2, 3}
	first, err := rest[0].ProposeForTest(ctx, id, post, false)
	if err != nil || first.Err != nil || first.ID == 0 {
		t.Fatalf("first attempt: %+v, %v", first, err)
	}
	for _, via := range []*node.Node{rest[1], leader, rest[0]} {
		again, err := via.ProposeForTest(ctx, id, post, true)
		if err != nil || again != first {
			t.Fatalf("retry via %s: %+v, %v; want %+v", via.ID(), again, err, first)
		}
	}
	if got := messagesOf(t, leader, "alice"); got != 1 {
		t.Fatalf("%d messages after retries, want 1", got)
	}

	// The leader that applied it crashes; the next leader remembers it too.
	leader.CrashForTest()
	again, err := rest[0].ProposeForTest(ctx, id, post, true)
	if err != nil || again != first {
		t.Fatalf("retry after the leader crashed: %+v, %v; want %+v", again, err, first)
	}
	if got := messagesOf(t, rest[1], "alice"); got != 1 {
		t.Fatalf("%d messages after a retry on the new leader, want 1", got)
	}

	// A retry whose first attempt never got through is applied, once.
	lost := raftfsm.RequestID{9, 9, 9}
	res, err := rest[1].ProposeForTest(ctx, lost, &raftfsm.PostMessage{Author: "alice", Text: "lost", PubDate: 2}, true)
	if err != nil || res.Err != nil || res.ID == first.ID {
		t.Fatalf("retry of a write never applied: %+v, %v", res, err)
	}
	if got := messagesOf(t, rest[0], "alice"); got != 2 {
		t.Fatalf("%d messages, want 2", got)
	}
}
