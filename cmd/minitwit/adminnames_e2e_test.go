//go:build e2e

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminCommandsResolveFoldedNames: every `minitwit admin` action takes
// a user's name as the cluster keeps names unique, regardless of case and
// Unicode form: create refuses a name taken that way and names the stored
// spelling; grant, revoke, reset-password and reset-2fa act on the one
// user the name can mean and say who that is. The same through a running
// node (over the internode port), on its stopped data dir (the node is
// started for the change) and on a data dir never served (the data file
// directly).
func TestAdminCommandsResolveFoldedNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	if st, err := post(s.base, "/register", map[string]string{"username": "alice", "email": "a@x", "pwd": "alice's password"}); err != nil || st != http.StatusNoContent {
		t.Fatalf("registering alice: %d %v", st, err)
	}
	type step struct {
		args     []string
		code     int
		contains []string
	}
	steps := []step{
		{[]string{"create", "ALICE"}, 1, []string{`a user called "alice" exists`, "minitwit admin grant alice"}},
		{[]string{"grant", "ALICE"}, 0, []string{`"ALICE" is the user alice`, "alice is now an admin"}},
		{[]string{"revoke", "Alice"}, 0, []string{`"Alice" is the user alice`, "alice is no longer an admin"}},
		{[]string{"reset-2fa", "ALİCE"}, 1, []string{`there is no user called "ALİCE"`}}, // dotted İ folds to i̇, not i
		{[]string{"reset-2fa", "aLiCe"}, 0, []string{`"aLiCe" is the user alice`, "alice had no two-factor sign-in"}},
		{[]string{"grant", "nobody"}, 1, []string{`there is no user called "nobody"`}},
		{[]string{"reset-password", "ALICE"}, 0, []string{`"ALICE" is the user alice`, "password of alice replaced", "one-time password"}},
	}
	check := func(where string, steps []step, admin func(args ...string) (int, string)) string {
		t.Helper()
		var last string
		for _, c := range steps {
			code, out := admin(c.args...)
			if code != c.code {
				t.Errorf("%s: admin %v: exit %d, want %d\n%s", where, c.args, code, c.code, out)
			}
			for _, want := range c.contains {
				if !strings.Contains(out, want) {
					t.Errorf("%s: admin %v: output lacks %q\n%s", where, c.args, want, out)
				}
			}
			last = out
		}
		return last
	}

	// Through the running node.
	out := check("running", steps, func(args ...string) (int, string) {
		return runTool(append(append([]string{"admin"}, args...), "--data-dir", dir)...)
	})
	otp := admOneTimePassword(t, out)
	if to := newAdmBrowser(t).signIn(s.base, "alice", otp); to != "/login/password" {
		t.Errorf("alice signing in with the one-time password ALICE's reset printed leads to %q, want /login/password", to)
	}

	// On the stopped node's data dir.
	admStop(t, s)
	conf := filepath.Join(t.TempDir(), "admin.toml")
	if err := os.WriteFile(conf, []byte(`data_dir = "`+dir+`"
http_addr = "127.0.0.1:0"
raft_addr = "127.0.0.1:0"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	check("stopped", steps, func(args ...string) (int, string) {
		return runTool(append(append([]string{"admin"}, args...), "--config", conf)...)
	})

	// On a data dir never served: commands go to the data file directly.
	fresh := filepath.Join(t.TempDir(), "new")
	freshConf := filepath.Join(t.TempDir(), "new.toml")
	if err := os.WriteFile(freshConf, []byte(`data_dir = "`+fresh+`"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	check("never served", []step{
		{[]string{"create", "Boss", "--email", "b@x"}, 0, []string{"created admin Boss"}},
		{[]string{"create", "boss"}, 1, []string{`a user called "Boss" exists`}},
		{[]string{"reset-password", "BOSS"}, 0, []string{`"BOSS" is the user Boss`, "password of Boss replaced"}},
		{[]string{"revoke", "boss"}, 1, []string{`"Boss" is the last admin`}},
	}, func(args ...string) (int, string) {
		return runTool(append(append([]string{"admin"}, args...), "--config", freshConf)...)
	})
}
