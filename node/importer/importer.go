package importer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

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

// Report counts what an import did.
type Report struct {
	Users, UsersExisting, UsersRefused       int
	Follows, FollowsRefused                  int
	Messages, MessagesFlagged, MessagesTotal int // Messages: imported now or before
	MessagesSkipped                          int // their author is not in the user table
}

// Progress is called after each step with how far the import is.
type Progress func(stage string, done, total int)

const (
	importBatch       = 500 // messages per command
	importConcurrency = 16  // users and follows in flight at once
)

// FromSQLite imports the course database at path through p.
func FromSQLite(ctx context.Context, path string, p Proposer, progress Progress) (Report, error) {
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

	// Users.
	names := map[int64]string{}
	type user struct{ name, email, hash string }
	var users []user
	rows, err := db.QueryContext(ctx, `SELECT user_id, username, COALESCE(email, ''), COALESCE(pw_hash, '') FROM user ORDER BY user_id`)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var id int64
		var u user
		if err := rows.Scan(&id, &u.name, &u.email, &u.hash); err != nil {
			rows.Close()
			return rep, err
		}
		names[id] = u.name
		users = append(users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	var added, existing, refused atomic.Int64
	err = inParallel(ctx, len(users), func(i int) error {
		u := users[i]
		res, err := p.Propose(ctx, &raftfsm.Register{Username: u.name, Email: u.email, PasswordHash: u.hash})
		switch {
		case err != nil:
			return err
		case errors.Is(res.Err, store.ErrNameTaken):
			existing.Add(1)
		case res.Err != nil:
			refused.Add(1)
		default:
			added.Add(1)
		}
		return nil
	})
	rep.Users, rep.UsersExisting, rep.UsersRefused = int(added.Load()), int(existing.Load()), int(refused.Load())
	progress("users", len(users), len(users))
	if err != nil {
		return rep, fmt.Errorf("importing users: %w", err)
	}

	// Follows, each pair once.
	type pair struct{ who, whom string }
	var follows []pair
	rows, err = db.QueryContext(ctx, `SELECT DISTINCT who_id, whom_id FROM follower`)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var who, whom int64
		if err := rows.Scan(&who, &whom); err != nil {
			rows.Close()
			return rep, err
		}
		a, ok1 := names[who]
		b, ok2 := names[whom]
		if !ok1 || !ok2 {
			rep.FollowsRefused++
			continue
		}
		follows = append(follows, pair{a, b})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	var followed, followRefused atomic.Int64
	err = inParallel(ctx, len(follows), func(i int) error {
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
	rep.Follows, rep.FollowsRefused = int(followed.Load()), rep.FollowsRefused+int(followRefused.Load())
	progress("follows", len(follows), len(follows))
	if err != nil {
		return rep, fmt.Errorf("importing follows: %w", err)
	}

	// Messages, in message_id order.
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM message`).Scan(&rep.MessagesTotal); err != nil {
		return rep, err
	}
	rows, err = db.QueryContext(ctx, `SELECT message_id, author_id, COALESCE(text, ''), COALESCE(pub_date, 0), COALESCE(flagged, 0) FROM message ORDER BY message_id`)
	if err != nil {
		return rep, err
	}
	defer rows.Close()
	batch := &raftfsm.ImportMessages{}
	seen := 0
	flush := func() error {
		if len(batch.Messages) == 0 {
			return nil
		}
		res, err := p.Propose(ctx, batch)
		if err == nil {
			err = res.Err
		}
		if err != nil {
			return fmt.Errorf("importing messages: %w", err)
		}
		rep.Messages += int(res.ID)
		rep.MessagesSkipped += len(batch.Messages) - int(res.ID)
		batch = &raftfsm.ImportMessages{}
		progress("messages", seen, rep.MessagesTotal)
		return nil
	}
	for rows.Next() {
		var id, author, pubDate, flagged int64
		var text string
		if err := rows.Scan(&id, &author, &text, &pubDate, &flagged); err != nil {
			return rep, err
		}
		seen++
		name, ok := names[author]
		if !ok || id < 0 {
			rep.MessagesSkipped++
			continue
		}
		if flagged != 0 {
			rep.MessagesFlagged++
		}
		batch.Messages = append(batch.Messages, raftfsm.ImportedMessage{LegacyID: uint64(id), Author: name, Text: text, PubDate: pubDate, Flagged: flagged != 0})
		if len(batch.Messages) == importBatch {
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

// checkCourseSchema makes sure the three tables have the columns we read,
// so a wrong file gets one clear error instead of a half import.
func checkCourseSchema(ctx context.Context, db *sql.DB) error {
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
