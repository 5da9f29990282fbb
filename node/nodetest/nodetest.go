// Package nodetest starts real MiniTwit nodes for tests: a real data dir,
// real Raft, real listeners on loopback ports. Nothing in it is a mock.
package nodetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest/faultnet"
	"minitwit/ops"
	"minitwit/ops/testwait"
	"minitwit/store"
)

// AdminPassword is the first admin's password (user cfg.Admin.Username,
// "operator" by default) in nodes made from Config.
const AdminPassword = "test-admin-password"

// SampleInterval is how often test nodes sample the admin page's figures:
// short, so a test sees chart points within a second.
const SampleInterval = 250 * time.Millisecond

// Config returns a valid configuration for a node in dir, listening on free
// loopback ports.
func Config(dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.NodeID = "test-node"
	cfg.Admin.Password = AdminPassword
	// Raft timing with room for a busy machine: with the lan profile's
	// 50 ms a test process sharing two cores with another test run misses
	// heartbeats and elects again and again (a cluster then answers 503
	// for seconds at a time). Failovers in tests take a few hundred
	// milliseconds longer; tests wait for conditions, not for a time.
	cfg.Raft.HeartbeatTimeout = config.Duration(300 * time.Millisecond)
	cfg.Raft.ElectionTimeout = config.Duration(300 * time.Millisecond)
	cfg.Raft.LeaderLeaseTimeout = config.Duration(150 * time.Millisecond)
	// The same room for a request: under -race, with a second test suite
	// on the two cores, eight registrations queued for argon2id took more
	// than the default 10 s, and a write that runs out of its deadline is
	// not made.
	cfg.HTTP.RequestTimeout = config.Duration(time.Minute)
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

// Web builds a test node's public handler. This package, like everything
// under node/, does not import the web layer: a test that needs it passes
// httpui's, wired as cmd/minitwit wires it:
//
//	func web(n *node.Node) (node.Handler, error) { return httpui.ForNode(n) }
//
// nil starts nodes whose public listener answers 404 to everything.
type Web = func(*node.Node) (node.Handler, error)

// Start starts a node with cfg (edit Config's result to taste) and web as
// its public handler, waits until it is ready, and closes it when the test
// ends.
func Start(t testing.TB, web Web, cfg config.Config) *node.Node {
	t.Helper()
	return StartWith(t, cfg, node.Options{Handler: web})
}

// StartWith is Start with opts; the logger, build and sample interval are
// the test defaults when opts leaves them unset.
func StartWith(t testing.TB, cfg config.Config, opts node.Options) *node.Node {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = Logger()
	}
	if opts.Build.Version == "" {
		opts.Build = ops.NewBuildInfo("test", "", "")
	}
	if opts.SampleInterval == 0 {
		opts.SampleInterval = SampleInterval
	}
	n, err := node.Start(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Close(ctx); err != nil {
			t.Errorf("closing the node: %v", err)
		}
	})
	// A node joining a cluster on a loaded machine may take a while;
	// the wait ends as soon as it is ready.
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	if err := n.WaitReady(ctx); err != nil {
		t.Fatalf("node %s not ready: %v", cfg.NodeID, err)
	}
	// A joining node is a non-voter until the leader has seen it caught up
	// and serving; tests expect a cluster whose members all vote.
	for promoted := time.Now().Add(30 * time.Second); len(cfg.Join) > 0 && !n.IsVoter(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(promoted) {
			t.Fatal("the joined node was not promoted to voter within 30 s")
		}
	}
	// The first admin follows the cluster secrets within moments; tests
	// that count users start after it.
	testwait.UntilNil(t, "the first admin on "+cfg.NodeID, func() error {
		var c store.Counts
		if err := n.LocalStore().View(func(tx *store.ReadTx) error { c = tx.Counts(); return nil }); err != nil {
			return err
		}
		if c.Admins == 0 {
			return errors.New("no admin yet")
		}
		return nil
	})
	return n
}

// StartDefault starts a node with Config in a fresh temporary dir and returns
// it with its base URL.
func StartDefault(t testing.TB, web Web) (*node.Node, string) {
	t.Helper()
	n := Start(t, web, Config(t.TempDir()))
	return n, "http://" + n.HTTPAddr()
}

// SharedData returns the path of a file in the course's shared data folder
// (../shared/data next to the repository). When the file is absent the test
// is skipped with a message, except under CI=true, where absence fails it.
func SharedData(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the repository root (go.mod)")
		}
		dir = parent
	}
	path := filepath.Join(dir, "..", "shared", "data", name)
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing; under CI=true the shared data must be present", path)
		}
		t.Skipf("skipping: %s is absent (it lives in ../shared/data next to the repository)", path)
	}
	return path
}

// ClusterToken is the join token of clusters started by StartCluster.
const ClusterToken = "nodetest-join-token-0123456789"

// StartCluster starts size nodes on loopback: the first bootstraps, the
// others join it. It returns them once every node is ready.
func StartCluster(t testing.TB, web Web, size int) []*node.Node {
	t.Helper()
	return StartClusterWith(t, web, size, nil)
}

// StartClusterWith is StartCluster with edit applied to node i's
// configuration (0-based) before it starts; edit may be nil.
func StartClusterWith(t testing.TB, web Web, size int, edit func(i int, cfg *config.Config)) []*node.Node {
	t.Helper()
	return startCluster(t, web, size, edit, nil)
}

// StartClusterOn is StartCluster with every internode connection going
// through fn, the test's fault point: node i is called "node<i+1>" there,
// as its id. fn is closed when the test ends, after the nodes.
func StartClusterOn(t testing.TB, web Web, size int, fn *faultnet.Net) []*node.Node {
	t.Helper()
	return StartClusterOnWith(t, web, size, fn, nil)
}

// StartClusterOnWith is StartClusterOn with edit applied to node i's
// configuration (0-based) before it starts; edit may be nil.
func StartClusterOnWith(t testing.TB, web Web, size int, fn *faultnet.Net, edit func(i int, cfg *config.Config)) []*node.Node {
	t.Helper()
	t.Cleanup(fn.Close) // cleanups run last-in first-out: after the nodes close
	return startCluster(t, web, size, edit, fn)
}

func startCluster(t testing.TB, web Web, size int, edit func(i int, cfg *config.Config), fn *faultnet.Net) []*node.Node {
	t.Helper()
	nodes := make([]*node.Node, 0, size)
	for i := 0; i < size; i++ {
		cfg := Config(t.TempDir())
		cfg.NodeID = fmt.Sprintf("node%d", i+1)
		cfg.JoinToken = ClusterToken
		if i > 0 {
			cfg.Join = []string{nodes[0].RaftAddr()}
		}
		if edit != nil {
			edit(i, &cfg)
		}
		opts := node.Options{Handler: web}
		if fn != nil {
			opts.DialCluster = fn.Dialer(cfg.NodeID)
		}
		n := StartWith(t, cfg, opts)
		if fn != nil {
			fn.Register(n.ID(), n.RaftAddr())
		}
		nodes = append(nodes, n)
	}
	return nodes
}
