package main

import (
	"flag"
	"fmt"
	"io"
)

const versionUsage = `Usage: minitwit version

Prints this binary's version, the commit it was built from, its build date
and the Go version that built it (the Makefile stamps the first three; a
plain 'go build' reports "dev"). A running node answers the same as JSON
at GET /version, and its admin page shows it.
`

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", versionUsage)
	args, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(args) > 0 {
		return usageError(stderr, "version", "unexpected argument %q: version takes none", args[0])
	}
	b := buildInfo()
	fmt.Fprintf(stdout, "minitwit %s\ncommit:     %s\nbuild date: %s\ngo:         %s\n", b.Version, b.Commit, b.Date, b.GoVersion)
	return 0
}

// exitFromParse maps a flag parsing error to an exit status: --help is a
// success, anything else is a usage error (flag already printed why).
func exitFromParse(err error) int {
	if err == flag.ErrHelp {
		return 0
	}
	return 2
}
