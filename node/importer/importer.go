package importer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	"minitwit/httpui/auth"
	"minitwit/raftfsm"
	"minitwit/store"
)

// Import of a database in the course's SQLite schema:
//
//	user(user_id, username, email, pw_hash)
//	follower(who_id, whom_id)                  (no key: duplicates happen)
//	message(message_id, author_id, text, pub_date, flagged)
//
// Everything goes through Raft as ordinary commands, so it works on a
// running cluster as on a fresh data dir. Users become registrations with
// their stored hash (Werkzeug's pbkdf2/scrypt or bare MD5/SHA-256; login
// verifies them and upgrades them to argon2id), follows become follows
// (duplicates collapse), and messages go in message_id order, in batches,
// keeping their time and flag. The import is idempotent: users exist,
// follows exist, and the state machine records which legacy message ids it
// has imported, so a second run changes nothing.

// Proposer is what the import needs: a node, or a client of one
// (node.ClusterClient.Proposer).
type Proposer interface {
	Propose(ctx context.Context, cmd raftfsm.Command) (raftfsm.Result, error)
}

// NameSource is what a Proposer may also offer: the names of the users
// already there (a Node and a stopped data dir do; a remote proposer does
// not). The import folds them (store.FoldName) so that a name of the file
// that differs from an existing one only in case or Unicode form, "Alice"
// beside "alice", is skipped with the clash named rather than counted as
// already there, whether or not the state machine checks folded names yet.
// Without a NameSource the import relies on the state machine, whose
// refusal of a look-alike says so in its message (store.WriteTx.Register);
// before the cluster turned that check on, a look-alike is then imported.
type NameSource interface {
	EachUsername(ctx context.Context, fn func(name string) error) error
}

// Report counts what an import did.
type Report struct {
	Users, UsersExisting, UsersRefused       int
	UsersSkipped                             int // rows that break the import's rules (see Skips)
	Follows, FollowsRefused                  int
	Messages, MessagesFlagged, MessagesTotal int // Messages: imported now or before
	MessagesSkipped                          int // their author is not an imported user, or the text breaks the rules
	// Skips names the first Limits.Skips rows that were skipped or refused,
	// with why; SkipsNotListed counts the others.
	Skips          []Skip `json:",omitempty"`
	SkipsNotListed int    `json:",omitempty"`
}

// Skip is one row the import left out.
type Skip struct {
	Table  string `json:"table"`
	Row    string `json:"row"` // its key, as "user_id 7"
	Reason string `json:"reason"`
}

func (rep *Report) skip(limits Limits, table, row, reason string) {
	if len(rep.Skips) < limits.Skips {
		rep.Skips = append(rep.Skips, Skip{table, row, reason})
	} else {
		rep.SkipsNotListed++
	}
}

// Limits bound what one import reads. Row counts are checked before
// anything is imported: a file over them is refused whole. They are far
// above what the course's deployments reached (a few thousand users, some
// hundred thousand messages) and only there so that a hostile file cannot
// keep a node busy for days.
type Limits struct {
	Users, Follows, Messages int // rows per table
	Skips                    int // skipped rows named in the Report
}

// DefaultLimits are what FromSQLite applies.
var DefaultLimits = Limits{Users: 1_000_000, Follows: 20_000_000, Messages: 50_000_000, Skips: 100}

// checkHash holds a stored password hash to the import's rules before the
// user is proposed; an error skips the row with the error as the reason.
//
// checkHash is the one check of an imported password hash: the format
// every supported hash has, and costs in the ranges real deployments use
// (auth.CheckHashParams: a crafted scrypt or argon2 hash would make every
// sign-in as that user cost seconds and gigabytes). A hash in a format
// auth does not know is imported as before (it cannot sign in).
func checkHash(hash string) error {
	if err := basicHashFormat(hash); err != nil {
		return err
	}
	if err := auth.CheckHashParams(hash); errors.Is(err, auth.ErrHashOutOfRange) {
		return err
	}
	return nil
}

// basicHashFormat accepts what every supported hash looks like: non-empty,
// at most store.MaxHashBytes, printable ASCII without spaces.
func basicHashFormat(hash string) error {
	if hash == "" || len(hash) > store.MaxHashBytes {
		return fmt.Errorf("password hash empty or longer than %d bytes", store.MaxHashBytes)
	}
	for i := 0; i < len(hash); i++ {
		if hash[i] <= ' ' || hash[i] > '~' {
			return fmt.Errorf("password hash has the byte 0x%02x, not a hash format", hash[i])
		}
	}
	return nil
}

// Progress is called after each step with how far the import is.
type Progress func(stage string, done, total int)

const (
	importBatch       = 500 // rows per batch: messages per command, users and follows read before proposing
	importConcurrency = 16  // users and follows in flight at once
)

// FromSQLite imports the course database at path through p, within
// DefaultLimits.
func FromSQLite(ctx context.Context, path string, p Proposer, progress Progress) (Report, error) {
	return FromSQLiteLimits(ctx, path, p, progress, DefaultLimits)
}

// FromSQLiteLimits is FromSQLite within limits.
//
// Rows are read in batches of importBatch and proposed before the next
// batch is read, so memory holds one batch plus the user_id -> name map the
// follows and messages are resolved with (names only, at most
// limits.Users). Values longer than the store takes are measured in SQLite
// (octet_length) and never read into memory.
func FromSQLiteLimits(ctx context.Context, path string, p Proposer, progress Progress, limits Limits) (Report, error) {
	if progress == nil {
		progress = func(string, int, int) {}
	}
	db, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?mode=ro")
	if err != nil {
		return Report{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := checkCourseSchema(ctx, db); err != nil {
		return Report{}, fmt.Errorf("%s: %w", path, err)
	}
	var rep Report
	var totalUsers, totalFollows int
	for _, c := range []struct {
		table string
		max   int
		n     *int
	}{{"user", limits.Users, &totalUsers}, {"follower", limits.Follows, &totalFollows}, {"message", limits.Messages, &rep.MessagesTotal}} {
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+c.table+`"`).Scan(c.n); err != nil {
			return Report{}, fmt.Errorf("%s: counting %s: %w", path, c.table, err)
		}
		if *c.n > c.max {
			return Report{}, fmt.Errorf("%s: table %q has %d rows, more than the %d an import takes", path, c.table, *c.n, c.max)
		}
	}

	// Users.
	names := map[int64]string{}
	// folded maps a name's folded form (store.FoldName) to the first
	// spelling seen: the existing users' first, then the file's.
	type spelling struct {
		name     string
		existing bool
	}
	folded := map[string]spelling{}
	// Existing names that fold like an earlier existing one: stored
	// before the state machine checked folded names, and still there.
	existingTwins := map[string]bool{}
	if src, ok := p.(NameSource); ok {
		err := src.EachUsername(ctx, func(name string) error {
			if _, ok := folded[store.FoldName(name)]; !ok {
				folded[store.FoldName(name)] = spelling{name, true}
			} else {
				existingTwins[name] = true
			}
			return nil
		})
		if err != nil {
			return Report{}, fmt.Errorf("reading the names already there: %w", err)
		}
	}
	type user struct {
		id                int64
		name, email, hash string
	}
	var batch []user
	var added, existing, refused, lookAlikes atomic.Int64
	var refusedMu sync.Mutex
	var lookAlikeIDs []int64 // refused by the state machine as look-alikes: their rows depend on nothing
	seen := 0
	proposeUsers := func() error {
		err := inParallel(ctx, len(batch), func(i int) error {
			u := batch[i]
			res, err := p.Propose(ctx, &raftfsm.Register{Username: u.name, Email: u.email, PasswordHash: u.hash})
			switch {
			case err != nil:
				return err
			case errors.Is(res.Err, store.ErrNameTaken) && res.Err.Error() != store.ErrNameTaken.Error():
				// A look-alike of an existing name the NameSource did not
				// show (no NameSource, or registered meanwhile).
				lookAlikes.Add(1)
				refusedMu.Lock()
				lookAlikeIDs = append(lookAlikeIDs, u.id)
				rep.skip(limits, "user", fmt.Sprintf("user_id %d", u.id), res.Err.Error())
				refusedMu.Unlock()
			case errors.Is(res.Err, store.ErrNameTaken):
				existing.Add(1)
			case res.Err != nil:
				refused.Add(1)
				refusedMu.Lock()
				rep.skip(limits, "user", fmt.Sprintf("username %q", u.name), res.Err.Error())
				refusedMu.Unlock()
			default:
				added.Add(1)
			}
			return nil
		})
		batch = batch[:0]
		for _, id := range lookAlikeIDs {
			delete(names, id) // its follows and messages are then left out, named
		}
		lookAlikeIDs = lookAlikeIDs[:0]
		progress("users", seen, totalUsers)
		return err
	}
	// Keys and numbers are read only when SQLite stores them as integers
	// (its columns take any type): anything else becomes NULL and skips
	// the row, where a Scan error would stop the import halfway.
	rows, err := db.QueryContext(ctx, `SELECT `+integer("user_id")+`,
		CASE WHEN octet_length(username) <= ?1 THEN username END, octet_length(username),
		CASE WHEN octet_length(email) <= ?2 THEN email END, octet_length(email),
		CASE WHEN octet_length(pw_hash) <= ?3 THEN pw_hash END, octet_length(pw_hash)
		FROM user ORDER BY user_id`, store.MaxUsernameBytes, store.MaxEmailBytes, store.MaxHashBytes)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var id, nameLen, emailLen, hashLen sql.NullInt64
		var name, email, hash sql.NullString
		if err := rows.Scan(&id, &name, &nameLen, &email, &emailLen, &hash, &hashLen); err != nil {
			rows.Close()
			return rep, err
		}
		seen++
		row := fmt.Sprintf("user_id %d", id.Int64)
		if !id.Valid {
			row = "user_id NULL"
		}
		reason := ""
		switch {
		case !id.Valid:
			reason = "no user_id"
		case !name.Valid && nameLen.Valid:
			reason = fmt.Sprintf("username of %d bytes, more than %d", nameLen.Int64, store.MaxUsernameBytes)
		case !name.Valid:
			reason = "no username"
		case emailLen.Valid && !email.Valid:
			reason = fmt.Sprintf("e-mail address of %d bytes, more than %d", emailLen.Int64, store.MaxEmailBytes)
		case hashLen.Valid && !hash.Valid:
			reason = fmt.Sprintf("password hash of %d bytes, more than %d", hashLen.Int64, store.MaxHashBytes)
		}
		if reason == "" {
			if err := store.ValidateNewUsername(name.String); err != nil {
				reason = err.Error()
			} else if err := store.ValidateEmail(email.String); err != nil || !utf8.ValidString(email.String) {
				reason = "e-mail address is not one line of text"
			} else if err := checkHash(hash.String); err != nil {
				reason = err.Error()
			} else if first, ok := folded[store.FoldName(name.String)]; ok && first.name != name.String && !existingTwins[name.String] {
				// The same name as an existing user stays "already
				// there" (a second import changes nothing); another
				// spelling of it is a look-alike.
				if first.existing {
					reason = fmt.Sprintf("username %q clashes with the existing user %q: they differ only in case or Unicode form", name.String, first.name)
				} else {
					reason = fmt.Sprintf("username %q differs from %q only in case", name.String, first.name)
				}
			}
		}
		if reason != "" {
			rep.UsersSkipped++
			rep.skip(limits, "user", row, reason)
			continue
		}
		if _, ok := folded[store.FoldName(name.String)]; !ok {
			folded[store.FoldName(name.String)] = spelling{name.String, false}
		}
		names[id.Int64] = name.String
		batch = append(batch, user{id.Int64, name.String, email.String, hash.String})
		if len(batch) == importBatch {
			if err := proposeUsers(); err != nil {
				rows.Close()
				return rep, fmt.Errorf("importing users: %w", err)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	err = proposeUsers()
	rep.Users, rep.UsersExisting, rep.UsersRefused = int(added.Load()), int(existing.Load()), int(refused.Load())
	rep.UsersSkipped += int(lookAlikes.Load())
	if err != nil {
		return rep, fmt.Errorf("importing users: %w", err)
	}
	folded, existingTwins = nil, nil

	// Follows, each pair once.
	type pair struct{ who, whom string }
	var follows []pair
	var followed, followRefused atomic.Int64
	seen = 0
	proposeFollows := func() error {
		err := inParallel(ctx, len(follows), func(i int) error {
			res, err := p.Propose(ctx, &raftfsm.Follow{Who: follows[i].who, Whom: follows[i].whom})
			switch {
			case err != nil:
				return err
			case res.Err != nil:
				followRefused.Add(1)
			default:
				followed.Add(1)
			}
			return nil
		})
		follows = follows[:0]
		progress("follows", seen, totalFollows)
		return err
	}
	rows, err = db.QueryContext(ctx, `SELECT DISTINCT `+integer("who_id")+`, `+integer("whom_id")+` FROM follower`)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var who, whom sql.NullInt64
		if err := rows.Scan(&who, &whom); err != nil {
			rows.Close()
			return rep, err
		}
		seen++
		a, ok1 := names[who.Int64]
		b, ok2 := names[whom.Int64]
		if !ok1 || !ok2 || !who.Valid || !whom.Valid {
			rep.FollowsRefused++
			rep.skip(limits, "follower", fmt.Sprintf("who_id %d, whom_id %d", who.Int64, whom.Int64), "not both imported users")
			continue
		}
		follows = append(follows, pair{a, b})
		if len(follows) == importBatch {
			if err := proposeFollows(); err != nil {
				rows.Close()
				return rep, fmt.Errorf("importing follows: %w", err)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	err = proposeFollows()
	rep.Follows, rep.FollowsRefused = int(followed.Load()), rep.FollowsRefused+int(followRefused.Load())
	if err != nil {
		return rep, fmt.Errorf("importing follows: %w", err)
	}

	// Messages, in message_id order.
	rows, err = db.QueryContext(ctx, `SELECT `+integer("message_id")+`, `+integer("author_id")+`,
		CASE WHEN octet_length(text) <= ?1 THEN COALESCE(text, '') END, octet_length(text),
		`+integer("COALESCE(pub_date, 0)")+`, `+integer("COALESCE(flagged, 0)")+` FROM message ORDER BY message_id`, store.MaxMessageBytes)
	if err != nil {
		return rep, err
	}
	defer rows.Close()
	msgs := &raftfsm.ImportMessages{}
	seen = 0
	flush := func() error {
		if len(msgs.Messages) == 0 {
			return nil
		}
		res, err := p.Propose(ctx, msgs)
		if err == nil {
			err = res.Err
		}
		if err != nil {
			return fmt.Errorf("importing messages: %w", err)
		}
		rep.Messages += int(res.ID)
		rep.MessagesSkipped += len(msgs.Messages) - int(res.ID)
		msgs = &raftfsm.ImportMessages{}
		progress("messages", seen, rep.MessagesTotal)
		return nil
	}
	for rows.Next() {
		var id, author, textLen, pubDate, flagged sql.NullInt64
		var text sql.NullString
		if err := rows.Scan(&id, &author, &text, &textLen, &pubDate, &flagged); err != nil {
			return rep, err
		}
		seen++
		name, ok := names[author.Int64]
		reason := ""
		switch {
		case !id.Valid || id.Int64 < 0:
			reason = "no message_id or a negative one"
		case !ok || !author.Valid:
			reason = fmt.Sprintf("author_id %d is not an imported user", author.Int64)
		case !text.Valid:
			reason = fmt.Sprintf("text of %d bytes, more than %d", textLen.Int64, store.MaxMessageBytes)
		case !pubDate.Valid || !flagged.Valid:
			reason = "pub_date or flagged is not an integer"
		default:
			if err := store.ValidateText(text.String); err != nil {
				reason = err.Error()
			}
		}
		if reason != "" {
			rep.MessagesSkipped++
			rep.skip(limits, "message", fmt.Sprintf("message_id %d", id.Int64), reason)
			continue
		}
		if flagged.Int64 != 0 {
			rep.MessagesFlagged++
		}
		msgs.Messages = append(msgs.Messages, raftfsm.ImportedMessage{LegacyID: uint64(id.Int64), Author: name, Text: text.String, PubDate: pubDate.Int64, Flagged: flagged.Int64 != 0})
		if len(msgs.Messages) == importBatch {
			if err := flush(); err != nil {
				return rep, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return rep, err
	}
	return rep, flush()
}

// integer is the SQL for expr when SQLite holds an integer there, NULL
// otherwise.
func integer(expr string) string {
	return "CASE WHEN typeof(" + expr + ") = 'integer' THEN " + expr + " END"
}

// checkCourseSchema makes sure the three names are ordinary tables with the
// columns we read, so a wrong file gets one clear error instead of a half
// import. A view (or a virtual table) could compute its rows without end,
// as a recursive one does, so only a table stored in the file is read; the
// type is checked before SQLite is asked anything else about the name.
func checkCourseSchema(ctx context.Context, db *sql.DB) error {
	for _, table := range []string{"user", "follower", "message"} {
		var typ, ddl sql.NullString
		err := db.QueryRowContext(ctx, `SELECT type, sql FROM sqlite_schema WHERE name = ? COLLATE NOCASE`, table).Scan(&typ, &ddl)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("not a course database: no table %q", table)
		case err != nil:
			return fmt.Errorf("not a readable SQLite database: %w", err)
		case typ.String != "table" || strings.HasPrefix(strings.ToUpper(strings.TrimSpace(ddl.String)), "CREATE VIRTUAL"):
			kind := typ.String
			if kind == "table" {
				kind = "virtual table"
			}
			return fmt.Errorf("not a course database: %q is a %s, not a table; import reads tables only", table, kind)
		}
	}
	for table, cols := range map[string][]string{
		"user":     {"user_id", "username", "email", "pw_hash"},
		"follower": {"who_id", "whom_id"},
		"message":  {"message_id", "author_id", "text", "pub_date", "flagged"},
	} {
		have := map[string]bool{}
		rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			return fmt.Errorf("not a readable SQLite database: %w", err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return fmt.Errorf("reading the columns of %s: %w", table, err)
			}
			have[name] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("reading the columns of %s: %w", table, err)
		}
		if len(have) == 0 {
			return fmt.Errorf("not a course database: no table %q", table)
		}
		for _, c := range cols {
			if !have[c] {
				return fmt.Errorf("not a course database: table %q has no column %q", table, c)
			}
		}
	}
	return nil
}

// inParallel runs do(0..n-1) with bounded concurrency and returns the
// first error.
func inParallel(ctx context.Context, n int, do func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for range min(importConcurrency, n) {
		wg.Go(func() {
			for i := range next {
				if err := do(i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}
