package publictls_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/node/publictls"
	"minitwit/ops/testwait"
)

// TestCertStorageLocks: two nodes race for one lock; one wins and the
// other waits until it is released; a lease whose holder vanished expires
// and is taken over, and the old holder cannot release its successor's.
func TestCertStorageLocks(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, nil, 2)
	a, b := storageOn(nodes[0], time.Minute), storageOn(nodes[1], time.Minute)
	ctx := context.Background()

	won := make(chan string, 2)
	for name, s := range map[string]certmagic.Storage{"a": a, "b": b} {
		go func() {
			if err := s.Lock(ctx, "issue_cert_localhost"); err == nil {
				won <- name
			}
		}()
	}
	first := <-won
	select {
	case second := <-won:
		t.Fatalf("both %s and %s hold the lock", first, second)
	case <-time.After(time.Second):
	}
	holder, waiter := a, b
	if first == "b" {
		holder, waiter = b, a
	}
	if err := holder.Unlock(ctx, "issue_cert_localhost"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-won: // the waiter got it
	case <-time.After(testwait.Timeout):
		t.Fatal("the waiter did not get the released lock")
	}
	if err := waiter.Unlock(ctx, "issue_cert_localhost"); err != nil {
		t.Fatal(err)
	}

	// A short lease, and its holder never unlocks. Short, but longer than
	// a busy machine may stall between taking it and the probe below:
	// a lease that expired before the probe would pass for a broken lock.
	short := storageOn(nodes[0], 3*time.Second)
	if err := short.Lock(ctx, "renew"); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err := b.Lock(tctx, "renew")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("took an unexpired lease: %v", err)
	}
	tctx, cancel = context.WithTimeout(ctx, testwait.Timeout)
	defer cancel()
	if err := b.Lock(tctx, "renew"); err != nil {
		t.Fatalf("the expired lease was not taken over: %v", err)
	}
	short.Unlock(ctx, "renew") // too late: must not free b's lease
	tctx2, cancel2 := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel2()
	if err := a.Lock(tctx2, "renew"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the expired holder's unlock freed its successor's lease: %v", err)
	}
}

// TestCertStorageFiles: Store, Load (on another node at once), Stat,
// List, Exists and Delete behave as certmagic expects.
func TestCertStorageFiles(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, nil, 2)
	a, b := storageOn(nodes[0], time.Minute), storageOn(nodes[1], time.Minute)
	ctx := context.Background()
	if err := a.Store(ctx, "certificates/ca/localhost/localhost.crt", []byte("PEM")); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Load(ctx, "certificates/ca/localhost/localhost.crt"); err != nil || string(v) != "PEM" {
		t.Fatalf("load on the other node: %q, %v", v, err)
	}
	if _, err := b.Load(ctx, "certificates/ca/nothing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("load of a missing key: %v", err)
	}
	info, err := b.Stat(ctx, "certificates/ca/localhost/localhost.crt")
	if err != nil || !info.IsTerminal || info.Size != 3 || time.Since(info.Modified) > time.Minute {
		t.Fatalf("stat: %+v, %v", info, err)
	}
	if info, err := b.Stat(ctx, "certificates/ca"); err != nil || info.IsTerminal {
		t.Fatalf("stat of a directory: %+v, %v", info, err)
	}
	if keys, err := b.List(ctx, "certificates", true); err != nil || !slices.Equal(keys, []string{"certificates/ca/localhost/localhost.crt"}) {
		t.Fatalf("list: %q, %v", keys, err)
	}
	if !b.Exists(ctx, "certificates/ca") || b.Exists(ctx, "certificates/cb") {
		t.Fatal("exists")
	}
	if err := b.Delete(ctx, "certificates/ca"); err != nil {
		t.Fatal(err)
	}
	if a.Exists(ctx, "certificates/ca/localhost/localhost.crt") {
		t.Fatal("deleted directory still has its key")
	}
}

// storageOn is a certmagic storage on n whose leases last ttl. The nodes
// need no web layer (nil in StartCluster): the storage talks to Raft only.
func storageOn(n *node.Node, ttl time.Duration) certmagic.Storage {
	c := publictls.NewCertStorage(n, n.ID())
	c.SetLeaseTTL(ttl)
	return c
}
