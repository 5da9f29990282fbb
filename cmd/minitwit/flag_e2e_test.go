//go:build e2e

package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"minitwit/ops/simulate"
)

// publicTexts returns the texts of GET /api/msgs.
func publicTexts(t *testing.T, n *clNode) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.base()+"/api/msgs?no=100", nil)
	req.Header.Set("Authorization", "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var msgs []struct {
		Content string `json:"content"`
	}
	json.Unmarshal(b, &msgs)
	var out []string
	for _, m := range msgs {
		out = append(out, m.Content)
	}
	return out
}

// TestFlagCommand: `minitwit flag` hides a message on every node, --list
// shows it, --unflag brings it back, and an unknown id is a clear error.
func TestFlagCommand(t *testing.T) {
	t.Parallel()
	nodes := clStartCluster(t)
	actions := []simulate.Action{
		{ID: 1, Command: simulate.CmdRegister, User: "mod", Arg: "m@x", Password: "p"},
		{ID: 2, Command: simulate.CmdTweet, User: "mod", Arg: "fine"},
		{ID: 3, Command: simulate.CmdTweet, User: "mod", Arg: "rude"},
	}
	if s, err := simulate.Run(context.Background(), actions, simulate.Options{BaseURL: nodes[0].base() + "/api", Timeout: clRequestTimeout}); err != nil || s.Errors != 0 {
		t.Fatalf("setup: %v %+v", err, s)
	}
	local := []string{"--data-dir", nodes[1].dataDir, "--addr", nodes[1].raftAddr}
	if code, out := runTool(append([]string{"flag"}, append(local, "2")...)...); code != 0 || !strings.Contains(out, "message 2 flagged") {
		t.Fatalf("flag 2: %d %s", code, out)
	}
	for _, n := range nodes {
		if got := strings.Join(publicTexts(t, n), ","); got != "fine" {
			t.Errorf("%s lists %q after the flag, want only \"fine\"", n.name, got)
		}
	}
	if code, out := runTool(append([]string{"flag", "--list"}, local...)...); code != 0 || !strings.Contains(out, `"rude"`) || strings.Contains(out, `"fine"`) {
		t.Fatalf("flag --list: %d %s", code, out)
	}
	if code, out := runTool(append([]string{"flag"}, append(local, "99")...)...); code != 1 || !strings.Contains(out, "no message 99") {
		t.Fatalf("flag 99: %d %s", code, out)
	}
	if code, out := runTool(append([]string{"flag", "--unflag"}, append(local, "2")...)...); code != 0 {
		t.Fatalf("unflag 2: %d %s", code, out)
	}
	if got := strings.Join(publicTexts(t, nodes[2]), ","); got != "rude,fine" {
		t.Errorf("after unflagging: %q", got)
	}
	if code, _ := runTool("flag", "--list", "3"); code != 2 {
		t.Error("--list with ids was accepted")
	}
}
