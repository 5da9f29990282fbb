package importer_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"minitwit/httpui"
	"minitwit/node"
	"minitwit/node/importer"
	"minitwit/node/nodetest"
	"minitwit/store"
)

// Hashes of "secret pw ü" made by Python's hashlib (as Werkzeug does).
const legacyPassword = "secret pw ü"

var legacyUsers = []struct {
	id         int
	name, hash string
}{
	{1, "werkzeug pbkdf2", "pbkdf2:sha256:600000$AbCdEfGh12345678$447ba0f20b50eb5294b8269d63b7618d4caa4f9c98173ad997c6acb8e9a19c14"},
	{2, "werkzeug scrypt", "scrypt:32768:8:1$AbCdEfGh12345678$3895f8a6879212f867cd666578c134626fd074fca65d24de06d7b6e68d503a4d8a19d42d35fc3d8247096030506f5012cb50c36aee45137005c0d2153bc92000"},
	{3, "bare md5", "17abdc5e6ac322194520d06a76dba438"},
	{4, "bare sha256", "1947c440abc7d39b67157bbb92a0ce7a906d537ef104c78780e5c5d9ff807ffc"},
}

// courseDB writes a SQLite database in the course's schema.
func courseDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "minitwit.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := []string{
		`CREATE TABLE user (user_id integer primary key autoincrement, username string not null, email string not null, pw_hash string not null)`,
		`CREATE TABLE follower (who_id integer, whom_id integer)`,
		`CREATE TABLE message (message_id integer primary key autoincrement, author_id integer not null, text string not null, pub_date integer, flagged integer)`,
	}
	for _, u := range legacyUsers {
		stmts = append(stmts, `INSERT INTO user VALUES (`+strconv.Itoa(u.id)+`, '`+u.name+`', '`+strings.ReplaceAll(u.name, " ", ".")+`@example.org', '`+u.hash+`')`)
	}
	stmts = append(stmts,
		// Duplicate follow rows, as the course apps left them.
		`INSERT INTO follower VALUES (1, 2), (1, 2), (1, 3), (2, 1), (3, 4), (3, 4)`,
		// Times tie; the order must come from the ids. Message 3 is flagged.
		`INSERT INTO message VALUES (1, 1, 'first', 1600000000, 0), (2, 2, 'second', 1600000000, 0), (3, 1, 'flagged one', 1600000000, 1), (4, 1, 'third', 1600000000, 0), (5, 4, 'fourth', 1500000000, 0)`,
	)
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return path
}

// login posts the login form and reports whether it succeeded.
func login(t *testing.T, base, name, password string) bool {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{"username": {name}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther
}

// TestImportCourseDatabase: a course database imports with its users,
// follows (duplicates collapsed) and messages (order from the ids, flagged
// ones hidden); every user logs in with the original password, after which
// the hash is argon2id; a second import changes nothing.
func TestImportCourseDatabase(t *testing.T) {
	t.Parallel()
	n, base := nodetest.StartDefault(t, web)
	path := courseDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := importer.FromSQLite(ctx, path, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := importer.Report{Users: 4, Follows: 4, Messages: 5, MessagesFlagged: 1, MessagesTotal: 5}
	if !reflect.DeepEqual(rep, want) {
		t.Fatalf("report %+v, want %+v", rep, want)
	}
	st, err := n.ReadStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.View(func(r *store.ReadTx) error {
		if c := r.Counts(); c.Users-c.Admins != 4 || c.Messages != 5 || c.Follows != 4 || c.Flagged != 1 { // besides the first admin
			t.Errorf("counts %+v", c)
		}
		pub, _ := r.PublicTimeline(store.Page{Limit: 10})
		var texts []string
		for _, m := range pub.Messages {
			texts = append(texts, m.Text)
		}
		if got := strings.Join(texts, ","); got != "fourth,third,second,first" {
			t.Errorf("public timeline %s, want newest id first without the flagged one", got)
		}
		if pub.Messages[0].PubDate != 1500000000 {
			t.Errorf("message time %d not kept", pub.Messages[0].PubDate)
		}
		return nil
	})
	before := digest(t, n)
	again, err := importer.FromSQLite(ctx, path, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Users != 0 || again.UsersExisting != 4 || digest(t, n) != before {
		t.Fatalf("a second import changed something: %+v", again)
	}

	for _, u := range legacyUsers {
		if login(t, base, u.name, legacyPassword+"!") {
			t.Errorf("%s logged in with a wrong password", u.name)
		}
		if !login(t, base, u.name, legacyPassword) {
			t.Errorf("%s cannot log in with the original password", u.name)
			continue
		}
		st.View(func(r *store.ReadTx) error {
			if got, _ := r.UserByName(u.name); !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
				t.Errorf("%s's hash after login: %.20s", u.name, got.PasswordHash)
			}
			return nil
		})
		if !login(t, base, u.name, legacyPassword) {
			t.Errorf("%s cannot log in again after the upgrade", u.name)
		}
	}
}

func digest(t *testing.T, n *node.Node) string {
	t.Helper()
	d, err := n.Store().Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// web is the test node's public handler, wired as cmd/minitwit wires it:
// the test signs in through the web UI with the imported hashes.
func web(n *node.Node) (node.Handler, error) { return httpui.ForNode(n) }
