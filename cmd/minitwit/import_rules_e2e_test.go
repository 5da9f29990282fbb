//go:build e2e

package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestImportCLIReportsSkippedRowsAndRefusesViews: `minitwit import` lists
// the rows it left out with why, and refuses a file whose user is a view
// with one line.
func TestImportCLIReportsSkippedRowsAndRefusesViews(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "import.toml")
	os.WriteFile(conf, []byte(`data_dir = "`+filepath.Join(dir, "data")+`"
http_addr = "127.0.0.1:0"
raft_addr = "127.0.0.1:0"
node_id = "imported"
`), 0o600)
	write := func(name string, stmts ...string) string {
		path := filepath.Join(dir, name)
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		return path
	}
	const hash = "17abdc5e6ac322194520d06a76dba438"
	tables := []string{
		`CREATE TABLE follower (who_id integer, whom_id integer)`,
		`CREATE TABLE message (message_id integer primary key, author_id integer, text string, pub_date integer, flagged integer)`,
	}
	good := write("good.db", append(tables,
		`CREATE TABLE user (user_id integer primary key, username string, email string, pw_hash string)`,
		`INSERT INTO user VALUES (1, 'alice', 'a@x', '`+hash+`'), (2, 'admin', 'b@x', '`+hash+`')`,
		`INSERT INTO message VALUES (1, 2, 'hi', 0, 0)`)...)
	code, out := runTool("import", "--sqlite", good, "--config", conf)
	if code != 0 || !strings.Contains(out, "users     1 new, 0 already there, 0 refused, 1 skipped") ||
		!strings.Contains(out, `user user_id 2: invalid value: username "admin" is the name of a page`) ||
		!strings.Contains(out, "message message_id 1: author_id 2 is not an imported user") {
		t.Fatalf("import: %d\n%s", code, out)
	}
	// Into the same data dir: "alice" is there already, "ALICE" is a
	// look-alike of it and is named.
	again := write("again.db", append(tables,
		`CREATE TABLE user (user_id integer primary key, username string, email string, pw_hash string)`,
		`INSERT INTO user VALUES (1, 'alice', 'a@x', '`+hash+`'), (2, 'ALICE', 'b@x', '`+hash+`')`)...)
	code, out = runTool("import", "--sqlite", again, "--config", conf)
	if code != 0 || !strings.Contains(out, "users     0 new, 1 already there, 0 refused, 1 skipped") ||
		!strings.Contains(out, `user user_id 2: username "ALICE" clashes with the existing user "alice"`) {
		t.Fatalf("import of a look-alike: %d\n%s", code, out)
	}
	view := write("view.db", append(tables,
		`CREATE VIEW user(user_id, username, email, pw_hash) AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT i, 'u' || i, '', 'x' FROM c`)...)
	code, out = runTool("import", "--sqlite", view, "--config", conf)
	if code != 1 || !strings.Contains(out, `"user" is a view, not a table`) {
		t.Fatalf("import of a view: %d\n%s", code, out)
	}
}
