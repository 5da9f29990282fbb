// Package httpuitest runs httpui's handler over a node without Raft, for
// the handler tests: a Node applies every proposal at once through the
// real state machine (raftfsm) to a real bbolt store in the test's data
// dir, so a test gets the real handler, the real commands and the real
// store in a few milliseconds instead of a node's start (Raft bootstrap,
// election, listeners, the first admin through the log).
//
// What it is not: a cluster. It has no leader changes, no forwarding, no
// read index, no 503 "retry", no shutdown runbook, no listener of its own
// (Start serves the handler from an httptest.Server on loopback, without
// the node's connection cap, write deadlines or TLS). Tests of those stay
// on real nodes (node/nodetest).
//
// Choices:
//   - Proposals are applied one at a time, each in its own bbolt
//     transaction, under a mutex: the order a handler sees is the order
//     the store sees, as on a leader. Each goes through raftfsm.Tagged
//     with a fresh request id, as the node sends it.
//   - The data file commits without fsync (store.Options.NoSync): it is a
//     test's temporary file, and durability is the node's concern, tested
//     there.
//   - At start it holds what a real node holds once ready: the cluster
//     secrets (a random session key, the configured join token) and the
//     first admin (cfg.Admin.Username with cfg.Admin.Password, or a
//     one-time password when none is configured), made by the same
//     commands the node proposes. The configured password's argon2id hash
//     is computed once per process and shared by every Node (salt
//     included).
//   - The admin page's backend describes this one node. Its log lines are
//     the handler's, kept in an ops.LogRing as a node keeps them, so the
//     log views, the live tail and the download show real lines; it
//     samples no figures (the charts are empty).
package httpuitest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/httpui"
	"minitwit/httpui/auth"
	"minitwit/node/config"
	"minitwit/node/importer"
	"minitwit/node/nodeinfo"
	"minitwit/ops"
	"minitwit/ops/backup"
	"minitwit/raftfsm"
	"minitwit/store"
)

// Node is a single node without Raft. It implements httpui.Node.
type Node struct {
	cfg     config.Config
	id      string
	store   *store.Store
	fsm     *raftfsm.FSM
	log     *slog.Logger
	ring    *ops.LogRing
	metrics *ops.Metrics
	build   ops.BuildInfo
	started time.Time

	mu    sync.Mutex // one proposal at a time, in log order
	index uint64     // the last log index handed to the FSM

	idPrefix  [8]byte
	idCounter atomic.Uint64

	// URL is the base URL ("http://127.0.0.1:port") of the test server
	// Start serves the handler from; "" after New alone.
	URL string
}

var _ httpui.Node = (*Node)(nil)

// New opens a Node over a new data file in cfg.DataDir, with the cluster
// secrets and the first admin in place, and closes it when the test ends.
// cfg is validated first (a test may have edited it).
func New(t testing.TB, cfg config.Config) *Node {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(cfg.DataDir, "minitwit.db"), store.Options{NoSync: true, InitialMmapSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	id := cfg.NodeID
	if id == "" {
		id = "test-node"
	}
	n := &Node{
		cfg: cfg, id: id, store: st, fsm: raftfsm.New(st),
		ring:    ops.NewLogRing(10_000, 8<<20),
		metrics: ops.NewMetrics(), build: ops.NewBuildInfo("test", "", ""), started: time.Now(),
	}
	n.index = n.fsm.AppliedIndex()
	rand.Read(n.idPrefix[:])
	ring := ops.NewLogger(n.ring, cfg.SlogLevel(), id).Handler()
	if os.Getenv("MINITWIT_TEST_LOG") != "" { // as node/nodetest's logger
		n.log = slog.New(slog.NewMultiHandler(ring,
			slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}).WithAttrs([]slog.Attr{slog.String("node", id)})))
	} else {
		n.log = slog.New(ring)
	}
	if err := n.init(cfg); err != nil {
		t.Fatal(err)
	}
	return n
}

// init proposes what a new node's first leader proposes before it is
// ready: the cluster secrets, then the first admin.
func (n *Node) init(cfg config.Config) error {
	ctx := context.Background()
	key := make([]byte, 32)
	rand.Read(key)
	token := []byte(cfg.JoinToken)
	if len(token) == 0 {
		token = []byte(rand.Text())
	}
	if res, err := n.Propose(ctx, &raftfsm.InitSecrets{SessionKey: key, JoinToken: token}); err != nil || res.Err != nil {
		return fmt.Errorf("cluster secrets: %v %v", err, res.Err)
	}
	password, temporary := cfg.Admin.Password, false
	if password == "" {
		password, temporary = rand.Text(), true
	}
	res, err := n.Propose(ctx, &raftfsm.CreateAdmin{Username: cfg.Admin.Username,
		PasswordHash: adminHash(password), FirstOnly: true, Temporary: temporary})
	if err != nil || (res.Err != nil && !errors.Is(res.Err, store.ErrAdminExists)) {
		return fmt.Errorf("first admin: %v %v", err, res.Err)
	}
	return nil
}

// adminHashes holds the argon2id hash of each configured admin password
// this process has seen: the tests' nodes share one password, and a hash
// costs a second or more under the race detector on a busy machine.
var adminHashes sync.Map

func adminHash(password string) string {
	if h, ok := adminHashes.Load(password); ok {
		return h.(string)
	}
	h, _ := adminHashes.LoadOrStore(password, auth.HashPassword(password))
	return h.(string)
}

// Start is New with httpui.ForNode's handler served on a loopback
// httptest.Server (n.URL), closed when the test ends.
func Start(t testing.TB, cfg config.Config) *Node {
	t.Helper()
	n := New(t, cfg)
	h, err := httpui.ForNode(n)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.RegisterOnShutdown(h.Close)
	srv.Start()
	t.Cleanup(func() { h.Close(); srv.Close() }) // Close waits for handlers: end the log tails first
	n.URL = srv.URL
	return n
}

// Propose applies cmd through the state machine, as the node's leader
// would once the entry committed, and returns its result.
func (n *Node) Propose(ctx context.Context, cmd raftfsm.Command) (raftfsm.Result, error) {
	if err := ctx.Err(); err != nil {
		return raftfsm.Result{}, fmt.Errorf("httpuitest: %w", err)
	}
	var id raftfsm.RequestID
	copy(id[:8], n.idPrefix[:])
	binary.BigEndian.PutUint64(id[8:], n.idCounter.Add(1))
	data := raftfsm.Encode(&raftfsm.Tagged{ID: id, Cmd: raftfsm.Encode(cmd)})
	n.mu.Lock()
	defer n.mu.Unlock()
	n.index++
	switch res := n.fsm.Apply(&raft.Log{Index: n.index, Term: 1, Type: raft.LogCommand, Data: data}).(type) {
	case raftfsm.Result:
		return res, nil
	default:
		return raftfsm.Result{}, fmt.Errorf("httpuitest: the state machine answered %T", res)
	}
}

// ReadStore returns the store: every proposal is applied before Propose
// returns, so it always reflects every acknowledged write.
func (n *Node) ReadStore(ctx context.Context) (*store.Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("httpuitest: %w", err)
	}
	return n.store, nil
}

// LocalStore returns the store.
func (n *Node) LocalStore() *store.Store { return n.store }

// Store returns the store (the name node.Node uses for tests).
func (n *Node) Store() *store.Store { return n.store }

// Status reports a ready leader.
func (n *Node) Status() nodeinfo.Status {
	applied := n.fsm.AppliedIndex()
	return nodeinfo.Status{NodeID: n.id, Role: "leader", Leader: n.id, AppliedIndex: applied, CommitIndex: applied, Ready: true}
}

// ID is the node's id (cfg.NodeID).
func (n *Node) ID() string { return n.id }

// HTTPAddr is the test server's host:port (after Start).
func (n *Node) HTTPAddr() string { return strings.TrimPrefix(n.URL, "http://") }

// Config is the node's configuration.
func (n *Node) Config() config.Config { return n.cfg }

// Logger writes JSON lines into LogRing (and to standard error with
// MINITWIT_TEST_LOG set).
func (n *Node) Logger() *slog.Logger { return n.log }

// LogRing holds the node's recent log lines.
func (n *Node) LogRing() *ops.LogRing { return n.ring }

// Metrics is the node's registry.
func (n *Node) Metrics() *ops.Metrics { return n.metrics }

// Build is version "test".
func (n *Node) Build() ops.BuildInfo { return n.build }

// The admin page's backend, for this one node.

// Overview describes this node as the only member.
func (n *Node) Overview(ctx context.Context) nodeinfo.Overview {
	st := n.Status()
	ov := nodeinfo.Overview{Self: n.id, Leader: n.id}
	info := nodeinfo.Info{ID: n.id, HTTPAddr: n.HTTPAddr(), Role: st.Role, Voter: true, Version: n.build.Version,
		Format: int(raftfsm.FormatVersion), StartedAt: n.started.UTC(), AppliedIndex: st.AppliedIndex,
		CommitIndex: st.CommitIndex, LastIndex: st.CommitIndex, LastContact: "is the leader", Ready: true,
		HeapBytes: int64(ops.ReadHeapBytes())}
	if fi, err := os.Stat(filepath.Join(n.cfg.DataDir, "minitwit.db")); err == nil {
		info.DataBytes = fi.Size()
	}
	ov.Nodes = []nodeinfo.Info{info}
	return ov
}

// MemberIDs names this node only.
func (n *Node) MemberIDs() (string, []string) { return n.id, []string{n.id} }

func (n *Node) member(id string) error {
	if id != "" && id != n.id {
		return fmt.Errorf("%q: %w", id, nodeinfo.ErrUnknownNode)
	}
	return nil
}

// Samples returns no points: the fake samples nothing.
func (n *Node) Samples(ctx context.Context, id string, since time.Time) ([]ops.Point, error) {
	if err := n.member(id); err != nil {
		return nil, err
	}
	return []ops.Point{}, nil
}

// RecentLogs returns up to max of the ring's lines.
func (n *Node) RecentLogs(ctx context.Context, id string, max int) ([]string, error) {
	if err := n.member(id); err != nil {
		return nil, err
	}
	return n.ring.Lines(max), nil
}

// TailLogs streams the ring's new lines until ctx ends.
func (n *Node) TailLogs(ctx context.Context, id string) (<-chan string, error) {
	if err := n.member(id); err != nil {
		return nil, err
	}
	lines, cancel := n.ring.Subscribe(1024)
	context.AfterFunc(ctx, cancel)
	return lines, nil
}

// DownloadLogs writes the ring's lines, as a node without a log file does.
func (n *Node) DownloadLogs(ctx context.Context, id string, w io.Writer, name func(string)) error {
	if err := n.member(id); err != nil {
		return err
	}
	name(n.id + "-recent.log")
	bw := bufio.NewWriter(w)
	for _, l := range n.ring.Lines(0) {
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// Operations.

// WriteBackup writes a backup of the store in the node's backup format.
func (n *Node) WriteBackup(ctx context.Context, w io.Writer) error {
	sn, err := n.store.BeginSnapshot()
	if err != nil {
		return err
	}
	defer sn.Release()
	return backup.Write(w, backup.Header{Index: sn.AppliedIndex(), Created: time.Now().UTC(), Node: n.id, Size: sn.Size()}, sn)
}

// ImportSQLite imports the course database at path through Propose.
func (n *Node) ImportSQLite(ctx context.Context, path string) (any, error) {
	return importer.FromSQLite(ctx, path, n, nil)
}
