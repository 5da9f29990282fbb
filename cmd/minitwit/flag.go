package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"minitwit/node"
	"minitwit/raftfsm"
	"minitwit/store"
)

const flagUsage = `Usage: minitwit flag [--unflag] ID...
       minitwit flag --list

Flags messages by id (hides them from every timeline and API list on every
node), unflags them, or lists the flagged ones, through Raft on the running
cluster of the local node (found from its data dir like 'minitwit cluster',
and authenticated with its certificate). Flags go before or after the ids.
The course's flag_tool, without its SQL injection.

Flags:
`

func runFlag(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("flag", flagUsage)
	list := fs.Bool("list", false, "list the flagged messages, newest first")
	unflag := fs.Bool("unflag", false, "show the messages again")
	cfgFile := fs.String("config", "", "TOML `file` as for serve (env MINITWIT_CONFIG)")
	dataDir := fs.String("data-dir", "", "the local node's data `dir` (its certificate authenticates this command)")
	addr := fs.String("addr", "", "`host:port` of the member to ask (default: the running local node's internode address, from its data dir)")
	args, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	switch {
	case *list && len(args) > 0:
		return usageError(stderr, "flag", "--list takes no message ids")
	case !*list && len(args) == 0:
		return usageError(stderr, "flag", "no message ids: 'minitwit flag ID...', or --list")
	}
	var ids []uint64
	for _, a := range args {
		id, err := strconv.ParseUint(a, 10, 64)
		if err != nil || id == 0 {
			return usageError(stderr, "flag", "%q is not a message id", a)
		}
		ids = append(ids, id)
	}
	cfg, err := loadNodeConfig(*cfgFile, *dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit flag:", err)
		return 2
	}
	client, err := node.NewClusterClient(cfg.DataDir)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit flag:", err)
		return 1
	}
	if *addr, err = localMember(cfg, *addr); err != nil {
		fmt.Fprintln(stderr, "minitwit flag:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if *list {
		msgs, err := client.Flagged(ctx, *addr)
		if err != nil {
			fmt.Fprintln(stderr, "minitwit flag:", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "id\tauthor\tdate\ttext")
		for _, m := range msgs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%q\n", m.ID, m.Author, time.Unix(m.PubDate, 0).UTC().Format("2006-01-02 15:04"), m.Text)
		}
		tw.Flush()
		return 0
	}
	proposer := client.Proposer(*addr)
	status := 0
	for _, id := range ids {
		res, err := proposer.Propose(ctx, &raftfsm.FlagMessage{MessageID: id, Flagged: !*unflag})
		if err == nil {
			err = res.Err
		}
		switch {
		case errors.Is(err, store.ErrUnknownMessage):
			fmt.Fprintf(stderr, "minitwit flag: no message %d\n", id)
			status = 1
		case err != nil:
			fmt.Fprintln(stderr, "minitwit flag:", err)
			return 1
		case *unflag:
			fmt.Fprintf(stdout, "message %d unflagged\n", id)
		default:
			fmt.Fprintf(stdout, "message %d flagged\n", id)
		}
	}
	return status
}
