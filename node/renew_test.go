package node_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"minitwit/node/cluster"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
)

// TestMembersRenewTheirCertificates: a node certificate lives at most 90
// days; a member renews its own once less than 30 days are left, from the
// CA in the replicated state, keeping its key, writes it to the data dir
// and uses it without a restart.
func TestMembersRenewTheirCertificates(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 2)
	n := nodes[1]
	before, err := cluster.LoadTLS(n.DataDir())
	if err != nil {
		t.Fatal(err)
	}
	if life := time.Until(before.NotAfter()); life > 90*24*time.Hour {
		t.Fatalf("a node certificate valid for %s", life)
	}
	if renewed, err := n.RenewCertificateForTest(time.Now()); err != nil || renewed {
		t.Fatalf("a fresh certificate was renewed (%v, %v)", renewed, err)
	}
	renewed, err := n.RenewCertificateForTest(before.NotAfter().Add(-29 * 24 * time.Hour))
	if err != nil || !renewed {
		t.Fatalf("a certificate with 29 days left was not renewed (%v, %v)", renewed, err)
	}
	after, err := cluster.LoadTLS(n.DataDir())
	if err != nil {
		t.Fatal(err)
	}
	// A new certificate (its validity counts from the renewal, to the
	// second: within the second of the first it ends at the same time).
	if bytes.Equal(after.CertPEM(), before.CertPEM()) || after.NotAfter().Before(before.NotAfter()) ||
		!bytes.Equal(after.KeyPEM(), before.KeyPEM()) || after.ID() != n.ID() {
		t.Fatalf("renewed certificate: new %v, expires %s (was %s), same key %v, id %q", !bytes.Equal(after.CertPEM(), before.CertPEM()),
			after.NotAfter(), before.NotAfter(), bytes.Equal(after.KeyPEM(), before.KeyPEM()), after.ID())
	}
	// The renewed certificate opens the port: a tool reading it from the
	// data dir, and the node's own new connections (a forwarded write).
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	c, err := cluster.NewClient(n.DataDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Members(ctx, nodes[0].RaftAddr()); err != nil {
		t.Fatalf("the renewed certificate was refused: %v", err)
	}
	leader, _ := leaderOf(t, nodes)
	for _, m := range nodes {
		if m != leader {
			register(t, m, "after renewal")
		}
	}
	if !nodetest.ReadUser(t, leader, "after renewal") {
		t.Fatal("a write through the renewed node is missing")
	}
}
