//go:build e2e

package main

import (
	"fmt"
	"strings"
	"testing"

	"minitwit/ops/testwait"
)

// TestTokenRotationRefusesOldToken, with real processes: `cluster token
// --rotate` on a two-node cluster prints a new token; `serve --join` with
// the old token exits non-zero with "wrong join token" and is not added;
// with the new one (through the other member: the first one backs this
// address off after a wrong token) it joins. node2 restarted with the old
// token in its environment keeps the cluster's token and says so in a WARN
// line.
func TestTokenRotationRefusesOldToken(t *testing.T) {
	t.Parallel()
	first := newClNode(t, "node1", "")
	first.start(t)
	first.waitReady(t)
	second := newClNode(t, "node2", first.raftAddr)
	second.start(t)
	second.waitReady(t)

	out, errOut, code := runCLI("cluster", "token", "--rotate", "--data-dir", first.dataDir, "--addr", first.raftAddr)
	token := strings.TrimSpace(out)
	if code != 0 || len(token) != 64 || token == clJoinToken {
		t.Fatalf("cluster token --rotate: exit %d, %q %q", code, out, errOut)
	}

	stale := newClNode(t, "node3", first.raftAddr) // MINITWIT_JOIN_TOKEN: the old token
	stale.start(t)
	if err := stale.waitExit(t); err == nil {
		t.Fatal("serve --join with the rotated-out token exited 0")
	}
	if logs := stale.logs.String(); !strings.Contains(logs, "wrong join token") {
		t.Fatalf("the refused joiner does not say why:\n%s", logs)
	}
	for _, m := range clusterStatusLines(t, first) {
		if m[0] == "node3" {
			t.Fatalf("a node with the old token is a member: %v", m)
		}
	}

	fresh := newClNode(t, "node4", second.raftAddr)
	fresh.env = []string{"MINITWIT_JOIN_TOKEN=" + token}
	fresh.start(t)
	fresh.waitReady(t)
	testwait.UntilNil(t, "node4 a member", func() error {
		for _, m := range clusterStatusLines(t, first) {
			if m[0] == "node4" {
				return nil
			}
		}
		return fmt.Errorf("no node4 in %v", clusterStatusLines(t, first))
	})

	second.stop(t)
	second.start(t)
	second.waitReady(t)
	// The log reaches the buffer through a pipe, after /readyz may answer.
	testwait.UntilNil(t, "node2's WARN about the old configured token", func() error {
		if logs := second.logs.String(); !strings.Contains(logs, "differs from the cluster's and is not applied") {
			return fmt.Errorf("no WARN yet:\n%s", logs)
		}
		return nil
	})
	if logs := second.logs.String(); strings.Contains(logs, clJoinToken) {
		t.Errorf("node2 restarted with the old token: a token in its log:\n%s", logs)
	}
	if out, _, code := runCLI("cluster", "token", "--data-dir", second.dataDir, "--addr", second.raftAddr); code != 0 || strings.TrimSpace(out) != token {
		t.Errorf("the token after node2's restart: exit %d, %q; want the rotated one", code, out)
	}
}
