package node_test

import (
	"strings"
	"testing"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops/testbuf"
	"minitwit/store"
)

// TestConfiguredJoinTokenNotSilentlyIgnored: a node that belongs to a
// cluster keeps the cluster's stored join token; a configured token that
// differs is not applied, and the start says so in one WARN line that
// names `cluster token --rotate` (and never quotes either token). The same
// token as stored, or none, says nothing.
func TestConfiguredJoinTokenNotSilentlyIgnored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const first, other = "the-first-join-token-0123", "a-different-join-token-456"
	start := func(token string) (*node.Node, string) {
		t.Helper()
		var logs testbuf.Buffer
		cfg := nodetest.Config(dir)
		cfg.JoinToken = token
		n := startLoggingTo(t, cfg, &logs)
		return n, logs.String()
	}
	stored := func(n *node.Node) string {
		var tok string
		if err := n.LocalStore().View(func(r *store.ReadTx) error { tok = string(r.Secrets().JoinToken); return nil }); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	const warning = "differs from the cluster's and is not applied"
	n, logs := start(first)
	if got := stored(n); got != first {
		t.Fatalf("a new cluster's join token is %q, want the configured one", got)
	}
	if strings.Contains(logs, warning) {
		t.Errorf("a first start warned about its own token:\n%s", logs)
	}
	closeNode(t, n)

	n, logs = start(other)
	if got := stored(n); got != first {
		t.Errorf("after a restart with another token the stored one is %q, want the first (the stored token rules)", got)
	}
	lines := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, warning) {
			lines++
			if !strings.Contains(l, `"level":"WARN"`) || !strings.Contains(l, "minitwit cluster token --rotate") {
				t.Errorf("the warning is not a WARN naming the rotation: %s", l)
			}
		}
		if strings.Contains(l, first) || strings.Contains(l, other) {
			t.Errorf("a log line quotes a join token: %s", l)
		}
	}
	if lines != 1 {
		t.Errorf("%d warnings about the ignored configured token, want 1:\n%s", lines, logs)
	}
	closeNode(t, n)

	n, logs = start(first)
	if strings.Contains(logs, warning) {
		t.Errorf("a restart with the stored token warned:\n%s", logs)
	}
	closeNode(t, n)
}
