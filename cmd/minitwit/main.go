// Command minitwit is the MiniTwit appliance: one binary that serves the web
// UI and the simulator API from a Raft-replicated bbolt store, and the
// tools to drive and inspect it. This package holds flags and sub-commands
// only; the work happens in the packages they call.
package main

import (
	"fmt"
	"io"
	"os"

	"minitwit/ops"
)

// Stamped by the Makefile with -ldflags "-X main.version=... ".
var (
	version   string
	commit    string
	buildDate string
)

func buildInfo() ops.BuildInfo { return ops.NewBuildInfo(version, commit, buildDate) }

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "run a node: web UI, simulator API (/api), health endpoints", runServe},
		{"simulate", "replay the course simulator's scenario against any MiniTwit", runSimulate},
		{"cluster", "status, remove, transfer, token, ca: administer a node's cluster", runCluster},
		{"backup", "write a consistent, checksummed backup of a node's state, or a backup key", runBackup},
		{"restore", "restore a backup into an empty data dir, or the running cluster", runRestore},
		{"import", "import a course database (SQLite: user, follower, message)", runImport},
		{"flag", "flag, unflag or list messages (moderation) through Raft", runFlag},
		{"admin", "create an admin, reset a password or 2FA, grant or revoke admin rights", runAdmin},
		{"version", "print version, commit, build date and Go version", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: minitwit <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'minitwit <command> --help' for a command's flags.")
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return usageError(stderr, "", "unknown command %q%s", args[0], didYouMean(args[0], names, ""))
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
