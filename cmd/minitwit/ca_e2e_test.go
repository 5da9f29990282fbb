//go:build e2e

package main

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCARotationUnderReplayLosesNoRequest, with real processes: the
// scenario is replayed over three nodes while `minitwit cluster ca
// --rotate` replaces the cluster CA; no request fails, every acknowledged
// write is on every node, the data files end identical, and every member
// reports the new CA only.
func TestCARotationUnderReplayLosesNoRequest(t *testing.T) {
	t.Parallel()
	// A prefix of the scenario: the rotation takes a moment, the rest of
	// the replay would prove nothing more.
	actions := clScenario(t)[:8000]
	began := time.Now()
	nodes := clStartCluster(t)
	t.Logf("cluster ready at %s", time.Since(began).Round(time.Millisecond))
	lb := newClBalancer(nodes)
	gate := newClGate(6000)
	r := &clReplayer{lb: lb, client: clClient(), gate: gate}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	replayed := make(chan []clResult, 1)
	go func() { replayed <- r.replay(ctx, actions) }()

	r.waitDone(t, 2000)
	from := r.done.Load()
	code, out := runTool("cluster", "ca", "--rotate", "--data-dir", nodes[1].dataDir, "--addr", nodes[1].raftAddr, "--timeout", "5m")
	to := r.done.Load()
	gate.set(len(actions))
	if code != 0 || !strings.Contains(out, "cluster CA rotated") {
		t.Fatalf("cluster ca --rotate: exit %d\n%s", code, out)
	}
	newFP := strings.Fields(out)[len(strings.Fields(out))-1] // the last line names it
	t.Logf("rotated the CA between actions %d and %d:\n%s", from, to, out)

	results := <-replayed
	t.Logf("replayed %d actions in %s: %s; answered by %s", len(results), time.Since(began).Round(time.Millisecond), clCount(results), clByNode(results))
	failed := 0
	for _, res := range results {
		if res.outcome != clAcked {
			failed++
			if failed <= 20 {
				t.Errorf("action %d (%s by %q) via %s: %s", res.action.ID, res.action.Command, res.action.User, res.node, res.describe())
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d requests failed during the CA rotation; want 0", failed)
	}

	for _, n := range nodes {
		code, out := runTool("cluster", "ca", "--data-dir", n.dataDir, "--addr", n.raftAddr, "--timeout", "30s")
		if code != 0 || strings.TrimSpace(out) != "cluster CA: "+newFP {
			t.Errorf("cluster ca at %s after the rotation: exit %d, %q; want the new CA %s only", n.name, code, out, newFP)
		}
	}
	clWaitConverged(t, nodes)
	clCheckAcknowledged(t, nodes, results)
	clStopAll(t, nodes)
	clCompareDigests(t, nodes)
	t.Logf("stopped and compared at %s", time.Since(began).Round(time.Millisecond))
}

var admCALine = regexp.MustCompile(`<p id="clusterca"><span title="[^"]*">([^<]*)</span>`)

// TestAdminPageShowsClusterCAAsTheCommandDoes: the admin overview's cluster
// CA line is the line `minitwit cluster ca` prints, before and after
// `cluster ca --rotate`, on a real node.
func TestAdminPageShowsClusterCAAsTheCommandDoes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const password = "operator-password-from-env"
	s := startServer(t, dir, "MINITWIT_ADMIN_PASSWORD="+password)
	admWaitLog(t, s, "created the first admin with the configured admin.password")
	b := newAdmBrowser(t)
	b.signIn(s.base, "operator", password)
	same := func(when string) string {
		t.Helper()
		code, out := runTool("cluster", "ca", "--data-dir", dir, "--timeout", "30s")
		if code != 0 || !strings.HasPrefix(out, "cluster CA: ") {
			t.Fatalf("cluster ca %s: exit %d\n%s", when, code, out)
		}
		p := b.get(s.base + "/admin")
		m := admCALine.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("the overview %s has no cluster CA line (%d):\n%s", when, p.status, p.body)
		}
		if got := html.UnescapeString(m[1]); got != strings.TrimSpace(out) {
			t.Errorf("%s: the admin page shows %q, cluster ca prints %q", when, got, strings.TrimSpace(out))
		}
		return strings.TrimSpace(out)
	}
	before := same("before a rotation")
	if code, out := runTool("cluster", "ca", "--rotate", "--data-dir", dir, "--timeout", "2m"); code != 0 || !strings.Contains(out, "cluster CA rotated") {
		t.Fatalf("cluster ca --rotate: exit %d\n%s", code, out)
	}
	if after := same("after a rotation"); after == before {
		t.Errorf("the CA line did not change with the rotation: %q", after)
	}
}
