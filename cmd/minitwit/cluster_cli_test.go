package main

import (
	"strings"
	"testing"

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
