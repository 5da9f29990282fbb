package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"minitwit/httpui"
	"minitwit/node"
	"minitwit/node/config"
)

// shutdownGrace bounds how long in-flight requests may take to finish.
const shutdownGrace = 30 * time.Second

// webHandler wires the web layer to a node: the node serves the handler it
// is given and never imports httpui.
func webHandler(n *node.Node) (node.Handler, error) { return httpui.ForNode(n) }

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: minitwit serve [flags]\n\nRuns a node. With no configuration it starts a single-node cluster in\n./minitwit-data serving http://127.0.0.1:8080 (UI at /, simulator API at /api).\nPrecedence: flag > MINITWIT_* environment > config file > default.\nThe running node records where it listens in <data_dir>/listen.json, where\nthe other commands find it.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(w, "\nEnvironment only (every key is in minitwit.example.toml):")
		for _, s := range config.Settings() {
			if s.Flag == "" && s.Env != "" {
				fmt.Fprintf(w, "  %-32s %s (%s)\n", s.Env, s.Usage, s.Key)
			}
		}
	}
	for _, s := range config.Settings() {
		if s.Flag != "" {
			usage := s.Usage
			if s.Env != "" {
				usage += " (env " + s.Env + ")"
			}
			fs.String(s.Flag, "", usage)
		}
	}
	args, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(args) > 0 {
		return usageError(stderr, "serve", "unexpected argument %q", args[0])
	}
	set := map[string]string{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() })

	cfg, warnings, err := config.Load(set, os.Environ())
	if err != nil {
		fmt.Fprintln(stderr, "minitwit serve:", err)
		return 2
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "minitwit serve: warning:", w)
	}

	if os.Getenv("GOGC") == "" {
		// The live heap is a few MiB, so the default GOGC=100 collects
		// constantly under load (a third of the CPU per request, measured).
		// 400 keeps the heap in tens of MiB and the collector quiet.
		debug.SetGCPercent(400)
	}
	n, err := node.Start(cfg, node.Options{Build: buildInfo(), Handler: webHandler})
	if err != nil {
		fmt.Fprintln(stderr, "minitwit serve:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	status := 0
	select {
	case <-ctx.Done():
	case err := <-n.Served():
		fmt.Fprintln(stderr, "minitwit serve: http server stopped:", err)
		status = 1
	}
	stop() // a second signal now kills the process the default way
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := n.Close(sctx); err != nil {
		fmt.Fprintln(stderr, "minitwit serve: shutdown:", err)
		status = 1
	}
	return status
}
