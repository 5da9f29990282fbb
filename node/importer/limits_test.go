package importer_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/importer"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
	"minitwit/store"
)

// sqliteFile writes a SQLite database built by stmts, each with its args.
func sqliteFile(t *testing.T, stmts ...[]any) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "import.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s[0].(string), s[1:]...); err != nil {
			t.Fatalf("%.80s: %v", s[0], err)
		}
	}
	return path
}

func q(sql string, args ...any) []any { return append([]any{sql}, args...) }

var (
	userTable     = q(`CREATE TABLE user (user_id integer primary key autoincrement, username string not null, email string not null, pw_hash string not null)`)
	followerTable = q(`CREATE TABLE follower (who_id integer, whom_id integer)`)
	messageTable  = q(`CREATE TABLE message (message_id integer primary key autoincrement, author_id integer not null, text string not null, pub_date integer, flagged integer)`)
)

// noProposals is a Proposer for imports that must be refused before
// anything is proposed.
type noProposals struct{ t *testing.T }

func (p noProposals) Propose(context.Context, raftfsm.Command) (raftfsm.Result, error) {
	p.t.Error("the import proposed a command")
	return raftfsm.Result{}, errors.New("no proposals expected")
}

// TestImportReadsTablesOnly: a user, follower or message that is a view is
// refused with one error before anything is proposed, a recursive view
// (which would yield rows without end) included.
func TestImportReadsTablesOnly(t *testing.T) {
	t.Parallel()
	recursive := q(`CREATE VIEW user(user_id, username, email, pw_hash) AS
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT i, 'u' || i, '', 'x' FROM c`)
	cases := map[string][][]any{
		"recursive user view": {recursive, followerTable, messageTable},
		"user view": {q(`CREATE TABLE people (user_id integer primary key, username string, email string, pw_hash string)`),
			q(`CREATE VIEW user AS SELECT * FROM people`), followerTable, messageTable},
		"follower view": {userTable, q(`CREATE VIEW follower(who_id, whom_id) AS SELECT 1, 2`), messageTable},
		"message view": {userTable, followerTable,
			q(`CREATE VIEW message(message_id, author_id, text, pub_date, flagged) AS SELECT 1, 1, 'x', 0, 0`)},
		"upper-case view name": {q(`CREATE VIEW USER(user_id, username, email, pw_hash) AS SELECT 1, 'a', '', 'x'`), followerTable, messageTable},
	}
	for name, stmts := range cases {
		path := sqliteFile(t, stmts...)
		// The deadline is only a backstop: the import must return its
		// own error long before it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := importer.FromSQLite(ctx, path, noProposals{t}, nil)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "is a view, not a table") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestImportRowCountCap: a file with more rows than the limits is refused
// whole before anything is proposed.
func TestImportRowCountCap(t *testing.T) {
	t.Parallel()
	path := courseDB(t)
	limits := importer.DefaultLimits
	limits.Messages = 4 // the file has 5
	_, err := importer.FromSQLiteLimits(context.Background(), path, noProposals{t}, nil, limits)
	if err == nil || !strings.Contains(err.Error(), `table "message" has 5 rows, more than the 4`) {
		t.Fatalf("over the cap: %v", err)
	}
}

// TestImportSkipsRowsThatBreakTheRules: huge values, reserved and
// look-alike names, control characters in e-mails and hashes in no known
// format are left out and named in the report, with everything that
// depended on them; the good rows are imported; a second run changes
// nothing.
func TestImportSkipsRowsThatBreakTheRules(t *testing.T) {
	t.Parallel()
	n, _ := nodetest.StartDefault(t, web)
	huge := strings.Repeat("a", 1<<20)
	hash := legacyUsers[0].hash
	path := sqliteFile(t, userTable, followerTable, messageTable,
		q(`INSERT INTO user VALUES (1, 'alice', 'a@x', ?)`, hash),
		q(`INSERT INTO user VALUES (2, 'bob', 'b@x', ?)`, hash),
		q(`INSERT INTO user VALUES (3, ?, 'h@x', ?)`, huge, hash),
		q(`INSERT INTO user VALUES (4, 'bigmail', ?, ?)`, huge, hash),
		q(`INSERT INTO user VALUES (5, 'bighash', 'c@x', ?)`, huge),
		q(`INSERT INTO user VALUES (6, 'admin', 'd@x', ?)`, hash),
		q(`INSERT INTO user VALUES (7, 'Login', 'e@x', ?)`, hash),
		q(`INSERT INTO user VALUES (8, ?, 'f@x', ?)`, "alice\u200b", hash),
		q(`INSERT INTO user VALUES (9, 'Alice', 'g@x', ?)`, hash),
		q(`INSERT INTO user VALUES (10, ?, 'h@x', ?)`, "\u202eecila", hash),
		q(`INSERT INTO user VALUES (11, ' carol', 'i@x', ?)`, hash),
		q(`INSERT INTO user VALUES (12, ?, 'j@x', ?)`, "jose\u0301", hash),
		q(`INSERT INTO user VALUES (13, 'dave', ?, ?)`, "d@x\nBcc: e@x", hash),
		q(`INSERT INTO user VALUES (14, 'erin', 'k@x', 'not a hash')`),
		q(`INSERT INTO user VALUES (15, 'frank', 'l@x', '')`),
		q(`INSERT INTO user VALUES (16, 'gina', 'm@x', 'scrypt:1048576:8:1$saltsalt$abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab')`),
		q(`INSERT INTO user VALUES (17, 'hugo', 'n@x', '$argon2id$v=19$m=262144,t=16,p=255$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA')`),
		q(`INSERT INTO follower VALUES (1, 2), (2, 1), (1, 9), (3, 1), ('one', 2)`),
		q(`INSERT INTO message VALUES (1, 1, 'hello', 1600000000, 0), (2, 2, ?, 1600000001, 0), (3, 6, 'from admin', 1600000002, 0), (4, 2, 'bye', 1600000003, 0), (5, 'one', 'x', 0, 0), (6, 1, 'x', 'today', 0), (7, 1, 'x', 0, 1.5)`, huge),
	)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := importer.FromSQLite(ctx, path, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Users != 2 || rep.UsersSkipped != 15 || rep.Follows != 2 || rep.FollowsRefused != 3 ||
		rep.Messages != 2 || rep.MessagesSkipped != 5 || rep.MessagesTotal != 7 {
		t.Errorf("report %+v", rep)
	}
	reasons := map[string]string{}
	for _, s := range rep.Skips {
		reasons[s.Table+" "+s.Row] = s.Reason
	}
	for row, want := range map[string]string{
		"user user_id 3":               "username of 1048576 bytes",
		"user user_id 4":               "e-mail address of 1048576 bytes",
		"user user_id 5":               "password hash of 1048576 bytes",
		"user user_id 6":               "is the name of a page",
		"user user_id 7":               "is the name of a page",
		"user user_id 8":               "invisible or formatting character U+200B",
		"user user_id 9":               `"Alice" differs from "alice" only in case`,
		"user user_id 10":              "invisible or formatting character U+202E",
		"user user_id 11":              "starts or ends with a space",
		"user user_id 12":              "normal form C",
		"user user_id 13":              "not one line",
		"user user_id 14":              "not a hash format",
		"user user_id 15":              "password hash empty",
		"user user_id 16":              "outside the accepted range",
		"user user_id 17":              "outside the accepted range",
		"follower who_id 1, whom_id 9": "not both imported users",
		"follower who_id 3, whom_id 1": "not both imported users",
		"message message_id 2":         "text of 1048576 bytes",
		"message message_id 3":         "author_id 6 is not an imported user",
		"message message_id 5":         "author_id 0 is not an imported user",
		"message message_id 6":         "pub_date or flagged is not an integer",
		"message message_id 7":         "pub_date or flagged is not an integer",
		"follower who_id 0, whom_id 2": "not both imported users",
	} {
		if !strings.Contains(reasons[row], want) {
			t.Errorf("%s: reason %q, want it to say %q", row, reasons[row], want)
		}
	}
	st, err := n.ReadStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.View(func(r *store.ReadTx) error {
		if c := r.Counts(); c.Users-c.Admins != 2 || c.Messages != 2 || c.Follows != 2 {
			t.Errorf("counts %+v", c)
		}
		for _, name := range []string{"Alice", "alice\u200b", "Login"} {
			if _, err := r.UserByName(name); err == nil {
				t.Errorf("%q was imported", name)
			}
		}
		return nil
	})

	before := digest(t, n)
	limits := importer.DefaultLimits
	limits.Skips = 3
	again, err := importer.FromSQLiteLimits(ctx, path, n, nil, limits)
	if err != nil {
		t.Fatal(err)
	}
	if again.Users != 0 || again.UsersExisting != 2 || digest(t, n) != before {
		t.Fatalf("a second import changed something: %+v", again)
	}
	if len(again.Skips) != 3 || again.SkipsNotListed != 15+3+5-3 {
		t.Errorf("with Skips 3: %d listed, %d not", len(again.Skips), again.SkipsNotListed)
	}
}

// proposeOnly hides everything of a node but Propose, as a remote proposer
// (`minitwit import` into a running node) offers: no importer.NameSource.
type proposeOnly struct{ p importer.Proposer }

func (p proposeOnly) Propose(ctx context.Context, cmd raftfsm.Command) (raftfsm.Result, error) {
	return p.p.Propose(ctx, cmd)
}

// TestImportLookAlikesOfExistingUsers: a row with the name of a user
// already there counts as already there (a second import changes nothing),
// but a row whose name differs from an existing user's only in case or
// Unicode form ("ALICE" beside "alice") is skipped with the clash named,
// and its follows and messages with it: through a node (which shows the
// import its names), through a proposer that does not (the state
// machine's refusal says it is a look-alike), and into a stopped data dir
// whose state machine does not check folded names yet and holds two
// names that fold alike from before.
func TestImportLookAlikesOfExistingUsers(t *testing.T) {
	t.Parallel()
	hash := legacyUsers[2].hash
	path := sqliteFile(t, userTable, followerTable, messageTable,
		q(`INSERT INTO user VALUES (1, 'alice', 'a@x', ?)`, hash),
		q(`INSERT INTO user VALUES (2, 'ALICE', 'b@x', ?)`, hash),
		q(`INSERT INTO user VALUES (3, 'bob', 'c@x', ?)`, hash),
		q(`INSERT INTO user VALUES (4, 'newcomer', 'd@x', ?)`, hash),
		q(`INSERT INTO follower VALUES (4, 1), (4, 2), (3, 4)`),
		q(`INSERT INTO message VALUES (1, 1, 'from alice', 1600000000, 0), (2, 2, 'from ALICE', 1600000001, 0), (3, 3, 'from bob', 1600000002, 0), (4, 4, 'hi', 1600000003, 0)`),
	)
	check := func(t *testing.T, p importer.Proposer, existing ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, name := range existing {
			res, err := p.Propose(ctx, &raftfsm.Register{Username: name, Email: name + "@old", PasswordHash: hash})
			if err != nil || res.Err != nil {
				t.Fatalf("registering %q: %v %v", name, err, res.Err)
			}
		}
		for run := 1; run <= 2; run++ {
			rep, err := importer.FromSQLite(ctx, path, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantNew, wantExisting, wantFollows, wantMessages := 1, 1, 1, 2
			if run == 2 {
				wantNew, wantExisting = 0, 2
			}
			if rep.Users != wantNew || rep.UsersExisting != wantExisting || rep.UsersSkipped != 2 || rep.UsersRefused != 0 ||
				rep.Follows != wantFollows || rep.FollowsRefused != 2 || rep.Messages != wantMessages || rep.MessagesSkipped != 2 {
				t.Errorf("run %d: report %+v", run, rep)
			}
			reasons := map[string]string{}
			for _, s := range rep.Skips {
				reasons[s.Table+" "+s.Row] = s.Reason
			}
			for row, want := range map[string]string{
				"user user_id 2":               `"ALICE"`,
				"user user_id 3":               `"bob"`,
				"follower who_id 4, whom_id 2": "not both imported users",
				"follower who_id 3, whom_id 4": "not both imported users",
				"message message_id 2":         "author_id 2 is not an imported user",
				"message message_id 3":         "author_id 3 is not an imported user",
			} {
				if !strings.Contains(reasons[row], want) || (strings.HasPrefix(row, "user") && !strings.Contains(reasons[row], "only in case")) {
					t.Errorf("run %d: %s: reason %q, want it to name the clash (%s)", run, row, reasons[row], want)
				}
			}
		}
	}

	t.Run("node", func(t *testing.T) {
		t.Parallel()
		n, _ := nodetest.StartDefault(t, web)
		check(t, n, "alice", "Bob")
	})
	t.Run("proposer without names", func(t *testing.T) {
		t.Parallel()
		n, _ := nodetest.StartDefault(t, web)
		// Only the state machine can tell a look-alike here, and it does
		// once the leader has turned folded names on.
		testwait.UntilNil(t, "folded names on", func() error {
			st, err := n.ReadStore(context.Background())
			if err != nil {
				return err
			}
			return st.View(func(r *store.ReadTx) error {
				if !r.FoldedNamesOn() {
					return errors.New("off")
				}
				return nil
			})
		})
		check(t, proposeOnly{n}, "alice", "Bob")
	})
	t.Run("stopped data dir", func(t *testing.T) {
		t.Parallel()
		cfg := nodetest.Config(t.TempDir())
		err := node.WithDataDir(context.Background(), cfg, nodetest.Logger(), func(p node.Proposer) error {
			// "Alice" and "alice" both exist from before the rules:
			// "alice" is still the same name, "ALICE" a look-alike.
			check(t, p, "Alice", "alice", "Bob")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
