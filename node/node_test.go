package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/ops"
	"minitwit/ops/simulate"
	"minitwit/ops/testbuf"
	"minitwit/store"
)

const simAuth = "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh"

func apiPost(t *testing.T, base, path string, body any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/api"+path, bytes.NewReader(b))
	req.Header.Set("Authorization", simAuth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// startLoggingTo starts a node with cfg that logs JSON from INFO up to
// logs and waits (10 s at most) until it is ready. Unlike nodetest's
// nodes it is not closed when the test ends: the test restarts it in the
// same data dir and closes it itself.
func startLoggingTo(t *testing.T, cfg config.Config, logs io.Writer) *node.Node {
	t.Helper()
	n, err := node.Start(cfg, node.Options{
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

func digest(t *testing.T, n *node.Node) string {
	t.Helper()
	d, err := n.Store().Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func closeNode(t *testing.T, n *node.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := nodetest.Start(t, web, nodetest.Config(dir))
	base := "http://" + n.HTTPAddr()
	for i, name := range []string{"Roger Histand", "Geoffrey Stieff"} {
		if s := apiPost(t, base, fmt.Sprintf("/register?latest=%d", i), map[string]string{"username": name, "email": "x@y", "pwd": "p"}); s != 204 {
			t.Fatalf("register: %d", s)
		}
	}
	for i := 0; i < 20; i++ {
		if s := apiPost(t, base, "/msgs/Roger%20Histand?latest=100", map[string]string{"content": fmt.Sprintf("msg %d ☃", i)}); s != 204 {
			t.Fatalf("post: %d", s)
		}
	}
	apiPost(t, base, "/fllws/Geoffrey%20Stieff?latest=101", map[string]string{"follow": "Roger Histand"})
	want := digest(t, n)
	closeNode(t, n)

	n2 := nodetest.Start(t, web, nodetest.Config(dir))
	if got := digest(t, n2); got != want {
		t.Fatal("state changed across a restart")
	}
	n2.Store().View(func(r *store.ReadTx) error {
		if v, _ := r.Latest(); v != 101 {
			t.Errorf("latest after restart = %d, want 101", v)
		}
		if c := r.Counts(); c.Messages != 20 || c.Follows != 1 || c.Users-c.Admins != 2 { // besides the first admin
			t.Errorf("counts after restart %+v", c)
		}
		return nil
	})
	// And it keeps accepting writes that land after the old ones.
	if s := apiPost(t, "http://"+n2.HTTPAddr(), "/msgs/Geoffrey%20Stieff", map[string]string{"content": "after restart"}); s != 204 {
		t.Fatalf("post after restart: %d", s)
	}
}

func TestDataFileLostIsRebuiltFromSnapshotAndLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := nodetest.Start(t, web, nodetest.Config(dir))
	base := "http://" + n.HTTPAddr()
	apiPost(t, base, "/register", map[string]string{"username": "a", "email": "a@b", "pwd": "p"})
	for i := 0; i < 10; i++ {
		apiPost(t, base, "/msgs/a", map[string]string{"content": fmt.Sprint(i)})
	}
	want := digest(t, n)
	closeNode(t, n)
	if err := os.Remove(dir + "/minitwit.db"); err != nil {
		t.Fatal(err)
	}
	n2 := nodetest.Start(t, web, nodetest.Config(dir))
	if digest(t, n2) != want {
		t.Fatal("a lost data file was not rebuilt from the Raft log")
	}
}

func TestNodeIDIsPersisted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := nodetest.Config(dir)
	n := nodetest.Start(t, web, cfg)
	closeNode(t, n)
	cfg.NodeID = "someone-else"
	_, err := node.Start(cfg, node.Options{Logger: nodetest.Logger(), Build: ops.NewBuildInfo("", "", "")})
	if err == nil || !strings.Contains(err.Error(), "belongs to node") {
		t.Fatalf("starting a data dir under another node id: err = %v", err)
	}
}

func TestJoinWithNoMemberFailsAndIsIgnoredOnAnExistingDataDir(t *testing.T) {
	t.Parallel()
	cfg := nodetest.Config(t.TempDir())
	cfg.Join, cfg.JoinToken = []string{"127.0.0.1:1"}, nodetest.ClusterToken
	if _, err := node.Start(cfg, node.Options{Logger: nodetest.Logger()}); err == nil || !strings.Contains(err.Error(), "no member answered") {
		t.Fatalf("join with no member reachable: err = %v", err)
	}
	dir := t.TempDir()
	closeNode(t, nodetest.Start(t, web, nodetest.Config(dir)))
	cfg = nodetest.Config(dir)
	cfg.Join, cfg.JoinToken = []string{"127.0.0.1:1"}, nodetest.ClusterToken
	nodetest.Start(t, web, cfg) // existing state: join ignored, node serves
}

func TestSecondNodeOnSameDataDirIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	nodetest.Start(t, web, nodetest.Config(dir))
	_, err := node.Start(nodetest.Config(dir), node.Options{Logger: nodetest.Logger()})
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("a second node on the same data dir: err = %v", err)
	}
}

// TestScenarioReplay replays the course simulator's whole scenario against
// a real node over HTTP and checks the contract's final state. Under -short
// (make test-short) it replays the scenario's first scenarioShortActions
// actions and checks the state they make; make test replays all of it.
func TestScenarioReplay(t *testing.T) {
	t.Parallel()
	path := nodetest.SharedData(t, "minitwit_scenario.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := simulate.ParseScenario(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		actions = actions[:scenarioShortActions]
	}
	n, base := nodetest.StartDefault(t, web)
	var errLines strings.Builder
	sum, err := simulate.Run(context.Background(), actions, simulate.Options{
		BaseURL: base + "/api", Concurrency: 8,
		// The simulator's 0.3 s budget is a benchmark matter (see
		// docs/benchmarks.md); under -race a generous timeout keeps this a
		// correctness test: the test node's request timeout
		// (nodetest.Config), so a slow write is waited for, not left.
		Timeout: time.Duration(n.Config().HTTP.RequestTimeout),
		Errors:  &errLines,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Errors != 0 {
		t.Fatalf("%d errors replaying the scenario:\n%s", sum.Errors, errLines.String())
	}
	want := scenarioState(actions)
	if !testing.Short() && want != (scenarioCounts{users: 200, messages: 11306, follows: 6265, latest: 25921}) {
		t.Fatalf("the whole scenario computes to %+v; want 200 users, 11306 messages, 6265 follows, latest 25921", want)
	}
	n.Store().View(func(r *store.ReadTx) error {
		c := r.Counts()
		latest, _ := r.Latest()
		if got := (scenarioCounts{users: c.Users - c.Admins, messages: c.Messages, follows: c.Follows, latest: latest}); got != want {
			t.Errorf("final state: %+v latest %d; want %d users besides the admin, %d messages, %d follows, latest %d",
				c, latest, want.users, want.messages, want.follows, want.latest)
		}
		return nil
	})
}

// scenarioShortActions is how much of the scenario TestScenarioReplay
// replays under -short: its registrations (each an argon2id hash, slow
// under the race detector) and a few thousand writes of every kind.
const scenarioShortActions = 2500

// scenarioCounts is the state a replay without errors leaves.
type scenarioCounts struct {
	users, messages, follows uint64
	latest                   int64
}

// scenarioState computes what replaying actions leaves in the store when
// every request succeeds: a registration adds a user, a tweet a message; a
// follow adds the pair once, an unfollow removes it (the replay keeps each
// user's actions in order, and follows are per follower).
func scenarioState(actions []simulate.Action) scenarioCounts {
	var c scenarioCounts
	users := map[string]bool{}
	follows := map[[2]string]bool{}
	for _, a := range actions {
		switch a.Command {
		case simulate.CmdRegister:
			users[a.User] = true
		case simulate.CmdTweet:
			c.messages++
		case simulate.CmdFollow:
			follows[[2]string{a.User, a.Arg}] = true
		case simulate.CmdUnfollow:
			delete(follows, [2]string{a.User, a.Arg})
		}
		c.latest = max(c.latest, int64(a.ID))
	}
	c.users, c.follows = uint64(len(users)), uint64(len(follows))
	return c
}

// TestSnapshotFolderAndQuietRaftStart: a single node's start logs Raft's
// routine lines below WARN; its snapshots are in raft/snapshots; and a data dir in
// the earlier layout (raft/snapshots/snapshots) is moved on the next
// start, whose snapshot then rebuilds a lost data file.
func TestSnapshotFolderAndQuietRaftStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var logs testbuf.Buffer
	start := func() *node.Node {
		t.Helper()
		return startLoggingTo(t, nodetest.Config(dir), &logs)
	}
	snapshots := func(path string) []string {
		entries, _ := os.ReadDir(path)
		var names []string
		for _, e := range entries {
			if e.IsDir() && e.Name() != "snapshots" {
				names = append(names, e.Name())
			}
		}
		return names
	}
	raftDir := filepath.Join(dir, "raft")
	n := start()
	base := "http://" + n.HTTPAddr()
	apiPost(t, base, "/register", map[string]string{"username": "a", "email": "a@b", "pwd": "p"})
	for deadline := time.Now().Add(10 * time.Second); len(snapshots(filepath.Join(raftDir, "snapshots"))) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no snapshot in raft/snapshots within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := digest(t, n)
	closeNode(t, n)
	if _, err := os.Stat(filepath.Join(raftDir, "snapshots", "snapshots")); err == nil {
		t.Error("raft/snapshots/snapshots exists in a new data dir")
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		// The routine lines; others (an election that times out on a
		// starved machine) are real news and may appear under load.
		routine := strings.Contains(line, "heartbeat timeout reached") || strings.Contains(line, "nothing new to snapshot")
		if routine && strings.Contains(line, `"component":"raft"`) && (strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`)) {
			t.Errorf("a single node's start logged: %s", line)
		}
	}

	// The earlier layout, and the data file lost: only the snapshot (and
	// the log after it) can bring the state back.
	if err := os.Rename(filepath.Join(raftDir, "snapshots"), filepath.Join(raftDir, "old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(raftDir, "snapshots"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(raftDir, "old"), filepath.Join(raftDir, "snapshots", "snapshots")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "minitwit.db")); err != nil {
		t.Fatal(err)
	}
	n = start()
	defer closeNode(t, n)
	if got := digest(t, n); got != want {
		t.Error("the state is not back after the move")
	}
	if len(snapshots(filepath.Join(raftDir, "snapshots"))) == 0 {
		t.Error("no snapshot in raft/snapshots after the move")
	}
	if _, err := os.Stat(filepath.Join(raftDir, "snapshots", "snapshots")); err == nil {
		t.Error("raft/snapshots/snapshots is still there")
	}
	if !strings.Contains(logs.String(), "moved the Raft snapshots") {
		t.Error("the move was not logged")
	}
}
