package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportRules: the dependencies point down the architecture's table
// (../shared/spec/architecture.md, README's layout). Each rule names a
// package (or a folder with "/...") and the project packages it may reach,
// directly or through others; non-test packages only, so tests may still
// start a node with its web layer.
func TestImportRules(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go tool is not on PATH:", err)
	}
	// One line per package: its import path, then every package it
	// depends on, transitively.
	out, err := exec.Command(goTool, "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "minitwit/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		deps[fields[0]] = fields[1:]
	}
	if len(deps["minitwit/node"]) == 0 {
		t.Fatalf("go list found no dependencies of minitwit/node:\n%s", out)
	}

	const (
		auth     = "minitwit/httpui/auth"
		nodeinfo = "minitwit/node/nodeinfo"
		config   = "minitwit/node/config"
		ops      = "minitwit/ops"
		username = "minitwit/store/username"
		alerting = "minitwit/ops/alerting"
		fsutil   = "minitwit/store/fsutil"
		status   = "minitwit/ops/httpstatus"
	)
	rules := []struct {
		pkgs    string
		allowed func(dep string) bool // for project packages only
		why     string
	}{
		{"minitwit/node/...", func(d string) bool { return d == auth || !under(d, "minitwit/httpui") },
			"node never imports the web layer (cmd/minitwit wires it); httpui/auth is a leaf"},
		{config, oneOf(auth, nodeinfo, ops, username), "the configuration imports only leaf types"},
		{nodeinfo, oneOf(ops, alerting), "node/nodeinfo is a leaf"},
		{alerting, oneOf(), "ops/alerting is a leaf: the rules and the webhook, fed plain facts"},
		{auth, oneOf(), "httpui/auth is a leaf (std, x/crypto and pquerna/otp)"},
		{username, oneOf(), "store/username is a leaf"},
		{fsutil, oneOf(), "store/fsutil is a leaf (the standard library only)"},
		{status, oneOf(), "ops/httpstatus is a leaf (the standard library only): httpui and node/cluster share it"},
		{"minitwit/ops/testbuf", oneOf(), "ops/testbuf is a leaf (the standard library only): every package's tests may use it"},
		{"minitwit/store", oneOf(username, fsutil), "the store knows nothing of Raft or HTTP"},
		{"minitwit/raftfsm", oneOf("minitwit/store", username, fsutil), "the state machine sits on the store only"},
		{"minitwit/node/importer", oneOf("minitwit/raftfsm", "minitwit/store", username, fsutil, auth), "the import reads SQLite into commands"},
		{"minitwit/node/cluster", func(d string) bool { return d != "minitwit/node" && !under(d, "minitwit/httpui") },
			"the internode port serves the node through cluster.Host: it never imports node (no cycle) nor the web layer"},
		{"minitwit/node/publictls", oneOf("minitwit/raftfsm", "minitwit/store", username, fsutil), "the public certificates sit on the replicated state only"},
		{"minitwit/httpui", func(d string) bool { return !under(d, "minitwit/node") || d == nodeinfo || d == config },
			"httpui talks to the node through its own interfaces; node/nodeinfo and node/config are leaves"},
		{"minitwit/...", func(d string) bool { return !under(d, "minitwit/cmd") }, "nothing imports cmd"},
	}
	for _, d := range deps["minitwit/raftfsm"] {
		if under(d, "github.com/caddyserver/certmagic") {
			t.Errorf("minitwit/raftfsm imports %s: certmagic's Storage lives in node/publictls", d)
		}
	}
	for _, r := range rules {
		matched := false
		for pkg, ds := range deps {
			if !under(pkg, strings.TrimSuffix(r.pkgs, "/...")) || (!strings.HasSuffix(r.pkgs, "/...") && pkg != r.pkgs) {
				continue
			}
			if r.pkgs == "minitwit/..." && under(pkg, "minitwit/cmd") {
				continue
			}
			matched = true
			for _, d := range ds {
				if under(d, "minitwit") && !r.allowed(d) {
					t.Errorf("%s imports %s: %s", pkg, d, r.why)
				}
			}
		}
		if !matched {
			t.Errorf("rule %q matches no package: the layout changed, update the rule", r.pkgs)
		}
	}
}

// under reports whether pkg is path or inside it.
func under(pkg, path string) bool { return pkg == path || strings.HasPrefix(pkg, path+"/") }

func oneOf(pkgs ...string) func(string) bool {
	return func(d string) bool { return slices.Contains(pkgs, d) }
}
