package main

// In-process tests of the command line: run() with arguments, no binary
// built, no process started.

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"minitwit/node"
	"minitwit/node/config"
)

func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestCommandLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"version"}, 0, "go:"},
		{[]string{"help"}, 0, "simulate"},
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"serve", "--help"}, 0, "-data-dir"},
		{[]string{"serve", "--no-such-flag"}, 2, "no-such-flag"},
		{[]string{"serve", "--http-addr", "nonsense"}, 2, "http"},
		{[]string{"serve", "--raft-addr", "0.0.0.0:7000"}, 2, "not an address other nodes can reach"},
		{[]string{"serve", "--join", "127.0.0.1:7000"}, 2, "join token"},
		{[]string{"serve", "--config", "/does/not/exist.toml"}, 2, "does not exist"},
		{[]string{"simulate", "--help"}, 0, "-concurrency"},
		{[]string{"simulate", "--url", "http://127.0.0.1:1/api"}, 2, "scenario"},
	}
	for _, c := range cases {
		stdout, stderr, code := runCLI(c.args...)
		if code != c.code || !strings.Contains(stdout+stderr, c.contains) {
			t.Errorf("minitwit %v: exit %d, output %q; want exit %d containing %q", c.args, code, stdout+stderr, c.code, c.contains)
		}
	}
}

// TestUsageErrors: a wrong command line gets one line saying what is wrong
// and one hint line, on stderr, with exit status 2: never the whole usage.
// Near misses get a "did you mean".
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "typo.toml")
	if err := os.WriteFile(conf, []byte("data_dri = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string // in the first line
		hint string // the second line
	}{
		{[]string{"clustr", "status"}, `unknown command "clustr"; did you mean cluster?`, "run 'minitwit --help' for the commands"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, "run 'minitwit --help' for the commands"},
		{[]string{"cluster"}, "no command: status", "run 'minitwit cluster --help' for its usage"},
		{[]string{"cluster", "stauts"}, `unknown command "stauts"; did you mean status?`, "run 'minitwit cluster --help' for its usage"},
		{[]string{"cluster", "--bogus", "status"}, "unknown flag --bogus", "run 'minitwit cluster --help' for its usage"},
		{[]string{"cluster", "status", "--dat-dir", "x"}, "unknown flag --dat-dir; did you mean --data-dir?", "run 'minitwit cluster --help' for its usage"},
		{[]string{"cluster", "--timeout", "soon", "status"}, `invalid value "soon" for --timeout`, "run 'minitwit cluster --help' for its usage"},
		{[]string{"cluster", "status", "--addr"}, "flag --addr needs a value", "run 'minitwit cluster --help' for its usage"},
		{[]string{"cluster", "remove"}, "remove needs the member's id", "run 'minitwit cluster --help' for its usage"},
		{[]string{"cluster", "token", "extra"}, `unexpected argument "extra" after token`, "run 'minitwit cluster --help' for its usage"},
		{[]string{"admin", "creat", "bob"}, `unknown action "creat"; did you mean create?`, "run 'minitwit admin --help' for its usage"},
		{[]string{"admin", "create"}, "create needs a user name: 'minitwit admin create NAME'", "run 'minitwit admin --help' for its usage"},
		{[]string{"admin"}, "no action: create,", "run 'minitwit admin --help' for its usage"},
		{[]string{"admin", "grnat"}, `unknown action "grnat"; did you mean grant?`, "run 'minitwit admin --help' for its usage"},
		{[]string{"admin", "grant", "bob", "alice"}, `unexpected argument "alice" after the user name`, "run 'minitwit admin --help' for its usage"},
		{[]string{"admin", "grant", "bob", "--emial", "x"}, "unknown flag --emial; did you mean --email?", "run 'minitwit admin --help' for its usage"},
		{[]string{"flag"}, "no message ids", "run 'minitwit flag --help' for its usage"},
		{[]string{"flag", "--list", "3"}, "--list takes no message ids", "run 'minitwit flag --help' for its usage"},
		{[]string{"flag", "x1"}, `"x1" is not a message id`, "run 'minitwit flag --help' for its usage"},
		{[]string{"flag", "--unflg", "3"}, "unknown flag --unflg; did you mean --unflag?", "run 'minitwit flag --help' for its usage"},
		{[]string{"backup"}, "--out FILE is required", "run 'minitwit backup --help' for its usage"},
		{[]string{"backup", "--out", "f", "extra"}, `unexpected argument "extra"`, "run 'minitwit backup --help' for its usage"},
		{[]string{"restore", "backup.mtb"}, "--data-dir DIR is required", "run 'minitwit restore --help' for its usage"},
		{[]string{"restore", "--data-dir", "d"}, "no backup given", "run 'minitwit restore --help' for its usage"},
		{[]string{"import"}, "--sqlite FILE is required", "run 'minitwit import --help' for its usage"},
		{[]string{"serve", "--htp-addr", "x"}, "unknown flag --htp-addr; did you mean --http-addr?", "run 'minitwit serve --help' for its usage"},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`, "run 'minitwit serve --help' for its usage"},
		{[]string{"simulate"}, "--url is required", "run 'minitwit simulate --help' for its usage"},
		{[]string{"version", "now"}, `unexpected argument "now"`, "run 'minitwit version --help' for its usage"},
	}
	for _, c := range cases {
		stdout, stderr, code := runCLI(c.args...)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if code != 2 || stdout != "" || len(lines) != 2 || !strings.Contains(lines[0], c.want) || lines[1] != c.hint {
			t.Errorf("minitwit %v: exit %d, stdout %q, stderr %q;\nwant exit 2 and two lines: one containing %q, then %q", c.args, code, stdout, stderr, c.want, c.hint)
		}
	}
	// An unknown key in the configuration file: one line with a guess.
	if _, stderr, code := runCLI("serve", "--config", conf); code != 2 || strings.Count(stderr, "\n") != 1 ||
		!strings.Contains(stderr, "data_dri") || !strings.Contains(stderr, "did you mean data_dir?") {
		t.Errorf("serve with a mistyped key: exit %d, %q", code, stderr)
	}
}

// TestHelp: --help prints the whole usage on stdout and succeeds, for every
// command, version included.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		for _, help := range []string{"--help", "-h"} {
			stdout, stderr, code := runCLI(c.name, help)
			if code != 0 || stderr != "" || !strings.Contains(stdout, "Usage: minitwit "+c.name) {
				t.Errorf("minitwit %s %s: exit %d, stdout %q, stderr %q; want the usage on stdout", c.name, help, code, stdout, stderr)
			}
		}
	}
	if stdout, _, _ := runCLI("version", "--help"); !strings.Contains(stdout, "commit") || !strings.Contains(stdout, "build date") {
		t.Errorf("version --help says nothing of what it prints: %q", stdout)
	}
	if stdout, _, _ := runCLI("cluster", "--help"); !strings.Contains(stdout, "-data-dir") || !strings.Contains(stdout, "transfer") || !strings.Contains(stdout, "token --rotate") {
		t.Errorf("cluster --help lacks its commands or flags: %q", stdout)
	}
}

// TestFlagsAnywhere: flags are read before and after a command's
// positional arguments alike; "--" ends them. A data dir without a node
// certificate shows which data dir the command took.
func TestFlagsAnywhere(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"cluster", "--data-dir", dir, "status"},
		{"cluster", "status", "--data-dir", dir},
		{"cluster", "--timeout", "5s", "transfer", "node2", "--data-dir", dir},
		{"flag", "--list", "--data-dir", dir},
		{"flag", "--data-dir", dir, "7", "--unflag", "8"},
	} {
		_, stderr, code := runCLI(args...)
		if code != 1 || !strings.Contains(stderr, "no node certificate in "+dir) {
			t.Errorf("minitwit %v: exit %d, %q; want the certificate of %s looked for", args, code, stderr, dir)
		}
	}

	fs := newFlagSet("test", "")
	v := fs.Bool("v", false, "")
	n := fs.String("n", "", "")
	for _, c := range []struct {
		args []string
		pos  string
		v    bool
		n    string
	}{
		{[]string{"a", "-v", "b", "-n", "x", "c"}, "a b c", true, "x"},
		{[]string{"-n=y", "a"}, "a", false, "y"},
		{[]string{"a", "--", "-v", "b"}, "a -v b", false, ""},
		{[]string{"--", "--"}, "--", false, ""},
	} {
		*v, *n = false, ""
		pos, code, done := parseFlags(fs, c.args, io.Discard, io.Discard)
		if done || code != 0 || strings.Join(pos, " ") != c.pos || *v != c.v || *n != c.n {
			t.Errorf("parseFlags %q: positional %q, v %v, n %q, done %v; want %q, %v, %q", c.args, pos, *v, *n, done, c.pos, c.v, c.n)
		}
	}
}

// TestLocalMember: how the tools find the node of a data dir, and what
// they say when the record is stale or nothing answers.
func TestLocalMember(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nothing := closed.Addr().String()
	closed.Close()
	// A process that has ended: its pid is free (and not reused within
	// this test, in all likelihood; a reused one reads as "does not
	// answer", which fails the test on the message only).
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	record := func(l node.Listening) string {
		dir := t.TempDir()
		data, _ := json.Marshal(l)
		if err := os.WriteFile(node.ListenFile(dir), data, 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	cases := []struct {
		name      string
		dir, flag string
		raftAddr  string // the configuration's
		want      string // the address, or a part of the error
		ok        bool
	}{
		{"--addr wins", record(node.Listening{PID: os.Getpid(), RaftAddr: nothing}), "10.0.0.1:7000", nothing, "10.0.0.1:7000", true},
		{"the record", record(node.Listening{PID: os.Getpid(), RaftAddr: ln.Addr().String()}), "", nothing, ln.Addr().String(), true},
		{"no record, raft_addr answers", t.TempDir(), "", ln.Addr().String(), ln.Addr().String(), true},
		{"no record, nothing answers", t.TempDir(), "", nothing, "it has no listen.json, and nothing answers at " + nothing, false},
		{"killed", record(node.Listening{PID: ended.Process.Pid, RaftAddr: ln.Addr().String()}), "", nothing, "has ended without a clean stop (killed or crashed)", false},
		{"not answering", record(node.Listening{PID: os.Getpid(), RaftAddr: nothing}), "", nothing, "does not answer at its internode address " + nothing, false},
	}
	for _, c := range cases {
		cfg := config.Default()
		cfg.DataDir, cfg.RaftAddr = c.dir, c.raftAddr
		addr, err := localMember(cfg, c.flag)
		switch {
		case c.ok && (err != nil || addr != c.want):
			t.Errorf("%s: %q, %v; want %q", c.name, addr, err, c.want)
		case !c.ok && (err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "http://")):
			t.Errorf("%s: %q, %v; want an error containing %q", c.name, addr, err, c.want)
		}
	}
}
