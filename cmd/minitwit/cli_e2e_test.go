//go:build e2e

package main

// The command line against real processes: the tools find a running node
// from its data dir alone (issue 14), say clearly when it is not running,
// and the offline ones print none of serve's start-up chatter.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"minitwit/node"
	"minitwit/node/nodetest"
)

// runIn runs the binary as an operator would on the machine: in a
// directory of its own (no ./minitwit-data to fall back on), with no
// MINITWIT_* variable but those given, so only --data-dir can lead it to
// the node. It returns the exit status, stdout and stderr.
func runIn(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINITWIT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatalf("running minitwit %v: %v", args, err)
	}
	return 0, stdout.String(), stderr.String()
}

// TestClusterStatusFromDataDir: after a three-node start like `make
// cluster` (addresses given as flags to serve, nowhere in a configuration),
// `minitwit cluster status --data-dir DIR` works with no address, flags
// before or after the command; so do flag and backup. A node killed -9 and
// a node stopped cleanly are told apart, in one line each.
func TestClusterStatusFromDataDir(t *testing.T) {
	t.Parallel()
	nodes := clStartCluster(t)

	for _, args := range [][]string{
		{"cluster", "status", "--data-dir", nodes[1].dataDir},
		{"cluster", "--data-dir", nodes[2].dataDir, "status"},
	} {
		code, out, errOut := runIn(t, nil, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("minitwit %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		leaders := strings.Count(out, " leader ")
		if len(lines) != 4 || leaders != 1 || strings.Count(out, " voter ") != 3 {
			t.Errorf("minitwit %v: want a header and three voters, one leading:\n%s", args, out)
		}
		for _, n := range nodes {
			if !strings.Contains(out, n.name) || !strings.Contains(out, n.raftAddr) {
				t.Errorf("minitwit %v: %s at %s is not listed:\n%s", args, n.name, n.raftAddr, out)
			}
		}
	}
	if code, out, errOut := runIn(t, nil, "flag", "--list", "--data-dir", nodes[0].dataDir); code != 0 || !strings.HasPrefix(out, "id") {
		t.Errorf("flag --list --data-dir: exit %d\n%s%s", code, out, errOut)
	}
	file := filepath.Join(t.TempDir(), "b.mtb")
	code, out, errOut := runIn(t, nil, "backup", "--data-dir", nodes[1].dataDir, "--out", file)
	if code != 0 || !strings.Contains(out, "taken by the running node at "+nodes[1].raftAddr) {
		t.Errorf("backup --data-dir of a running node: exit %d\n%s%s", code, out, errOut)
	}

	// Killed: its record stays behind, and the tools say what happened.
	nodes[2].kill(t)
	if _, err := node.ReadListening(nodes[2].dataDir); err != nil {
		t.Fatalf("the killed node's record: %v", err)
	}
	code, out, errOut = runIn(t, nil, "cluster", "status", "--data-dir", nodes[2].dataDir)
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "killed or crashed") {
		t.Errorf("cluster status on a killed node's data dir: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	// Stopped cleanly: no record, and nothing at its address.
	nodes[1].stop(t)
	if _, err := node.ReadListening(nodes[1].dataDir); !errors.Is(err, node.ErrNotListening) {
		t.Errorf("the stopped node's record: %v; want none", err)
	}
	code, out, errOut = runIn(t, []string{"MINITWIT_RAFT_ADDR=" + nodes[1].raftAddr}, "cluster", "status", "--data-dir", nodes[1].dataDir)
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "no running node found for data dir") {
		t.Errorf("cluster status on a stopped node's data dir: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	// A member that is not there, asked with --addr: the message names
	// the internode port, not an http:// URL (the traffic is mTLS).
	code, _, errOut = runIn(t, nil, "cluster", "status", "--data-dir", nodes[0].dataDir, "--addr", nodes[1].raftAddr, "--timeout", "5s")
	if code != 1 || strings.Contains(errOut, "http://") || !strings.Contains(errOut, "internode port") {
		t.Errorf("cluster status --addr of a stopped member: exit %d, %q", code, errOut)
	}
}

// TestOfflineToolsAreQuiet: import and admin on a stopped (here new) data
// dir start the node for the task and print the task's outcome only: none
// of serve's configuration warnings, and no first admin's one-time
// password with the address of the tool's own listener. The first admin is
// then made by serve, which tells its password with its real address.
func TestOfflineToolsAreQuiet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := nodetest.SharedData(t, "minitwit_legacy.db")
	noise := []string{"warning", "WARN", "ERROR", "one-time password", "Sign in at", "/login"}
	// serve's node id, and a free internode port (the default one may be
	// taken on the machine running the test).
	env := []string{"MINITWIT_NODE_ID=e2e", "MINITWIT_RAFT_ADDR=" + freeAddr(t)}

	code, out, errOut := runIn(t, env, "import", "--sqlite", db, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "imported") {
		t.Fatalf("import into a new data dir: exit %d\n%s%s", code, out, errOut)
	}
	for _, n := range noise {
		if strings.Contains(out+errOut, n) {
			t.Errorf("import printed %q:\nstdout:\n%s\nstderr:\n%s", n, out, errOut)
		}
	}

	s := startServer(t, dir, "MINITWIT_ADMIN_PASSWORD=")
	admWaitLog(t, s, "Sign in at "+s.base+"/login")
	admStop(t, s)
	if lines := admOTPLines(t, s.logs.String()); len(lines) != 1 || lines[0].Login != s.base+"/login" {
		t.Errorf("serve after the import: first-admin lines %+v; want one, for %s/login", lines, s.base)
	}

	code, out, errOut = runIn(t, env, "admin", "grant", "operator", "--data-dir", dir)
	if code != 0 || out != "operator is now an admin\n" || errOut != "" {
		t.Errorf("admin grant on a stopped data dir: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
}
