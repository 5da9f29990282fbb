package node_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
	"minitwit/store"
)

// TestFoldedNamesAcrossNodes: a new cluster turns on case-insensitive
// name uniqueness in its state machine; then "Alice" and "alice",
// proposed at the same moment through two different nodes (each past its
// own proposer's check, as two requests racing would be), cannot both be
// registered: exactly one succeeds, the other is refused with
// ErrNameTaken, and every node holds the same single user.
func TestFoldedNamesAcrossNodes(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	for _, n := range nodes {
		testwait.Until(t, "the name check on "+n.ID(), func() bool {
			on := false
			n.LocalStore().View(func(tx *store.ReadTx) error { on = tx.FoldedNamesOn(); return nil })
			return on
		})
	}
	for round, names := range [][2]string{{"Alice", "alice"}, {"BOB", "bob"}, {"Stra\u00dfe", "STRASSE"}} {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, name := range names {
			via := nodes[i] // two different nodes; at most one is the leader
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
				defer cancel()
				res, err := via.Propose(ctx, &raftfsm.Register{Username: name, Email: "x@y", PasswordHash: "h"})
				if err == nil {
					err = res.Err
				}
				errs[i] = err
			})
		}
		wg.Wait()
		ok, taken := 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrNameTaken):
				taken++
			default:
				t.Fatalf("round %d: registering %q: %v", round, names[i], err)
			}
		}
		if ok != 1 || taken != 1 {
			t.Fatalf("round %d: %d registered, %d refused as taken (%v); want one each", round, ok, taken, errs)
		}
	}
	want := digest(t, nodes[0])
	for _, n := range nodes[1:] {
		testwait.Until(t, n.ID()+" to hold the same state", func() bool { return digest(t, n) == want })
	}
}
