package node_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/store"
)

func readUser(t *testing.T, n *node.Node, name string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := n.ReadStore(ctx)
	if err != nil {
		t.Fatalf("read on %s: %v", n.ID(), err)
	}
	found := false
	st.View(func(r *store.ReadTx) error { _, err := r.UserByName(name); found = err == nil; return nil })
	return found
}

func register(t *testing.T, n *node.Node, name string) {
	t.Helper()
	if s := apiPost(t, "http://"+n.HTTPAddr(), "/register", map[string]string{"username": name, "email": "x@y", "pwd": "p"}); s != 204 {
		t.Fatalf("register %s via %s: %d", name, n.ID(), s)
	}
}

func leaderOf(t *testing.T, nodes []*node.Node) (*node.Node, []*node.Node) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i, n := range nodes {
			if n.Status().Role == "leader" {
				rest := append(append([]*node.Node{}, nodes[:i]...), nodes[i+1:]...)
				return n, rest
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no leader")
	return nil, nil
}

// waitSame waits until every node's store has the same digest.
func waitSame(t *testing.T, nodes []*node.Node) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		want, same := digest(t, nodes[0]), true
		for _, n := range nodes[1:] {
			same = same && digest(t, n) == want
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("nodes did not converge to the same state")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClusterJoinForwardAndReadYourWrites(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	// Writes through every node, each read back at once through every node.
	for i, n := range nodes {
		name := fmt.Sprintf("user %d", i)
		register(t, n, name)
		for _, m := range nodes {
			if !readUser(t, m, name) {
				t.Fatalf("user registered via %s not visible on %s", n.ID(), m.ID())
			}
		}
	}
	waitSame(t, nodes)
	for _, n := range nodes {
		if st := n.Status(); !st.Ready || st.Leader == "" {
			t.Errorf("%s status %+v", n.ID(), st)
		}
	}
}

func TestClusterWrongTokenIsRefusedOnBothSides(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 1)
	cfg := nodetest.Config(t.TempDir())
	cfg.NodeID, cfg.Join, cfg.JoinToken = "intruder", []string{nodes[0].RaftAddr()}, "not-the-cluster-token-at-all"
	_, err := node.Start(cfg, node.Options{Logger: nodetest.Logger()})
	if err == nil || !strings.Contains(err.Error(), "wrong join token") {
		t.Fatalf("joining with a wrong token: err = %v", err)
	}
	if got := len(nodes[0].Members()); got != 1 {
		t.Fatalf("the cluster has %d members after a refused join", got)
	}
}

func TestClusterRefusesUnauthenticatedPeers(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 1)
	for _, preface := range []string{"R", "C", "X"} {
		conn, err := tls.Dial("tcp", nodes[0].RaftAddr(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "%sPOST /remove HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"id\":\"node1\"}", preface)
		if b, _ := io.ReadAll(conn); len(b) != 0 {
			t.Errorf("preface %s without a certificate got an answer: %q", preface, b)
		}
		conn.Close()
	}
	if len(nodes[0].Members()) != 1 {
		t.Fatal("an unauthenticated peer changed the membership")
	}
}

func TestClusterSurvivesLeaderCrashAndTheNodeRejoins(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	register(t, nodes[0], "before")
	leader, rest := leaderOf(t, nodes)
	dir, cfg := leader.DataDir(), leader.ConfigForTest()
	leader.CrashForTest()

	// Writes through a survivor wait for the election and succeed.
	register(t, rest[0], "during")
	if !readUser(t, rest[1], "during") || !readUser(t, rest[1], "before") {
		t.Fatal("a survivor lost a write")
	}
	// The crashed node comes back with the same command line and catches up.
	_ = dir
	back := nodetest.Start(t, web, cfg)
	register(t, back, "after")
	waitSame(t, append(rest, back))
	if !readUser(t, back, "during") {
		t.Fatal("the rejoined node misses a write made while it was down")
	}
}

func TestClusterNodeBackWithNewAddressReplacesItsEntry(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	_, rest := leaderOf(t, nodes)
	follower := rest[0]
	cfg := follower.ConfigForTest()
	old := follower.RaftAddr()
	closeNode(t, follower)
	cfg.RaftAddr = "127.0.0.1:0" // a new port
	back := nodetest.Start(t, web, cfg)
	deadline := time.Now().Add(10 * time.Second)
	for {
		addr := back.Members()[back.ID()]
		if addr == back.RaftAddr() && addr != old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("membership still lists %s at %s, want %s", back.ID(), addr, back.RaftAddr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	register(t, nodes[0], "after move")
	if !readUser(t, back, "after move") {
		t.Fatal("the moved node does not receive writes")
	}
}

func TestClusterRemoveMember(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := nodes[1].RemoveMember(ctx, nodes[2].ID()); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[:2] {
		if _, ok := n.Members()[nodes[2].ID()]; ok {
			t.Fatalf("%s still lists the removed node", n.ID())
		}
	}
	register(t, nodes[1], "two left")
	if !readUser(t, nodes[0], "two left") {
		t.Fatal("the remaining nodes do not serve writes")
	}
}
