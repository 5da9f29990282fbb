package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"minitwit/node"
	"minitwit/node/config"
	"minitwit/raftfsm"
)

const clusterUsage = `Usage: minitwit cluster <command> [flags]

Administers the cluster a local node belongs to, over the internode port,
with that node's certificate (so it needs read access to the node's data
dir). It finds the node through its data dir (--data-dir, else the same
configuration as serve: --config, MINITWIT_* env), where the running node
records the addresses it listens on; --addr asks another member instead.
Flags go before or after the command.

Commands:
  status          every member: id, address, voter or non-voter, role,
                  applied index
  remove ID       take member ID out of the cluster
  transfer [ID]   hand leadership to ID (or to the most up-to-date member)
  token           print the cluster's join token
  token --rotate  replace the join token by a new random one, at once on
                  every member (the old one admits no more joins), and
                  print the new one; it is not shown again by this command
  ca              print the cluster CA's fingerprint (and a rotation in
                  progress)
  ca --rotate     replace the cluster CA by a new one without downtime:
                  every member trusts both, then takes a certificate of
                  the new one, then the old one is trusted by none; returns
                  once every member has followed each step (run it again
                  to finish one that timed out)

Flags:
`

func runCluster(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("cluster", clusterUsage)
	cfgFile := fs.String("config", "", "TOML `file` as for serve (env MINITWIT_CONFIG)")
	dataDir := fs.String("data-dir", "", "the local node's data `dir` (its certificate authenticates this command)")
	addr := fs.String("addr", "", "`host:port` of the member to ask (default: the running local node's internode address, from its data dir)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	rotate := fs.Bool("rotate", false, "with token: replace the join token by a new random one and print it; with ca: rotate the cluster CA")
	args, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(args) == 0 {
		return usageError(stderr, "cluster", "no command: status, remove ID, transfer [ID], token or ca")
	}
	cmd, rest := args[0], args[1:]
	if msg := clusterArgs(cmd, rest); msg != "" {
		return usageError(stderr, "cluster", "%s", msg)
	}
	if *rotate && cmd != "token" && cmd != "ca" {
		return usageError(stderr, "cluster", "--rotate goes with token or ca only: 'minitwit cluster token --rotate', 'minitwit cluster ca --rotate'")
	}
	cfg, err := loadNodeConfig(*cfgFile, *dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit cluster:", err)
		return 2
	}
	client, err := node.NewClusterClient(cfg.DataDir)
	if err != nil {
		fmt.Fprintln(stderr, "minitwit cluster:", err)
		return 1
	}
	if *addr, err = localMember(cfg, *addr); err != nil {
		fmt.Fprintln(stderr, "minitwit cluster:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	switch {
	case cmd == "status" && len(rest) == 0:
		err = clusterStatus(ctx, client, *addr, stdout)
	case cmd == "remove" && len(rest) == 1:
		if err = client.Remove(ctx, *addr, rest[0]); err == nil {
			fmt.Fprintf(stdout, "removed %s\n", rest[0])
		}
	case cmd == "transfer" && len(rest) <= 1:
		to := ""
		if len(rest) == 1 {
			to = rest[0]
		}
		var leader string
		if leader, err = client.Transfer(ctx, *addr, to); err == nil {
			fmt.Fprintf(stdout, "leader is now %s\n", leader)
		}
	case cmd == "token" && *rotate:
		err = rotateToken(ctx, client, *addr, stdout, stderr)
	case cmd == "ca" && *rotate:
		err = rotateCA(ctx, cfg.DataDir, *addr, stdout, stderr)
	case cmd == "ca":
		var rep node.MembersReport
		if rep, err = client.Members(ctx, *addr); err == nil {
			if rep.CA == nil {
				err = errors.New("the member predates CA rotation: upgrade every node first")
			} else {
				fmt.Fprintln(stdout, caLine(*rep.CA))
			}
		}
	case cmd == "token" && len(rest) == 0:
		var token string
		if token, err = client.Token(ctx, *addr); err == nil {
			fmt.Fprintln(stdout, token)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "minitwit cluster %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// clusterCommands are cluster's commands and the arguments each takes.
var clusterCommands = map[string]struct{ min, max int }{
	"status": {0, 0}, "remove": {1, 1}, "transfer": {0, 1}, "token": {0, 0}, "ca": {0, 0},
}

// clusterArgs says what is wrong with a cluster command line, or "".
func clusterArgs(cmd string, rest []string) string {
	want, ok := clusterCommands[cmd]
	switch {
	case !ok:
		return fmt.Sprintf("unknown command %q%s", cmd, didYouMean(cmd, slices.Collect(maps.Keys(clusterCommands)), ""))
	case len(rest) < want.min:
		return cmd + " needs the member's id: 'minitwit cluster " + cmd + " ID'"
	case len(rest) > want.max:
		return fmt.Sprintf("unexpected argument %q after %s", rest[want.max], cmd)
	}
	return ""
}

// rotateToken replaces the cluster's join token by a new random one
// through Raft, prints it, then waits until every member holds it: a
// member admits joiners with the token its own copy of the state holds,
// so until then a lagging member would still take the old one.
func rotateToken(ctx context.Context, c *node.ClusterClient, addr string, stdout, stderr io.Writer) error {
	raw := make([]byte, 32)
	rand.Read(raw) // crypto/rand: never fails on the platforms Go supports
	token := hex.EncodeToString(raw)
	res, err := c.Proposer(addr).Propose(ctx, &raftfsm.RotateJoinToken{Token: []byte(token)})
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token) // printed before the wait: the cluster has it now, whatever follows
	rep, err := c.Members(ctx, addr)
	if err != nil {
		return fmt.Errorf("the token is rotated, but listing the members to confirm it failed: %w", err)
	}
	var stale []string
	for _, m := range rep.Members {
		for {
			got, err := c.Token(ctx, m.Address)
			if err == nil && got == token {
				break
			}
			if ctx.Err() != nil {
				stale = append(stale, m.ID)
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("the token is rotated, but %s did not confirm it in time and may still admit the old token until it catches up", strings.Join(stale, ", "))
	}
	fmt.Fprintf(stderr, "join token rotated on all %d members; the old token admits no new node\n", len(rep.Members))
	return nil
}

// clusterStatus prints every member as the member itself reports, then the
// cluster CA while a CA rotation is in progress, and a warning for each
// member whose Raft timing differs from the leader's.
func clusterStatus(ctx context.Context, c *node.ClusterClient, addr string, w io.Writer) error {
	rep, err := c.Members(ctx, addr)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSUFFRAGE\tROLE\tAPPLIED\tCOMMIT\tREADY")
	timing := map[string]string{} // member ID -> its Raft timing, when reported
	for _, m := range rep.Members {
		role, applied, commit, ready := "unreachable", "-", "-", "-"
		if mr, err := c.Members(ctx, m.Address); err == nil {
			role = mr.Self.Role
			applied, commit = fmt.Sprint(mr.Self.AppliedIndex), fmt.Sprint(mr.Self.CommitIndex)
			ready = fmt.Sprint(mr.Ready)
			if mr.RaftTiming != "" {
				timing[m.ID] = mr.RaftTiming
			}
		}
		// A joining node is a non-voter until the leader has seen it caught
		// up and serving.
		suffrage := "non-voter"
		if m.Voter {
			suffrage = "voter"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Address, suffrage, role, applied, commit, ready)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.CA != nil && rep.CA.Rotating() {
		// Only then, like the warnings below: otherwise the output is the
		// table alone, which scripts read (`cluster ca` prints the CA).
		fmt.Fprintln(w, caLine(*rep.CA))
	}
	leader := rep.Self.Leader
	if want, ok := timing[leader]; ok {
		for _, m := range rep.Members {
			if got, ok := timing[m.ID]; ok && got != want {
				fmt.Fprintf(w, "warning: %s's Raft timing (%s) differs from the leader %s's (%s); give every member the same raft.profile and raft.*_timeout\n",
					m.ID, got, leader, want)
			}
		}
	}
	return nil
}

// loadNodeConfig loads the configuration of the local node the way serve
// does (flags given here, MINITWIT_* environment, the TOML file), for the
// commands that act on that node. Empty arguments are left to the
// environment and the file.
func loadNodeConfig(cfgFile, dataDir string) (config.Config, error) {
	set := map[string]string{}
	if cfgFile != "" {
		set["config"] = cfgFile
	}
	if dataDir != "" {
		set["data-dir"] = dataDir
	}
	cfg, _, err := config.Load(set, os.Environ())
	return cfg, err
}
