//go:build e2e

package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"minitwit/ops/testwait"
)

// TestJoinWithHTTPPortTakenFailsBeforeJoining: `serve --join` whose HTTP
// port is taken exits non-zero before it asks to join, so the single
// existing node is not touched: it stays ready and takes writes, and its
// membership does not change. Started properly, the node joins as a
// non-voter and the leader promotes it to voter once it serves.
func TestJoinWithHTTPPortTakenFailsBeforeJoining(t *testing.T) {
	t.Parallel()
	first := newClNode(t, "node1", "")
	first.start(t)
	first.waitReady(t)

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	second := newClNode(t, "node2", first.raftAddr)
	setArg(second.args, "--http-addr", taken.Addr().String())
	second.start(t)
	if err := second.waitExit(t); err == nil {
		t.Fatal("serve --join with its HTTP port taken exited 0")
	}
	if out := second.logs.String(); !strings.Contains(out, "http_addr") {
		t.Fatalf("the error does not name http_addr:\n%s", out)
	}

	if _, code, err := clStatusOf(first); err != nil || code != http.StatusOK {
		t.Fatalf("node1 /readyz after the failed join: %d %v\n%s", code, err, first.logs)
	}
	if s, err := post(first.base(), "/register", map[string]string{"username": "still writing", "email": "a@b", "pwd": "p"}); err != nil || s != http.StatusNoContent {
		t.Fatalf("a write on node1 after the failed join: %d %v", s, err)
	}
	if members := clusterStatusLines(t, first); len(members) != 1 || members[0][0] != "node1" {
		t.Fatalf("membership after the failed join: %v", members)
	}

	second.httpAddr = freeAddr(t)
	setArg(second.args, "--http-addr", second.httpAddr)
	second.start(t)
	second.waitReady(t)
	testwait.UntilNil(t, "node2 to become a voter once ready", func() error {
		members := clusterStatusLines(t, first)
		if len(members) == 2 && members[1][0] == "node2" && members[1][2] == "voter" {
			return nil
		}
		return fmt.Errorf("members %v", members)
	})
	if s, err := post(second.base(), "/register", map[string]string{"username": "via node2", "email": "a@b", "pwd": "p"}); err != nil || s != http.StatusNoContent {
		t.Fatalf("a write through node2: %d %v", s, err)
	}

	// Back at a new raft address: the cluster learns it, status shows it,
	// and writes and operator commands work through it there.
	second.stop(t)
	old := second.raftAddr
	second.raftAddr = freeAddr(t)
	setArg(second.args, "--raft-addr", second.raftAddr)
	second.start(t)
	second.waitReady(t)
	testwait.UntilNil(t, "node2's new address in the configuration", func() error {
		members := clusterStatusLines(t, first)
		if len(members) == 2 && members[1][0] == "node2" && members[1][1] == second.raftAddr {
			return nil
		}
		return fmt.Errorf("members %v (old address %s, new %s)", members, old, second.raftAddr)
	})
	// node1 reports its latest configuration as soon as it holds it;
	// node2 learns it when node1's entry reaches it, which on a loaded
	// machine (and with an election after the move) can come later.
	testwait.UntilNil(t, "cluster status through node2 to show its new address", func() error {
		if members := clusterStatusLines(t, second); len(members) != 2 || members[1][1] != second.raftAddr {
			return fmt.Errorf("cluster status through node2's new address: %v", members)
		}
		return nil
	})
	if s, err := post(second.base(), "/register", map[string]string{"username": "via node2 moved", "email": "a@b", "pwd": "p"}); err != nil || s != http.StatusNoContent {
		t.Fatalf("a write through node2 at its new address: %d %v", s, err)
	}
}

// setArg replaces the value after flag in args.
func setArg(args []string, flag, value string) {
	for i := range args[:len(args)-1] {
		if args[i] == flag {
			args[i+1] = value
		}
	}
}

// clusterStatusLines runs `minitwit cluster status` as node n's operator
// and returns the fields of each member line.
func clusterStatusLines(t *testing.T, n *clNode) [][]string {
	t.Helper()
	out, errOut, code := runCLI("cluster", "--data-dir", n.dataDir, "--addr", n.raftAddr, "--timeout", "10s", "status")
	if code != 0 {
		t.Fatalf("cluster status: %d %s", code, errOut)
	}
	var lines [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		lines = append(lines, strings.Fields(l))
	}
	return lines
}
