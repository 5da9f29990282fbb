package main

import (
	"strings"
	"testing"
	"time"

	"minitwit/node/config"
	"minitwit/node/nodetest"
)

func TestClusterCommand(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, webHandler, 2)
	dir, addr := nodes[0].DataDir(), nodes[0].RaftAddr()
	cases := []struct {
		args     []string
		code     int
		contains []string
	}{
		{[]string{"status"}, 0, []string{"node1", "node2", "leader", "follower", "APPLIED"}},
		{[]string{"token"}, 0, []string{nodetest.ClusterToken}},
		{[]string{"transfer", "node2"}, 0, []string{"leader is now node2"}},
		{[]string{"frobnicate"}, 2, []string{"unknown command"}},
		{[]string{"remove"}, 2, []string{"wrong arguments"}},
	}
	for _, c := range cases {
		stdout, stderr, code := runCLI(append([]string{"cluster", "--data-dir", dir, "--addr", addr}, c.args...)...)
		for _, want := range c.contains {
			if code != c.code || !strings.Contains(stdout+stderr, want) {
				t.Errorf("cluster %v: exit %d, output %q; want exit %d containing %q", c.args, code, stdout+stderr, c.code, want)
			}
		}
	}
	if _, stderr, code := runCLI("cluster", "--data-dir", t.TempDir(), "status"); code != 1 || !strings.Contains(stderr, "no node certificate") {
		t.Errorf("cluster without a node certificate: exit %d, %q", code, stderr)
	}
}

// TestClusterStatusTimingMismatch: a member whose Raft timing differs from
// the leader's is named by `cluster status`.
func TestClusterStatusTimingMismatch(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartClusterWith(t, webHandler, 2, func(i int, cfg *config.Config) {
		if i == 1 {
			cfg.Raft.HeartbeatTimeout = config.Duration(100 * time.Millisecond)
			cfg.Raft.ElectionTimeout = config.Duration(100 * time.Millisecond)
		}
	})
	// Whichever of the two leads, the other one is named, with both timings.
	// On a loaded machine the two may be between leaders for a moment, when
	// there is no leader's timing to compare with: ask until there is one.
	want := func(out string) bool {
		return strings.Count(out, "warning:") == 1 && strings.Contains(out, "differs from the leader") &&
			strings.Contains(out, "heartbeat 100ms, election 100ms,") && strings.Contains(out, "heartbeat 50ms, election 50ms,")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		stdout, stderr, code := runCLI("cluster", "--data-dir", nodes[0].DataDir(), "--addr", nodes[0].RaftAddr(), "status")
		if code == 0 && want(stdout) {
			return
		}
		if code != 0 || strings.Contains(stdout, "warning:") || time.Now().After(deadline) {
			t.Fatalf("cluster status: exit %d, stdout %q, stderr %q; want one warning naming both timings", code, stdout, stderr)
		}
		<-time.After(100 * time.Millisecond) // the next election round
	}
}
