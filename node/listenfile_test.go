package node_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
)

// TestListenRecord: a started node records where it listens in its data
// dir, for the tools of the machine, and removes the record at a clean stop.
func TestListenRecord(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := nodetest.Start(t, web, nodetest.Config(dir))
	l, err := node.ReadListening(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := node.Listening{PID: os.Getpid(), NodeID: n.ID(), HTTPAddr: n.HTTPAddr(), PublicURL: "http://" + n.HTTPAddr(),
		RaftAddr: n.RaftAddr(), Version: "test", Started: l.Started}
	if l != want || l.Started.IsZero() || !l.Alive() {
		t.Errorf("listen record %+v (alive %v); want %+v, alive", l, l.Alive(), want)
	}
	closeNode(t, n)
	if _, err := node.ReadListening(dir); !errors.Is(err, node.ErrNotListening) {
		t.Errorf("after a clean stop: %v; want ErrNotListening", err)
	}
}

// TestToolNodeIsQuiet: the node an admin tool starts on a stopped data
// dir listens on a free loopback port whatever the configuration says (the
// configured one may be another node's) and logs none of serve's
// configuration warnings. That it makes no first admin is proven end to
// end (TestOfflineToolsAreQuiet in cmd/minitwit): the next serve makes it.
func TestToolNodeIsQuiet(t *testing.T) {
	t.Parallel()
	cfg := nodetest.Config(t.TempDir())
	busy := nodetest.Start(t, web, nodetest.Config(t.TempDir()))
	cfg.HTTPAddr = busy.HTTPAddr() // taken: a tool node must not need it
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := node.WithLocalNode(ctx, cfg, log, func(n *node.Node) error {
		if n.HTTPAddr() == cfg.HTTPAddr {
			t.Errorf("the tool node listens on the configured %s", cfg.HTTPAddr)
		}
		if l, err := node.ReadListening(cfg.DataDir); err != nil || l.HTTPAddr != n.HTTPAddr() {
			t.Errorf("the tool node's listen record: %+v, %v", l, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Raft's own warnings (an election restarted on a busy machine) are
	// the tool's logger's to filter; the node's are checked here.
	for line := range strings.Lines(logs.String()) {
		if !strings.Contains(line, "component=raft") {
			t.Errorf("the tool node logged: %s", line)
		}
	}
	if _, err := node.ReadListening(cfg.DataDir); !errors.Is(err, node.ErrNotListening) {
		t.Errorf("after the tool: %v; want ErrNotListening", err)
	}
}
