package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"minitwit/node"
	"minitwit/node/importer"
	"minitwit/ops/simulate"
)

const importUsage = `Usage: minitwit import --sqlite FILE [--data-dir DIR | --url URL --token T] [flags]

Imports a database in the course's SQLite schema (user, follower, message)
through Raft: users with their password hashes (Werkzeug pbkdf2/scrypt and
bare MD5/SHA-256 are checked at login and upgraded to argon2id), follows
(duplicate rows collapse) and messages in message_id order with their time
and flag. Running it twice changes nothing the second time. Only real
tables are read (a view is refused); rows that break the rules (values
longer than the store takes, reserved or look-alike usernames, hashes in
no known format, messages of unknown authors) are left out and listed. It reads the
same configuration as serve (--config, MINITWIT_* env) to find the node:
when the node runs, the import goes through it, over the internode port
with its certificate; when it is stopped, the node is started here for the
import and stopped again; a data dir never served gets the rows written
into its data file directly (state only: no node id, addresses or Raft
log, so the first serve may use any). With --url, the file is
sent to a node anywhere over HTTP(S) with its admin token (admin.token).

Flags:
`

func runImport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("import", importUsage)
	sqlitePath := fs.String("sqlite", "", "the course database `FILE` (required)")
	cfgFile := fs.String("config", "", "TOML `file` as for serve (env MINITWIT_CONFIG)")
	dataDir := fs.String("data-dir", "", "the node's data `dir`")
	addr := fs.String("addr", "", "`host:port` of the member to go through when the node runs (default: its internode address, from its data dir)")
	timeout := fs.Duration("timeout", time.Hour, "give up after this long")
	remote := fs.String("url", "", "the node's public base `URL` to send the database to over HTTP")
	token := fs.String("token", "", "with --url: the node's admin `token` (default $MINITWIT_ADMIN_TOKEN)")
	ca := fs.String("ca", "", "with --url: a PEM `file` to trust besides the system's roots (a self-signed node)")
	args, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	switch {
	case len(args) != 0:
		return usageError(stderr, "import", "unexpected argument %q (the database goes after --sqlite)", args[0])
	case *sqlitePath == "":
		return usageError(stderr, "import", "--sqlite FILE is required")
	}
	if *remote != "" {
		return importRemote(*sqlitePath, *remote, *token, *ca, stdout, stderr)
	}
	cfg, err := loadNodeConfig(*cfgFile, *dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit import:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	progress := func(stage string, done, total int) {
		if simulate.IsTerminal(stderr) {
			fmt.Fprintf(stderr, "\r%-8s %d/%d   ", stage, done, total)
			if stage != "messages" || done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	quiet := toolLogger(stderr)
	rep, err := node.ImportIntoDataDir(ctx, cfg, *sqlitePath, quiet, progress)
	how := "through a node started here on " + cfg.DataDir
	if errors.Is(err, node.ErrDataDirInUse) {
		var client *node.ClusterClient
		if client, err = node.NewClusterClient(cfg.DataDir); err == nil {
			if *addr, err = localMember(cfg, *addr); err == nil {
				how = "through the running node at " + *addr
				rep, err = importer.FromSQLite(ctx, *sqlitePath, client.Proposer(*addr), progress)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "minitwit import:", err)
		return 1
	}
	printImport(stdout, *sqlitePath, how, rep)
	return 0
}

func printImport(stdout io.Writer, path, how string, rep importer.Report) {
	fmt.Fprintf(stdout, "imported %s %s:\n", path, how)
	fmt.Fprintf(stdout, "  users     %d new, %d already there, %d refused, %d skipped\n", rep.Users, rep.UsersExisting, rep.UsersRefused, rep.UsersSkipped)
	fmt.Fprintf(stdout, "  follows   %d (duplicates collapsed), %d refused\n", rep.Follows, rep.FollowsRefused)
	fmt.Fprintf(stdout, "  messages  %d of %d (%d flagged, kept hidden), %d skipped\n", rep.Messages, rep.MessagesTotal, rep.MessagesFlagged, rep.MessagesSkipped)
	if len(rep.Skips) > 0 {
		fmt.Fprintln(stdout, "rows left out:")
		for _, s := range rep.Skips {
			fmt.Fprintf(stdout, "  %s %s: %s\n", s.Table, s.Row, s.Reason)
		}
		if rep.SkipsNotListed > 0 {
			fmt.Fprintf(stdout, "  and %d more\n", rep.SkipsNotListed)
		}
	}
}

// importRemote sends the database to a node's admin endpoint.
func importRemote(path, base, token, ca string, stdout, stderr io.Writer) int {
	client, err := newAdminClient(base, token, ca)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit import:", err)
		return 2
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit import:", err)
		return 1
	}
	defer f.Close()
	body, err := client.do(http.MethodPost, "/admin/api/import", f)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit import:", err)
		return 1
	}
	defer body.Close()
	var rep importer.Report
	if err := json.NewDecoder(body).Decode(&rep); err != nil {
		fmt.Fprintln(stderr, "minitwit import: reading the report:", err)
		return 1
	}
	printImport(stdout, path, "through "+base, rep)
	return 0
}
