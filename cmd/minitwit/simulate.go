package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"minitwit/ops/simulate"
)

const simulateUsage = `Usage: minitwit simulate --url URL [--scenario FILE] [flags]

Replays the course simulator's scenario against any MiniTwit API, as the
course's minitwit_simulator.py does, and prints a summary on stdout: requests,
errors by kind, throughput and latency percentiles. Each failed request is
printed on stderr in the course simulator's format; a progress line is drawn
on stderr when it is a terminal. Ctrl-C stops the run and prints what was done.

Exit status: 0 without errors, 1 when a request failed or the run was
interrupted, 2 on bad usage or an unreadable scenario.

Environment:
  MINITWIT_SCENARIO      scenario file when --scenario is not given
  MINITWIT_SIM_PASSWORD  password when --password is not given

Flags:
`

// runSimulate is the "simulate" sub-command.
func runSimulate(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("simulate", simulateUsage)
	baseURL := fs.String("url", "", "API base `URL`, e.g. http://127.0.0.1:8080/api (required); several, comma-separated, are used in turn, skipping one that refuses connections")
	// Defaults from the environment are resolved after parsing so that
	// --help does not print them: one is a password.
	scenario := fs.String("scenario", "", "the scenario `FILE` to replay (default $MINITWIT_SCENARIO)")
	concurrency := fs.Int("concurrency", 1, "`N` workers; a user's actions keep their order, every register runs alone")
	limit := fs.Int("limit", 0, "replay only the first `N` actions (0: all)")
	timeout := fs.Duration("timeout", simulate.DefaultTimeout, "per-request timeout")
	username := fs.String("username", simulate.DefaultUsername, "user for the Basic authorization")
	password := fs.String("password", "", "password for the Basic authorization (default $MINITWIT_SIM_PASSWORD, else the course's)")
	args, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}

	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "minitwit simulate: "+format+"\n", a...)
		return 2
	}
	switch {
	case len(args) > 0:
		return usageError(stderr, "simulate", "unexpected argument %q", args[0])
	case *baseURL == "":
		return usageError(stderr, "simulate", "--url is required: the API base, e.g. http://127.0.0.1:8080/api")
	case *concurrency < 1:
		return usageError(stderr, "simulate", "--concurrency must be at least 1, not %d", *concurrency)
	case *limit < 0:
		return usageError(stderr, "simulate", "--limit must not be negative, not %d", *limit)
	case *timeout <= 0:
		return usageError(stderr, "simulate", "--timeout must be positive, not %s", *timeout)
	}
	if *scenario == "" {
		*scenario = os.Getenv("MINITWIT_SCENARIO")
	}
	if *scenario == "" {
		return usageErr("no scenario: pass --scenario FILE (or set MINITWIT_SCENARIO)")
	}
	if *password == "" {
		*password = os.Getenv("MINITWIT_SIM_PASSWORD")
	}

	actions, err := readScenario(*scenario)
	if err != nil {
		return usageErr("%v", err)
	}

	opt := simulate.Options{
		BaseURL:     *baseURL,
		Concurrency: *concurrency,
		Limit:       *limit,
		Timeout:     *timeout,
		Username:    *username,
		Password:    *password, // empty: the package's default
		Errors:      stderr,
	}
	if simulate.IsTerminal(stderr) {
		opt.Progress = stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one kills at once.
	context.AfterFunc(ctx, stop)

	start := time.Now()
	summary, err := simulate.Run(ctx, actions, opt)
	if err != nil && ctx.Err() == nil {
		return usageErr("%v", err)
	}
	fmt.Fprint(stdout, summary)
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "minitwit simulate: interrupted after %s, %d of %d actions done\n",
			time.Since(start).Round(time.Millisecond), summary.Requests, summary.Actions)
		return 1
	}
	if summary.Errors > 0 {
		return 1
	}
	return 0
}

func readScenario(path string) ([]simulate.Action, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	actions, err := simulate.ParseScenario(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return actions, nil
}
