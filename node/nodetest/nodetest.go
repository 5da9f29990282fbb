// Package nodetest starts real MiniTwit nodes for tests: a real data dir,
// real Raft, real listeners on loopback ports. Nothing in it is a mock.
package nodetest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/config"
	"minitwit/ops"
)

// Config returns a valid configuration for a node in dir, listening on free
// loopback ports.
func Config(dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.NodeID = "test-node"
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return cfg
}

// Logger discards logs unless MINITWIT_TEST_LOG is set, then writes them to
// stderr.
func Logger() *slog.Logger {
	if os.Getenv("MINITWIT_TEST_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Start starts a node with cfg (edit Config's result to taste), waits until
// it is ready, and closes it when the test ends.
func Start(t testing.TB, cfg config.Config) *node.Node {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(cfg, node.Options{Logger: Logger(), Build: ops.NewBuildInfo("test", "", "")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Close(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

// StartDefault starts a node with Config in a fresh temporary dir and returns
// it with its base URL.
func StartDefault(t testing.TB) (*node.Node, string) {
	t.Helper()
	n := Start(t, Config(t.TempDir()))
	return n, "http://" + n.HTTPAddr()
}
