package main

// In-process tests of the command line: run() with arguments, no binary
// built, no process started.

import (
	"bytes"
	"strings"
	"testing"
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
