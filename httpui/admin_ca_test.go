package httpui_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"testing"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
	"minitwit/store"
)

var clusterCALine = regexp.MustCompile(`<p id="clusterca"><span title="([^"]*)">([^<]*)</span>`)

// adminCALine is the overview's cluster CA line and its title (the full
// fingerprints).
func adminCALine(t *testing.T, admin *uiSession) (line, title string) {
	t.Helper()
	p := admin.get(t, "/admin")
	m := clusterCALine.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("the overview has no cluster CA line:\n%s", p.Body)
	}
	return html.UnescapeString(m[2]), html.UnescapeString(m[1])
}

// TestAdminShowsClusterCA: the overview's cluster section shows the
// internode CA's fingerprint in `minitwit cluster ca`'s words, and during
// a rotation the staged CA and the step; the full fingerprints are in the
// line's title. On a real node, with the rotation's commands as `cluster
// ca --rotate` proposes them (cmd/minitwit's e2e test compares the page
// with the command's output over a whole rotation).
func TestAdminShowsClusterCA(t *testing.T) {
	t.Parallel()
	n, base := nodetest.StartDefault(t, web)
	admin := adminSession(t, base)
	var sec store.ClusterSecrets
	uiView(t, n, func(tx *store.ReadTx) error { sec = tx.Secrets(); return nil })
	old := node.CAPEMFingerprint(sec.CACert)
	if len(old) != 64 {
		t.Fatalf("the cluster CA's fingerprint %q", old)
	}

	if line, title := adminCALine(t, admin); line != "cluster CA: "+old[:16] || title != "SHA-256 "+old {
		t.Errorf("before a rotation: %q (title %q); want cluster CA: %s", line, title, old[:16])
	}

	// Step 1: a new CA staged.
	certPEM, keyPEM, err := node.NewClusterCA()
	if err != nil {
		t.Fatal(err)
	}
	next := node.CAPEMFingerprint(certPEM)
	ctx := context.Background()
	if res, err := n.Propose(ctx, &raftfsm.RotateCA{Step: raftfsm.CAStepStage, Cert: certPEM, Key: keyPEM}); err != nil || res.Err != nil {
		t.Fatalf("staging a CA: %v %v", err, res.Err)
	}
	want := fmt.Sprintf("cluster CA: %s (rotating, step 1 of 3: both trusted, next %s)", old[:16], next[:16])
	if line, title := adminCALine(t, admin); line != want || title != "SHA-256 "+old+"; next "+next {
		t.Errorf("with a CA staged: %q (title %q); want %q", line, title, want)
	}

	// Step 2: once the node trusts it, the new CA issues certificates.
	testwait.UntilNil(t, "the node to trust the staged CA", func() error {
		cas, err := node.TrustedCAsIn(n.DataDir())
		if _, ok := cas[next]; !ok {
			return fmt.Errorf("trusted %d CAs, not yet %s (%v)", len(cas), next[:16], err)
		}
		return nil
	})
	if res, err := n.Propose(ctx, &raftfsm.RotateCA{Step: raftfsm.CAStepSwitch, Cert: certPEM}); err != nil || res.Err != nil {
		t.Fatalf("switching to the staged CA: %v %v", err, res.Err)
	}
	want = fmt.Sprintf("cluster CA: %s (rotating, step 2 of 3: both trusted, previous %s)", next[:16], old[:16])
	if line, title := adminCALine(t, admin); line != want || title != "SHA-256 "+next+"; previous "+old {
		t.Errorf("switched to the new CA: %q (title %q); want %q", line, title, want)
	}
}
