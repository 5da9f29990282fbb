//go:build e2e

package main

// Cluster end-to-end tests (issue 3): three real `minitwit serve` processes
// on loopback, the course scenario replayed over all of them while the test
// kills, stops and restarts nodes. They assert what the cluster promises,
// not that no error happened: every acknowledged write is on every node,
// nothing was applied twice, and once the processes stopped cleanly their
// data files have the same digest.
//
// The test plays the load balancer: it sends each action to a node it
// considers up, marks a node down before stopping it and up again once its
// /readyz answers 200.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"minitwit/node/nodetest"
	"minitwit/ops/simulate"
	"minitwit/ops/testbuf"
	"minitwit/ops/testwait"
	"minitwit/store"
)

const (
	clJoinToken = "cluster-e2e-join-token-0123456789"
	// clActions is the whole scenario (25,922 actions), as the cluster
	// issue asks; the nodes are real processes without the race detector,
	// so a replay takes seconds even when the test itself runs under it.
	clActions = 1 << 20
	clWorkers = 4
	// clRequestTimeout is generous on purpose: these tests assert outcomes,
	// latency is the benchmarks' business.
	clRequestTimeout = 10 * time.Second
	clReadyTimeout   = testwait.Timeout
)

// TestClusterE2EKillLeaderDuringReplay replays the scenario over three
// nodes, kill -9s the leader in the middle, keeps replaying on the two
// survivors, restarts the killed node with its unchanged command line and
// replays the rest over all three. Every acknowledged write must be on every
// node and the three data files must end identical.
func TestClusterE2EKillLeaderDuringReplay(t *testing.T) {
	t.Parallel()
	actions := clScenario(t)
	began := time.Now()
	nodes := clStartCluster(t)
	t.Logf("cluster ready at %s", time.Since(began).Round(time.Millisecond))
	lb := newClBalancer(nodes)
	gate := newClGate(4000)
	r := &clReplayer{lb: lb, client: clClient(), gate: gate, retryRefused: true, retryRegister: true}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	replayed := make(chan []clResult, 1)
	go func() { replayed <- r.replay(ctx, actions) }()

	r.waitDone(t, 2000)
	victim := clLeader(t, nodes, lb)
	nodes[victim].kill(t)
	lb.setUp(victim, false)
	t.Logf("killed the leader %s after %d actions", nodes[victim].name, r.done.Load())

	r.waitDone(t, 3000)
	nodes[victim].start(t)
	nodes[victim].waitReady(t)
	lb.setUp(victim, true)
	t.Logf("%s is back after %d actions; new leader %s", nodes[victim].name, r.done.Load(), nodes[clLeader(t, nodes, lb)].name)
	gate.set(len(actions))

	results := <-replayed
	counts := clCount(results)
	t.Logf("replayed %d actions in %s: %s; answered by %s", len(results), time.Since(began).Round(time.Millisecond), counts, clByNode(results))
	for _, res := range results {
		if res.outcome != clAcked {
			t.Logf("action %d (%s by %q) via %s: %s", res.action.ID, res.action.Command, res.action.User, res.node, res.describe())
		}
	}
	// A kill costs the few requests in flight at that moment; far more
	// failures would mean the test no longer proves much.
	if counts[clAcked] < len(results)*95/100 {
		t.Errorf("only %d of %d actions were acknowledged", counts[clAcked], len(results))
	}

	clWaitConverged(t, nodes)
	t.Logf("converged at %s", time.Since(began).Round(time.Millisecond))
	clCheckAcknowledged(t, nodes, results)
	t.Logf("checked at %s", time.Since(began).Round(time.Millisecond))
	clStopAll(t, nodes)
	clCompareDigests(t, nodes)
	t.Logf("stopped and compared at %s", time.Since(began).Round(time.Millisecond))
}

// TestClusterE2ERollingRestartDropsNothing restarts every node in turn
// (SIGTERM, start again, next node; the leader first) while the scenario is
// replayed over the nodes marked up: no request may fail, and a request in
// flight on a node when it receives SIGTERM must still succeed.
func TestClusterE2ERollingRestartDropsNothing(t *testing.T) {
	t.Parallel()
	actions := clScenario(t)
	began := time.Now()
	nodes := clStartCluster(t)
	t.Logf("cluster ready at %s", time.Since(began).Round(time.Millisecond))
	lb := newClBalancer(nodes)
	const step = 1600
	gate := newClGate(2000)
	r := &clReplayer{lb: lb, client: clClient(), gate: gate}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	replayed := make(chan []clResult, 1)
	go func() { replayed <- r.replay(ctx, actions) }()

	leader := clLeader(t, nodes, lb)
	order := []int{leader}
	for i := range nodes {
		if i != leader {
			order = append(order, i)
		}
	}
	var probes []clResult
	for k, i := range order {
		r.waitDone(t, int64(1000+k*step))
		role := clRole(nodes[i])
		probes = append(probes, clRestartUnderLoad(t, lb, i, actions[0].User, k))
		t.Logf("restarted %s (was %s) after %d actions", nodes[i].name, role, r.done.Load())
		gate.set(2000 + (k+1)*step)
	}
	gate.set(len(actions))

	results := <-replayed
	t.Logf("replayed %d actions in %s: %s; answered by %s", len(results), time.Since(began).Round(time.Millisecond), clCount(results), clByNode(results))
	failed := 0
	for _, res := range append(results, probes...) {
		if res.outcome != clAcked {
			failed++
			if failed <= 20 {
				t.Errorf("action %d (%s by %q) via %s: %s", res.action.ID, res.action.Command, res.action.User, res.node, res.describe())
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d requests failed during the rolling restart; want 0", failed)
	}

	clWaitConverged(t, nodes)
	t.Logf("converged at %s", time.Since(began).Round(time.Millisecond))
	clCheckAcknowledged(t, nodes, append(results, probes...))
	t.Logf("checked at %s", time.Since(began).Round(time.Millisecond))
	clStopAll(t, nodes)
	clCompareDigests(t, nodes)
	t.Logf("stopped and compared at %s", time.Since(began).Round(time.Millisecond))
}

// clScenario returns the first clActions actions of the course scenario.
func clScenario(t *testing.T) []simulate.Action {
	t.Helper()
	f, err := os.Open(nodetest.SharedData(t, "minitwit_scenario.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	actions, err := simulate.ParseScenario(f)
	if err != nil {
		t.Fatal(err)
	}
	return actions[:min(clActions, len(actions))]
}

// clNode is one cluster member across its restarts: the same command line,
// data dir and ports every time, and one log buffer for all its runs.
type clNode struct {
	name     string
	dataDir  string
	httpAddr string
	raftAddr string
	args     []string
	env      []string // added to the environment of every run
	logs     *testbuf.Buffer

	mu   sync.Mutex
	proc *clProc
}

// clProc is one run of a node's process.
type clProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited is closed
}

func newClNode(t *testing.T, name, join string) *clNode {
	t.Helper()
	n := &clNode{name: name, dataDir: t.TempDir(), httpAddr: freeAddr(t), raftAddr: freeAddr(t), logs: &testbuf.Buffer{}}
	n.args = []string{"serve", "--data-dir", n.dataDir, "--http-addr", n.httpAddr, "--raft-addr", n.raftAddr, "--node-id", name}
	if join != "" {
		n.args = append(n.args, "--join", join)
	}
	// Registered after t.TempDir, so it runs before the dir is removed.
	t.Cleanup(func() {
		if p := n.current(); p != nil {
			p.cmd.Process.Kill()
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
			}
		}
	})
	return n
}

func (n *clNode) base() string { return "http://" + n.httpAddr }

func (n *clNode) current() *clProc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// start runs the node's command line; it does not wait for readiness.
func (n *clNode) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(binPath, n.args...)
	// The wan profile unless the test names one (a later entry wins): room
	// for a busy machine, as in-process test nodes have (nodetest.Config).
	// With lan's 50 ms a node process sharing two cores with a second test
	// suite misses heartbeats, and the cluster elects again and again.
	cmd.Env = append(append(os.Environ(), "MINITWIT_API_MAX_NO=1000000", "MINITWIT_JOIN_TOKEN="+clJoinToken, "MINITWIT_RAFT_PROFILE=wan"), n.env...)
	cmd.Stdout, cmd.Stderr = n.logs, n.logs
	fmt.Fprintf(n.logs, "=== test: starting %s\n", n.name)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &clProc{cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
}

// waitReady polls /readyz until it answers 200.
func (n *clNode) waitReady(t *testing.T) {
	t.Helper()
	p := n.current()
	testwait.Within(clReadyTimeout).UntilNil(t, n.name+" to be ready", func() error {
		select {
		case <-p.exited:
			t.Fatalf("%s exited before it was ready: %v", n.name, p.err)
		default:
		}
		if st, code, err := clStatusOf(n); err != nil || code != http.StatusOK {
			return fmt.Errorf("/readyz: %d %+v %v", code, st, err)
		}
		return nil
	})
}

func (n *clNode) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	fmt.Fprintf(n.logs, "=== test: sending %v to %s\n", sig, n.name)
	if err := n.current().cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling %s: %v", n.name, err)
	}
}

// waitExit returns the process's exit error (nil for status 0).
func (n *clNode) waitExit(t *testing.T) error {
	t.Helper()
	p := n.current()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(2 * testwait.Timeout):
		t.Fatalf("%s did not exit", n.name)
		return nil
	}
}

func (n *clNode) kill(t *testing.T) {
	t.Helper()
	n.signal(t, syscall.SIGKILL)
	n.waitExit(t)
}

// stop sends SIGTERM and requires exit status 0.
func (n *clNode) stop(t *testing.T) {
	t.Helper()
	n.signal(t, syscall.SIGTERM)
	if err := n.waitExit(t); err != nil {
		t.Errorf("%s exited with %v after SIGTERM; want status 0", n.name, err)
	}
}

// clStartCluster starts node1 (which bootstraps) and then node2 and node3
// joining it, and waits until all three are ready. On failure it prints
// every node's output. env ("KEY=value") is added to every node's
// environment.
func clStartCluster(t *testing.T, env ...string) []*clNode {
	t.Helper()
	first := newClNode(t, "node1", "")
	nodes := []*clNode{first, newClNode(t, "node2", first.raftAddr), newClNode(t, "node3", first.raftAddr)}
	for _, n := range nodes {
		n.env = env
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range nodes {
				t.Logf("--- output of %s (request lines left out):\n%s", n.name, clWithoutRequests(n.logs.String()))
			}
		}
	})
	for _, n := range nodes {
		n.start(t)
		n.waitReady(t)
	}
	// Joiners are non-voters until the leader promotes them; the tests
	// kill nodes and expect a quorum of two.
	testwait.Within(clReadyTimeout).UntilNil(t, "every member to be a voter", func() error {
		voters := 0
		for _, m := range clusterStatusLines(t, first) {
			if len(m) > 2 && m[2] == "voter" {
				voters++
			}
		}
		if voters != len(nodes) {
			return fmt.Errorf("%d of %d members are voters", voters, len(nodes))
		}
		return nil
	})
	return nodes
}

// clWithoutRequests drops the per-request log lines, which would bury the
// lines that explain a failure.
func clWithoutRequests(logs string) string {
	var b strings.Builder
	dropped := 0
	for line := range strings.Lines(logs) {
		if strings.Contains(line, `"msg":"request"`) && !strings.Contains(line, `"status":5`) {
			dropped++
			continue
		}
		b.WriteString(line)
	}
	fmt.Fprintf(&b, "(%d request lines with status below 500 left out)\n", dropped)
	return b.String()
}

// clStatus is what /readyz reports.
type clStatus struct {
	NodeID       string `json:"node_id"`
	Role         string `json:"role"`
	Leader       string `json:"leader"`
	AppliedIndex uint64 `json:"applied_index"`
	CommitIndex  uint64 `json:"commit_index"`
	Reason       string `json:"reason"`
}

var clStatusClient = &http.Client{Timeout: 2 * time.Second}

func clStatusOf(n *clNode) (clStatus, int, error) {
	var st clStatus
	resp, err := clStatusClient.Get(n.base() + "/readyz")
	if err != nil {
		return st, 0, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, resp.StatusCode, err
}

func clRole(n *clNode) string {
	st, _, err := clStatusOf(n)
	if err != nil {
		return "unknown"
	}
	return st.Role
}

// clLeader returns the index of the node whose /readyz says leader, among
// the nodes marked up.
func clLeader(t *testing.T, nodes []*clNode, lb *clBalancer) int {
	t.Helper()
	leader := -1
	testwait.Until(t, "a node that reports itself leader", func() bool {
		for i, n := range nodes {
			if !lb.isUp(i) {
				continue
			}
			if st, code, err := clStatusOf(n); err == nil && code == http.StatusOK && st.Role == "leader" {
				leader = i
				return true
			}
		}
		return false
	})
	return leader
}

// clWaitConverged waits until every node is ready and has applied the same
// index, equal to its commit index, for half a second in a row (the
// stretch is the condition: no write still on its way).
func clWaitConverged(t *testing.T, nodes []*clNode) {
	t.Helper()
	var since time.Time // when the nodes were last seen to agree after not agreeing
	testwait.UntilNil(t, "the nodes to converge on one applied index", func() error {
		var last []clStatus
		same := true
		for _, n := range nodes {
			st, code, err := clStatusOf(n)
			last = append(last, st)
			same = same && err == nil && code == http.StatusOK &&
				st.AppliedIndex == st.CommitIndex && st.AppliedIndex == last[0].AppliedIndex
		}
		switch {
		case !same:
			since = time.Time{}
			return fmt.Errorf("statuses %+v", last)
		case since.IsZero():
			since = time.Now()
		}
		if time.Since(since) < 500*time.Millisecond {
			return fmt.Errorf("agreeing on %d for %s only", last[0].AppliedIndex, time.Since(since).Round(time.Millisecond))
		}
		return nil
	})
}

// clStopAll stops every node with SIGTERM and requires exit status 0.
func clStopAll(t *testing.T, nodes []*clNode) {
	t.Helper()
	for _, n := range nodes {
		n.stop(t)
	}
}

// clCompareDigests opens every node's data file (the processes have
// stopped) and requires the same digest.
func clCompareDigests(t *testing.T, nodes []*clNode) {
	t.Helper()
	var first string
	for i, n := range nodes {
		st, err := store.Open(filepath.Join(n.dataDir, "minitwit.db"), store.Options{})
		if err != nil {
			t.Fatalf("opening %s's data file: %v", n.name, err)
		}
		d, err := st.Digest()
		st.Close()
		if err != nil {
			t.Fatalf("digest of %s: %v", n.name, err)
		}
		t.Logf("digest of %s: %s", n.name, d)
		if i == 0 {
			first = d
		} else if d != first {
			t.Errorf("%s's data file differs from %s's: digest %s, want %s", n.name, nodes[0].name, d, first)
		}
	}
}

// clBalancer is the test's load balancer: round-robin over the nodes
// marked up. It counts requests that picked a node but are not connected
// yet, so that a node about to be stopped can be drained of them.
type clBalancer struct {
	nodes []*clNode

	mu      sync.Mutex
	up      []bool
	next    int
	dialing []int
}

func newClBalancer(nodes []*clNode) *clBalancer {
	b := &clBalancer{nodes: nodes, up: make([]bool, len(nodes)), dialing: make([]int, len(nodes))}
	for i := range b.up {
		b.up[i] = true
	}
	return b
}

// acquire picks the next node that is up and not in skip; connected must
// follow once the request has its connection (or gave up).
func (b *clBalancer) acquire(skip map[int]bool) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.nodes {
		i := (b.next + k) % len(b.nodes)
		if b.up[i] && !skip[i] {
			b.next = i + 1
			b.dialing[i]++
			return i, true
		}
	}
	return -1, false
}

func (b *clBalancer) connected(i int) {
	b.mu.Lock()
	b.dialing[i]--
	b.mu.Unlock()
}

func (b *clBalancer) setUp(i int, up bool) {
	b.mu.Lock()
	b.up[i] = up
	b.mu.Unlock()
}

func (b *clBalancer) isUp(i int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.up[i]
}

// drain waits until no request is still connecting to node i, which must be
// marked down already.
func (b *clBalancer) drain(t *testing.T, i int) {
	t.Helper()
	testwait.UntilNil(t, "the requests connecting to "+b.nodes[i].name, func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		if n := b.dialing[i]; n > 0 {
			return fmt.Errorf("%d still connecting", n)
		}
		return nil
	})
}

// clGate holds back actions from a given index on, so that a replay cannot
// run past a fault the test has not finished injecting.
type clGate struct {
	mu      sync.Mutex
	allow   int
	changed chan struct{}
}

func newClGate(allow int) *clGate { return &clGate{allow: allow, changed: make(chan struct{})} }

func (g *clGate) set(allow int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.allow = allow
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *clGate) wait(ctx context.Context, i int) error {
	for {
		g.mu.Lock()
		ok, ch := i < g.allow, g.changed
		g.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// clOutcome is what the replay knows about an action.
type clOutcome int

const (
	clAcked   clOutcome = iota + 1 // 204: it happened
	clRefused                      // another 4xx answer: nothing happened
	clUnknown                      // no answer, a timeout or a 5xx: it may have happened
	clNotSent                      // no node took the connection: nothing happened
)

func (o clOutcome) String() string {
	return map[clOutcome]string{clAcked: "acknowledged", clRefused: "refused", clUnknown: "unknown", clNotSent: "not sent"}[o]
}

type clResult struct {
	action   simulate.Action
	outcome  clOutcome
	status   int
	err      error
	node     string // the node that answered (or last failed)
	attempts int
}

func (r clResult) describe() string {
	s := fmt.Sprintf("%s after %d attempt(s)", r.outcome, r.attempts)
	if r.status != 0 {
		s += fmt.Sprintf(", status %d", r.status)
	}
	if r.err != nil {
		s += ", " + r.err.Error()
	}
	return s
}

// clByNode says how many actions each node answered.
func clByNode(results []clResult) string {
	by := map[string]int{}
	for _, r := range results {
		by[r.node]++
	}
	return fmt.Sprint(by)
}

type clCounts map[clOutcome]int

func clCount(results []clResult) clCounts {
	c := clCounts{}
	for _, r := range results {
		c[r.outcome]++
	}
	return c
}

func (c clCounts) String() string {
	return fmt.Sprintf("%d acknowledged, %d refused, %d unknown, %d not sent", c[clAcked], c[clRefused], c[clUnknown], c[clNotSent])
}

// clReplayer replays actions the way `minitwit simulate` does at
// concurrency clWorkers (every register is a barrier; between barriers each
// user's actions go to one worker, in order), sending each to a node the
// balancer picks, and records each action's outcome.
type clReplayer struct {
	lb     *clBalancer
	client *http.Client
	gate   *clGate
	// retryRefused sends an action again to another node when a connection
	// was refused: nothing was sent, so nothing can have been applied.
	retryRefused bool
	// retryRegister repeats a register whose outcome is unknown until it is
	// known; a "name taken" then means the earlier attempt was applied.
	// Without it, a lost register would turn the user's later actions into
	// 404s and the check would have little left to check.
	retryRegister bool

	done atomic.Int64 // actions finished
}

func clClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A connection per request, as the course's simulator does; no kept-alive
	// connection can then be closed under a request by a stopping node.
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr}
}

func (r *clReplayer) replay(ctx context.Context, actions []simulate.Action) []clResult {
	results := make([]clResult, len(actions))
	run := func(i int) {
		if err := r.gate.wait(ctx, i); err != nil {
			results[i] = clResult{action: actions[i], outcome: clNotSent, err: err}
			return
		}
		results[i] = r.do(ctx, actions[i])
		r.done.Add(1)
	}
	spread := func(from, to int) {
		queues := make([][]int, clWorkers)
		for i := from; i < to; i++ {
			h := fnv.New32a()
			h.Write([]byte(actions[i].User))
			w := h.Sum32() % clWorkers
			queues[w] = append(queues[w], i)
		}
		var wg sync.WaitGroup
		for _, q := range queues {
			wg.Go(func() {
				for _, i := range q {
					run(i)
				}
			})
		}
		wg.Wait()
	}
	from := 0
	for i, a := range actions {
		if a.Command == simulate.CmdRegister {
			spread(from, i)
			run(i)
			from = i + 1
		}
	}
	spread(from, len(actions))
	return results
}

// waitDone waits until at least n actions have finished. It fails only
// when the replay makes no progress for a minute: how fast a loaded
// machine replays is the benchmarks' business, a stalled replay is a bug.
func (r *clReplayer) waitDone(t *testing.T, n int64) {
	t.Helper()
	last, moved := r.done.Load(), time.Now()
	testwait.Within(time.Hour).UntilNil(t, fmt.Sprintf("%d actions replayed", n), func() error {
		done := r.done.Load()
		if done >= n {
			return nil
		}
		if done != last {
			last, moved = done, time.Now()
		} else if time.Since(moved) > time.Minute {
			t.Fatalf("the replay is stuck at %d actions for a minute (waiting for %d)", done, n)
		}
		return fmt.Errorf("the replay is at %d", done)
	})
}

// do sends one action and decides its outcome.
func (r *clReplayer) do(ctx context.Context, a simulate.Action) clResult {
	res := clResult{action: a}
	tried := map[int]bool{}
	hadUnknown := false
	// Each try either settles the outcome (nil) or asks for another
	// (errAgain), after a pause that grows with the tries.
	errAgain := errors.New("not settled")
	err := testwait.Poll(ctx, testwait.Timeout, func() error {
		i, ok := r.lb.acquire(tried)
		if !ok {
			// Every node that is up refused the connection: try them all again.
			tried = map[int]bool{}
			return errAgain
		}
		res.attempts++
		res.node = r.lb.nodes[i].name
		res.status, res.err = r.send(ctx, i, a)
		switch {
		case errors.Is(res.err, syscall.ECONNREFUSED):
			res.outcome = clNotSent
			if r.retryRefused {
				tried[i] = true
				return errAgain
			}
		case res.err != nil:
			res.outcome = clUnknown
		case res.status == http.StatusNoContent:
			res.outcome = clAcked
		case res.status >= 400 && res.status < 500:
			res.outcome = clRefused
			if hadUnknown && a.Command == simulate.CmdRegister && res.status == http.StatusBadRequest {
				res.outcome = clAcked // taken: by the earlier attempt
			}
		default:
			res.outcome = clUnknown
		}
		if res.outcome == clUnknown && a.Command == simulate.CmdRegister && r.retryRegister && res.attempts < 10 {
			hadUnknown = true
			tried = map[int]bool{i: true}
			return errAgain
		}
		return nil
	})
	if err != nil {
		res.err = errors.Join(res.err, errors.New("gave up"))
	}
	return res
}

// send performs one request on node i; it tells the balancer when the
// connection is made.
func (r *clReplayer) send(ctx context.Context, i int, a simulate.Action) (int, error) {
	var once sync.Once
	connected := func() { once.Do(func() { r.lb.connected(i) }) }
	defer connected()
	ctx, cancel := context.WithTimeout(ctx, clRequestTimeout)
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected() }})
	req, err := clRequest(ctx, r.lb.nodes[i].base(), a, nil)
	if err != nil {
		return 0, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}

// clRequest builds the API request of a; body, when set, replaces the
// encoded one (it must yield the same bytes).
func clRequest(ctx context.Context, base string, a simulate.Action, body io.Reader) (*http.Request, error) {
	var path string
	var fields map[string]string
	switch a.Command {
	case simulate.CmdRegister:
		path, fields = "/register", map[string]string{"username": a.User, "email": a.Arg, "pwd": a.Password}
	case simulate.CmdTweet:
		path, fields = "/msgs/"+url.PathEscape(a.User), map[string]string{"content": a.Arg}
	case simulate.CmdFollow:
		path, fields = "/fllws/"+url.PathEscape(a.User), map[string]string{"follow": a.Arg}
	case simulate.CmdUnfollow:
		path, fields = "/fllws/"+url.PathEscape(a.User), map[string]string{"unfollow": a.Arg}
	default:
		return nil, fmt.Errorf("unknown command %q", a.Command)
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	if body == nil {
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api"+path+"?latest="+strconv.Itoa(a.ID), body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = int64(len(b))
	req.SetBasicAuth(simulate.DefaultUsername, simulate.DefaultPassword)
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// clRestartUnderLoad does one step of a rolling restart of node i while the
// replay goes on: mark it down, let the requests already connecting reach
// it, start a request and hold it in flight, SIGTERM the node, check that
// it stopped listening, let the held request finish (it must succeed), wait
// for exit status 0, start it again and mark it up once ready. It returns
// the held request's outcome.
func clRestartUnderLoad(t *testing.T, lb *clBalancer, i int, user string, k int) clResult {
	t.Helper()
	n := lb.nodes[i]
	lb.setUp(i, false)
	lb.drain(t, i)
	// A connection the kernel accepted is in the listener's queue until the
	// server takes it; closing the listener would reset it. A load balancer
	// that marks a node down waits a moment (its deregistration delay) for
	// the same reason. Nothing outside the server can see that queue, so
	// this is time for it to empty, long enough for a busy machine.
	time.Sleep(500 * time.Millisecond)

	probe := clHoldRequest(t, n, simulate.Action{ID: -1 - k, Command: simulate.CmdTweet, User: user,
		Arg: fmt.Sprintf("in flight while %s stopped (step %d)", n.name, k)})
	n.signal(t, syscall.SIGTERM)
	if err := clWaitRefused(n.httpAddr, testwait.Timeout); err != nil {
		t.Errorf("%s kept accepting connections after SIGTERM: %v", n.name, err)
	}
	res := probe.finish()
	if err := n.waitExit(t); err != nil {
		t.Fatalf("%s exited with %v after SIGTERM; want status 0", n.name, err)
	}
	n.start(t)
	n.waitReady(t)
	lb.setUp(i, true)
	return res
}

// clWaitRefused waits until connections to addr are refused.
func clWaitRefused(addr string, within time.Duration) error {
	return testwait.Poll(context.Background(), within, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		switch {
		case err == nil:
			c.Close()
			return errors.New("a connection was accepted")
		case errors.Is(err, syscall.ECONNREFUSED):
			return nil
		}
		return err
	})
}

// clHeld is a request the server has started handling but whose body the
// client holds back.
type clHeld struct {
	action  simulate.Action
	node    string
	release chan struct{}
	result  chan clResult
}

// clHoldRequest sends a's request with "Expect: 100-continue" and returns
// once the server asked for the body, which its handler does only after
// the request was accepted, authorised and its user looked up: from then
// on the request is in flight on that node.
func clHoldRequest(t *testing.T, n *clNode, a simulate.Action) *clHeld {
	t.Helper()
	h := &clHeld{action: a, node: n.name, release: make(chan struct{}), result: make(chan clResult, 1)}
	asked := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{Got100Continue: func() { close(asked) }})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	tr.ExpectContinueTimeout = time.Minute
	body := &clHeldBody{release: h.release, ctx: ctx}
	req, err := clRequest(ctx, n.base(), a, body)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"content": a.Arg})
	body.data = b
	req.Header.Set("Expect", "100-continue")
	go func() {
		defer cancel()
		res := clResult{action: a, node: n.name, attempts: 1, outcome: clUnknown}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			res.status = resp.StatusCode
			if resp.StatusCode == http.StatusNoContent {
				res.outcome = clAcked
			}
		}
		res.err = err
		h.result <- res
	}()
	select {
	case <-asked:
		return h
	case res := <-h.result:
		t.Fatalf("the held request to %s ended before the server asked for its body: %s", n.name, res.describe())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never asked for the held request's body", n.name)
	}
	return nil
}

// finish sends the held body and returns the request's outcome.
func (h *clHeld) finish() clResult {
	close(h.release)
	return <-h.result
}

// clHeldBody yields its data only once released.
type clHeldBody struct {
	release <-chan struct{}
	ctx     context.Context
	data    []byte
	off     int
}

func (b *clHeldBody) Read(p []byte) (int, error) {
	select {
	case <-b.release:
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	}
	if b.off >= len(b.data) {
		return 0, io.EOF
	}
	k := copy(p, b.data[b.off:])
	b.off += k
	return k, nil
}

// clPairEvent is one action on a follow pair; a pair's events are kept in
// the order they were sent.
type clPairEvent struct {
	follow  bool
	outcome clOutcome
}

// clCheckAcknowledged reads every user's messages and follows back through
// every node and checks them against the outcomes: an acknowledged tweet is
// there (as often as it was acknowledged, and no more often than it was
// sent), an acknowledged register made a user, and each follow pair is in
// the state of its last acknowledged action unless an action with an
// unknown outcome came after it.
func clCheckAcknowledged(t *testing.T, nodes []*clNode, results []clResult) {
	t.Helper()
	type counts struct{ acked, sent int }
	registered := map[string]bool{}
	tweets := map[string]map[string]*counts{}
	pairs := map[string]map[string][]clPairEvent{}
	for _, r := range results {
		a := r.action
		switch a.Command {
		case simulate.CmdRegister:
			if r.outcome == clAcked {
				registered[a.User] = true
			}
		case simulate.CmdTweet:
			if tweets[a.User] == nil {
				tweets[a.User] = map[string]*counts{}
			}
			c := tweets[a.User][a.Arg]
			if c == nil {
				c = &counts{}
				tweets[a.User][a.Arg] = c
			}
			if r.outcome == clAcked {
				c.acked++
			}
			if r.outcome == clAcked || r.outcome == clUnknown {
				c.sent++
			}
		case simulate.CmdFollow, simulate.CmdUnfollow:
			if pairs[a.User] == nil {
				pairs[a.User] = map[string][]clPairEvent{}
			}
			pairs[a.User][a.Arg] = append(pairs[a.User][a.Arg], clPairEvent{a.Command == simulate.CmdFollow, r.outcome})
		}
	}
	users := map[string]bool{}
	for u := range registered {
		users[u] = true
	}
	for u := range tweets {
		users[u] = true
	}
	for u := range pairs {
		users[u] = true
	}

	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() {
			errs := &clErrors{t: t, node: n.name}
			checkedTweets, checkedPairs := 0, 0
			for u := range users {
				var msgs []struct{ Content string }
				code, err := clGet(n, "/api/msgs/"+url.PathEscape(u)+"?no=1000000", &msgs)
				switch {
				case err != nil:
					errs.add("reading %q's messages: %v", u, err)
					continue
				case code == http.StatusNotFound:
					if registered[u] {
						errs.add("user %q was registered (acknowledged) but is unknown", u)
					}
					msgs = nil
				case code != http.StatusOK:
					errs.add("reading %q's messages: status %d", u, code)
					continue
				}
				have := map[string]int{}
				for _, m := range msgs {
					have[m.Content]++
				}
				for text, c := range tweets[u] {
					switch got := have[text]; {
					case got < c.acked:
						errs.add("acknowledged tweet lost: %q by %q is there %d times, acknowledged %d times", text, u, got, c.acked)
					case got > c.sent:
						errs.add("tweet %q by %q is there %d times but was sent %d times (applied twice?)", text, u, got, c.sent)
					}
					checkedTweets += c.acked
				}
				for text := range have {
					if tweets[u][text] == nil {
						errs.add("tweet %q by %q was never sent", text, u)
					}
				}

				if pairs[u] == nil || code == http.StatusNotFound {
					continue
				}
				var follows struct{ Follows []string }
				code, err = clGet(n, "/api/fllws/"+url.PathEscape(u)+"?no=1000000", &follows)
				if err != nil || code != http.StatusOK {
					errs.add("reading %q's follows: %d %v", u, code, err)
					continue
				}
				following := map[string]bool{}
				for _, whom := range follows.Follows {
					following[whom] = true
					if !clMayFollow(pairs[u][whom]) {
						errs.add("%q follows %q, which no follow sent could have caused", u, whom)
					}
				}
				for whom, events := range pairs[u] {
					if want, known := clExpectedFollow(events); known {
						checkedPairs++
						if following[whom] != want {
							errs.add("%q follows %q: %v, want %v after %v", u, whom, following[whom], want, events)
						}
					}
				}
			}
			t.Logf("%s: %d acknowledged tweets and %d follow pairs checked", n.name, checkedTweets, checkedPairs)
		})
	}
	wg.Wait()
}

// clExpectedFollow returns the state the last acknowledged action left a
// pair in, unless an action that may have happened came after it.
func clExpectedFollow(events []clPairEvent) (following, known bool) {
	for i := len(events) - 1; i >= 0; i-- {
		switch events[i].outcome {
		case clUnknown:
			return false, false
		case clAcked:
			return events[i].follow, true
		}
	}
	return false, false
}

// clMayFollow reports whether some follow in events may have happened.
func clMayFollow(events []clPairEvent) bool {
	for _, e := range events {
		if e.follow && (e.outcome == clAcked || e.outcome == clUnknown) {
			return true
		}
	}
	return false
}

// clErrors reports a node's check failures, at most 20, then a count.
type clErrors struct {
	t    *testing.T
	node string
	n    int
}

func (e *clErrors) add(format string, args ...any) {
	e.n++
	if e.n <= 20 {
		e.t.Errorf("%s: "+format, append([]any{e.node}, args...)...)
	} else if e.n == 21 {
		e.t.Errorf("%s: more check failures left out", e.node)
	}
}

var clReadClient = &http.Client{Timeout: 10 * time.Second}

// clGet reads an API resource into v; it retries a 503 or a transport
// error until a generous deadline, since the check must not fail on a node
// that blinks. It runs off the test goroutine, so it returns errors.
func clGet(n *clNode, path string, v any) (int, error) {
	code := 0
	var body []byte
	err := testwait.Poll(context.Background(), testwait.Timeout, func() error {
		req, _ := http.NewRequest(http.MethodGet, n.base()+path, nil)
		req.SetBasicAuth(simulate.DefaultUsername, simulate.DefaultPassword)
		resp, err := clReadClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if body, err = io.ReadAll(resp.Body); err != nil {
			return err
		}
		if resp.StatusCode == http.StatusServiceUnavailable {
			return fmt.Errorf("503: %s", bytes.TrimSpace(body))
		}
		code = resp.StatusCode
		return nil
	})
	switch {
	case err != nil:
		return 0, err
	case code == http.StatusOK:
		return code, json.Unmarshal(body, v)
	}
	return code, nil
}
