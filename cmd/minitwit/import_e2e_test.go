//go:build e2e

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"minitwit/node/nodetest"
	"minitwit/ops/simulate"
)

type apiMsg struct {
	Content string `json:"content"`
	User    string `json:"user"`
}

func legacyUserMessages(t *testing.T, n *clNode, user string) []apiMsg {
	t.Helper()
	var out []apiMsg
	legacyGetJSON(t, n, "/api/msgs/"+url.PathEscape(user)+"?no=100000", &out)
	return out
}

func legacyUserFollows(t *testing.T, n *clNode, user string) []string {
	t.Helper()
	var out struct {
		Follows []string `json:"follows"`
	}
	legacyGetJSON(t, n, "/api/fllws/"+url.PathEscape(user)+"?no=100000", &out)
	slices.Sort(out.Follows)
	return out.Follows
}

func legacyGetJSON(t *testing.T, n *clNode, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.base()+path, nil)
	req.Header.Set("Authorization", "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestImportLegacyDatabaseE2E: the course database left by the scenario,
// imported with `minitwit import`, serves the same per-user timelines (in
// the same order) and follows as a node that replayed the scenario, minus
// the database's flagged messages; users log in with their scenario
// passwords.
func TestImportLegacyDatabaseE2E(t *testing.T) {
	t.Parallel()
	legacy := nodetest.SharedData(t, "minitwit_legacy.db")
	actions := clScenario(t)

	replayed := newClNode(t, "replayed", "")
	replayed.start(t)
	replayed.waitReady(t)
	if s, err := simulate.Run(context.Background(), actions, simulate.Options{BaseURL: replayed.base() + "/api", Concurrency: 8, Timeout: clRequestTimeout}); err != nil || s.Errors != 0 {
		t.Fatalf("replaying the scenario: %v, %d errors", err, s.Errors)
	}

	imported := newClNode(t, "imported", "")
	conf := filepath.Join(t.TempDir(), "import.toml")
	os.WriteFile(conf, []byte(`data_dir = "`+imported.dataDir+`"
http_addr = "127.0.0.1:0"
raft_addr = "127.0.0.1:0"
node_id = "imported"
`), 0o600)
	code, out := runTool("import", "--sqlite", legacy, "--config", conf)
	if code != 0 || !strings.Contains(out, "users     200 new") || !strings.Contains(out, "messages  11306 of 11306 (2 flagged") {
		t.Fatalf("import: %d\n%s", code, out)
	}
	t.Logf("%s", out)
	// Twice: nothing new.
	if code, out := runTool("import", "--sqlite", legacy, "--config", conf); code != 0 || !strings.Contains(out, "users     0 new, 200 already there") {
		t.Fatalf("second import: %d\n%s", code, out)
	}
	// A data dir prepared offline carries state, not identity: the node
	// id and addresses come from the first serve.
	for _, name := range []string{"node-id", "raft"} {
		if _, err := os.Stat(filepath.Join(imported.dataDir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the import left %s in the data dir (%v)", name, err)
		}
	}
	imported.start(t)
	imported.waitReady(t)

	// The flagged messages, from the source.
	db, err := sql.Open("sqlite", "file:"+legacy+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	flagged := map[apiMsg]bool{}
	rows, err := db.Query(`SELECT m.text, u.username FROM message m JOIN user u ON u.user_id = m.author_id WHERE m.flagged != 0`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m apiMsg
		rows.Scan(&m.Content, &m.User)
		flagged[m] = true
	}
	rows.Close()
	if len(flagged) != 2 {
		t.Fatalf("%d flagged messages in the source, want 2", len(flagged))
	}

	passwords := map[string]string{}
	for _, a := range actions {
		if a.Command == simulate.CmdRegister {
			passwords[a.User] = a.Password
		}
	}
	hidden := 0
	for user := range passwords {
		want := legacyUserMessages(t, replayed, user)
		var kept []apiMsg
		for _, m := range want {
			if flagged[m] {
				hidden++
				continue
			}
			kept = append(kept, m)
		}
		if got := legacyUserMessages(t, imported, user); !slices.Equal(got, kept) {
			t.Errorf("%s: %d messages imported, %d replayed (less flagged); first difference in order or content", user, len(got), len(kept))
		}
		if got, want := legacyUserFollows(t, imported, user), legacyUserFollows(t, replayed, user); !slices.Equal(got, want) {
			t.Errorf("%s follows %v after the import, %v after the replay", user, got, want)
		}
	}
	if hidden != 2 {
		t.Errorf("%d flagged messages found in the replay, want 2", hidden)
	}
	checked := 0
	for user, pw := range passwords {
		if checked == 3 {
			break
		}
		checked++
		form := url.Values{"username": {user}, "password": {pw}}
		hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest(http.MethodPost, imported.base()+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s cannot log in with the scenario password: %d", user, resp.StatusCode)
		}
	}
}

// TestAdminAPIOverHTTP: with admin.token set, `minitwit import --url` and
// `minitwit backup --url` work against a node anywhere; a wrong token is
// refused and changes nothing.
func TestAdminAPIOverHTTP(t *testing.T) {
	t.Parallel()
	legacy := nodetest.SharedData(t, "minitwit_legacy.db")
	const token = "admin-token-for-the-e2e-test"
	s := startServer(t, t.TempDir(), "MINITWIT_ADMIN_TOKEN="+token)
	out := filepath.Join(t.TempDir(), "remote.mtb")
	if code, msg := runTool("backup", "--url", s.base, "--token", "wrong-token-wrong-token", "--out", out); code != 1 || !strings.Contains(msg, "401") {
		t.Fatalf("backup with a wrong token: %d %s", code, msg)
	}
	if code, msg := runTool("import", "--url", s.base, "--token", "wrong-token-wrong-token", "--sqlite", legacy); code != 1 || !strings.Contains(msg, "401") {
		t.Fatalf("import with a wrong token: %d %s", code, msg)
	}
	code, msg := runTool("import", "--url", s.base, "--token", token, "--sqlite", legacy)
	if code != 0 || !strings.Contains(msg, "users     200 new") || !strings.Contains(msg, "messages  11306 of 11306") {
		t.Fatalf("import over HTTP: %d %s", code, msg)
	}
	notADB := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notADB, []byte("just some text, not a database\n"), 0o600)
	if code, msg := runTool("import", "--url", s.base, "--token", token, "--sqlite", notADB); code != 1 || !strings.Contains(msg, "not a") {
		t.Fatalf("importing a file that is not a database: %d %s", code, msg)
	}
	if code, msg := runTool("backup", "--url", s.base, "--token", token, "--out", out); code != 0 || !strings.Contains(msg, "taken by "+s.base) {
		t.Fatalf("backup over HTTP: %d %s", code, msg)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if code, msg := runTool("restore", "--data-dir", restored, out); code != 0 {
		t.Fatalf("restoring the remote backup: %d %s", code, msg)
	}
}
