package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/ops"
	"minitwit/ops/testwait"
	"minitwit/store"
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
		{[]string{"token"}, 0, []string{nodetest.ClusterToken}},
		{[]string{"frobnicate"}, 2, []string{"unknown command"}},
		{[]string{"remove"}, 2, []string{"remove needs the member's id"}},
	}
	for _, c := range cases {
		stdout, stderr, code := runCLI(append([]string{"cluster", "--data-dir", dir, "--addr", addr}, c.args...)...)
		for _, want := range c.contains {
			if code != c.code || !strings.Contains(stdout+stderr, want) {
				t.Errorf("cluster %v: exit %d, output %q; want exit %d containing %q", c.args, code, stdout+stderr, c.code, want)
			}
		}
	}
	// The status lists both nodes with their roles once a leader is
	// elected, which a loaded machine may be doing anew.
	testwait.UntilNil(t, "cluster status with a leader and a follower", func() error {
		stdout, stderr, code := runCLI("cluster", "--data-dir", dir, "--addr", addr, "status")
		out := stdout + stderr
		if code != 0 {
			t.Fatalf("cluster status: exit %d, output %q", code, out)
		}
		for _, want := range []string{"node1", "node2", "leader", "follower", "APPLIED"} {
			if !strings.Contains(out, want) {
				return fmt.Errorf("no %q in %q", want, out)
			}
		}
		return nil
	})
	// Transfer to the follower. Which node that is may change under the
	// command's feet on a loaded machine (an election, or a target that
	// leads already): then look again and ask again.
	testwait.UntilNil(t, "a leadership transfer with the cluster command", func() error {
		target := "node2"
		if nodes[1].Status().Role == "leader" {
			target = "node1"
		}
		stdout, stderr, code := runCLI("cluster", "--data-dir", dir, "--addr", addr, "transfer", target)
		switch out := stdout + stderr; {
		case code == 0 && strings.Contains(out, "leader is now "+target):
			return nil
		case code == 1 && (strings.Contains(out, "not the leader") || strings.Contains(out, "to itself") ||
			strings.Contains(out, "leadership transfer timeout")):
			return errors.New(out)
		default:
			t.Fatalf("cluster transfer %s: exit %d, output %q; want exit 0 containing %q", target, code, out, "leader is now "+target)
			return nil
		}
	})
	if _, stderr, code := runCLI("cluster", "--data-dir", t.TempDir(), "status"); code != 1 || !strings.Contains(stderr, "no node certificate") {
		t.Errorf("cluster without a node certificate: exit %d, %q", code, stderr)
	}
	// A member that does not answer: named by its internode port, which
	// speaks mutual TLS, never as an http:// URL.
	nobody := nodetest.FreeAddr(t)
	if _, stderr, code := runCLI("cluster", "status", "--data-dir", dir, "--addr", nobody); code != 1 ||
		strings.Contains(stderr, "http://") || !strings.Contains(stderr, "cannot reach the member at "+nobody+" (internode port, mTLS)") {
		t.Errorf("cluster status --addr of nothing: exit %d, %q", code, stderr)
	}
	// Without --addr, the running node is found through its data dir.
	if stdout, stderr, code := runCLI("cluster", "status", "--data-dir", dir); code != 0 || !strings.Contains(stdout, addr) {
		t.Errorf("cluster status --data-dir alone: exit %d, %q %q", code, stdout, stderr)
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
			cfg.Raft.LeaderLeaseTimeout = config.Duration(50 * time.Millisecond)
		}
	})
	// Whichever of the two leads, the other one is named, with both timings.
	// On a loaded machine the two may be between leaders for a moment, when
	// there is no leader's timing to compare with: ask until there is one.
	usual := nodetest.Config(t.TempDir()).Raft.Timing().String() // node1's
	want := func(out string) bool {
		return strings.Count(out, "warning:") == 1 && strings.Contains(out, "differs from the leader") &&
			strings.Contains(out, "heartbeat 100ms, election 100ms,") && strings.Contains(out, usual)
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

// TestClusterTokenRotate: `cluster token --rotate` through a follower or
// the leader of a real two-node cluster prints a new random token, which
// every member holds when the command returns; a node joining with the
// old token is refused by each member with a clear error (and is not
// added), one with the new token joins.
func TestClusterTokenRotate(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, webHandler, 2)
	dir, addr := nodes[1].DataDir(), nodes[1].RaftAddr()
	if _, stderr, code := runCLI("cluster", "--data-dir", dir, "--addr", addr, "status", "--rotate"); code != 2 || !strings.Contains(stderr, "--rotate goes with token or ca only") {
		t.Errorf("status --rotate: exit %d, %q", code, stderr)
	}
	stdout, stderr, code := runCLI("cluster", "--data-dir", dir, "--addr", addr, "token", "--rotate")
	token := strings.TrimSpace(stdout)
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(token) || !strings.Contains(stderr, "rotated on all 2 members") {
		t.Fatalf("token --rotate: exit %d, stdout %q, stderr %q; want a 64-character hex token", code, stdout, stderr)
	}
	// At once on every member: no wait.
	for _, n := range nodes {
		var held string
		n.LocalStore().View(func(r *store.ReadTx) error { held = string(r.Secrets().JoinToken); return nil })
		if held != token {
			t.Errorf("%s holds join token %q after the rotation returned, want the printed one", n.ID(), held)
		}
	}
	if stdout, _, code := runCLI("cluster", "--data-dir", nodes[0].DataDir(), "--addr", nodes[0].RaftAddr(), "token"); code != 0 || strings.TrimSpace(stdout) != token {
		t.Errorf("cluster token after the rotation: exit %d, %q", code, stdout)
	}

	join := func(id, token string, member *node.Node) (*node.Node, error) {
		cfg := nodetest.Config(t.TempDir())
		cfg.NodeID, cfg.JoinToken, cfg.Join = id, token, []string{member.RaftAddr()}
		return node.Start(cfg, node.Options{Handler: webHandler, Logger: nodetest.Logger(), Build: ops.NewBuildInfo("test", "", "")})
	}
	for _, member := range nodes {
		n, err := join("stale", nodetest.ClusterToken, member)
		if err == nil {
			_ = n.Close(context.Background())
			t.Fatalf("a node joined %s with the old token", member.ID())
		}
		if !strings.Contains(err.Error(), "refused: wrong join token") {
			t.Errorf("join of %s with the old token: %v, want a wrong-token refusal", member.ID(), err)
		}
	}
	if _, ok := nodes[0].Members()["stale"]; ok {
		t.Error("a node refused for its old token is in the configuration")
	}
	// The wrong tokens backed this address off for a moment (portguard):
	// the first join with the new token may be asked to retry.
	var fresh *node.Node
	testwait.UntilNil(t, "a join with the new token", func() error {
		n, err := join("fresh", token, nodes[0])
		if err != nil && strings.Contains(err.Error(), "retry in") {
			return err
		}
		if err != nil {
			t.Fatalf("join with the new token: %v", err)
		}
		fresh = n
		return nil
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = fresh.Close(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	if err := fresh.WaitReady(ctx); err != nil {
		t.Fatalf("the node joined with the new token is not ready: %v", err)
	}
	testwait.Until(t, "the new node in the configuration", func() bool { _, ok := nodes[0].Members()["fresh"]; return ok })
}
