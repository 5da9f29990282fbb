package main

// What the sub-commands share: flags anywhere among the arguments, usage
// errors as one line and a hint (never the whole usage), "did you mean",
// and finding the running local node from its data dir.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"minitwit/node"
	"minitwit/node/config"
)

// newFlagSet returns sub-command name's flag set. Its usage (--help) is
// text followed by the flags, written to the set's output, which
// parseFlags points at standard output.
func newFlagSet(name, text string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), text)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args with the flags allowed before, between and after
// the positional arguments (`minitwit cluster --data-dir D status` and
// `minitwit cluster status --data-dir D` alike; "--" ends the flags), and
// returns the positional ones. done means the command ends here with exit
// status code: after --help (the full usage on stdout, 0) or a usage error
// (one line and a hint on stderr, 2).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (positional []string, code int, done bool) {
	// The flag package would print its error and the whole usage: the
	// error is reworded below instead, and the usage is for --help only.
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage }()
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			usage()
			return nil, exitFromParse(err), true
		}
		if err != nil {
			return nil, usageError(stderr, fs.Name(), "%s", flagError(fs, err)), true
		}
		rest := fs.Args()
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(positional, rest...), 0, false
		}
		if len(rest) == 0 {
			return positional, 0, false
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// flagError rewords the flag package's error in the --name form the
// documentation uses, with a guess for an unknown flag.
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		return "unknown flag --" + name + didYouMean(name, names, "--")
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return "flag --" + strings.TrimLeft(name, "-") + " needs a value"
	}
	// `invalid value "x" for flag -timeout: parse error` and the like.
	return strings.Replace(msg, "flag -", "--", 1)
}

// usageError prints what is wrong with a command line as one line, then a
// hint to the usage, and returns exit status 2. cmd is the command as typed
// after "minitwit" ("cluster"); "" for minitwit itself.
func usageError(stderr io.Writer, cmd, format string, a ...any) int {
	name, hint := "minitwit", "run 'minitwit --help' for the commands"
	if cmd != "" {
		name += " " + cmd
		hint = "run 'minitwit " + cmd + " --help' for its usage"
	}
	fmt.Fprintf(stderr, "%s: %s\n%s\n", name, fmt.Sprintf(format, a...), hint)
	return 2
}

// didYouMean is "; did you mean <prefix>X?" for the candidate closest to
// name, or "" when none is close.
func didYouMean(name string, candidates []string, prefix string) string {
	if guess := config.Closest(name, candidates); guess != "" {
		return "; did you mean " + prefix + guess + "?"
	}
	return ""
}

// toolLogger is the log of a node an offline tool starts for its task: the
// task's outcome is the tool's output, so only errors get through, not the
// node's own warnings (an election restarted on a busy machine), which
// belong to a serving node's log.
func toolLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// localMember returns the internode address through which a tool reaches
// the cluster of cfg's data dir: flagAddr (--addr) when given; else the
// address the node of that data dir recorded when it started
// (node.ReadListening); else, for a node that records none (one older than
// the record), the raft_addr of the configuration the tool read. A record
// left by a node that was killed, or an address where nothing answers, is
// an error that says so, instead of a connection error later.
func localMember(cfg config.Config, flagAddr string) (string, error) {
	if flagAddr != "" {
		return flagAddr, nil
	}
	file := node.ListenFile(cfg.DataDir)
	l, err := node.ReadListening(cfg.DataDir)
	switch {
	case errors.Is(err, node.ErrNotListening):
		if derr := probe(cfg.RaftAddr); derr != nil {
			return "", fmt.Errorf("no running node found for data dir %s: it has no %s, and nothing answers at %s (raft_addr of the configuration read here); start the node, or pass --addr host:port of a running member",
				cfg.DataDir, listenFileName, cfg.RaftAddr)
		}
		return cfg.RaftAddr, nil
	case err != nil:
		return "", err
	case !l.Alive():
		return "", fmt.Errorf("the node of data dir %s is not running: %s was left by process %d, which has ended without a clean stop (killed or crashed); start the node again, or pass --addr host:port of a running member",
			cfg.DataDir, file, l.PID)
	}
	if derr := probe(l.RaftAddr); derr != nil {
		return "", fmt.Errorf("the node of data dir %s (process %d, per %s) does not answer at its internode address %s: %v; if it was killed, start it again, or pass --addr host:port of a running member",
			cfg.DataDir, l.PID, file, l.RaftAddr, derr)
	}
	return l.RaftAddr, nil
}

// listenFileName is the record's name inside a data dir, for messages.
var listenFileName = node.ListenFile("")

// probe checks that something accepts connections at addr: the internode
// port speaks mutual TLS, which the command's own call then does.
func probe(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			return op.Err // "connect: connection refused", without the address again
		}
		return err
	}
	return c.Close()
}
