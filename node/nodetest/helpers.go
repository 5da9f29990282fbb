package nodetest

import (
	"context"
	"testing"

	"minitwit/node"
	"minitwit/ops/testwait"
	"minitwit/store"
)

// ReadUser reports whether a linearizable read on n finds the user name;
// a read the node cannot serve fails the test.
func ReadUser(t testing.TB, n *node.Node, name string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	st, err := n.ReadStore(ctx)
	if err != nil {
		t.Fatalf("read on %s: %v", n.ID(), err)
	}
	found := false
	if err := st.View(func(r *store.ReadTx) error { _, err := r.UserByName(name); found = err == nil; return nil }); err != nil {
		t.Fatalf("read on %s: %v", n.ID(), err)
	}
	return found
}

// ClusterClient is an operator's cluster client on n's machine: n's data
// dir and certificate, as `minitwit cluster|admin|backup` there use.
func ClusterClient(t testing.TB, n *node.Node) *node.ClusterClient {
	t.Helper()
	c, err := node.NewClusterClient(n.DataDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
