package main

import (
	"flag"
	"fmt"
	"io"
)

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return exitFromParse(err)
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
