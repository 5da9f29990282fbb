package node_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
)

// The linearizability check (issue 3): concurrent clients drive the
// simulator API through every node while the leader is crashed and
// restarted, and porcupine checks the recorded history against a
// sequential model of the state they touch: the `latest` register, and
// whether linWho follows each of linWhoms.
//
// Every request becomes one or more model operations over the request's
// interval. A request that does two things in one step could be modelled
// as one operation; splitting it into independent operations over the same
// interval is weaker than the truth but never wrong, and it lets porcupine
// check each piece of state on its own (a partition per key), which is
// what keeps the check fast enough for a few thousand requests.

const (
	linClients = 8
	linCrashes = 3
	// linWarmUp is how many writes and reads are answered before the
	// first crash.
	linWarmUp = 20
	// linCrashTimeout bounds CrashForTest, which takes well under a second.
	linCrashTimeout = 15 * time.Second
	linWho          = "alice"
)

// linWhoms are the users linWho follows and unfollows: one key each, so that
// fewer writes race on each and a wrong answer is easier to catch.
var linWhoms = []string{"bob", "carol", "dave", "erin"}

// linKind is what an operation does to the model's state.
type linKind uint8

const (
	// linWrite sets latest.
	linWrite linKind = iota
	// linWriteThenRead sets latest, and this client's linRead of the same
	// value must come after it. GET /api/latest?latest=N records N, then
	// reads (httpui's apiLatest): another client's write may land between
	// the two steps, so the request is two ordered operations, not one.
	linWriteThenRead
	// linRead returns latest. With a Value it is the second half of a
	// linWriteThenRead.
	linRead
	// linFollow makes linWho follow (Follow) or unfollow linWhoms[Whom].
	linFollow
	// linReadFollows tells whether linWho follows linWhoms[Whom].
	linReadFollows
)

type linInput struct {
	Kind   linKind
	Client int
	Value  int64 // a latest value; 0 means none (values start at 1)
	Whom   int
	Follow bool
}

func (in linInput) isWrite() bool { return in.Kind != linRead && in.Kind != linReadFollows }

// partition is the key the operation touches: 0 for latest, 1+Whom for a
// follow.
func (in linInput) partition() int {
	if in.Kind == linFollow || in.Kind == linReadFollows {
		return 1 + in.Whom
	}
	return 0
}

type linOutput struct {
	Latest  int64
	Follows bool
	Unknown bool // the request failed: it may or may not have been applied
}

// linState is the state of one partition: latest (and Pending), or one
// follow.
type linState struct {
	Latest  int64
	Follows bool
	// Pending holds, per client, the value of a linWriteThenRead whose
	// read half is not linearized yet.
	Pending [linClients]int64
}

var linModel = porcupine.Model{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		parts := make([][]porcupine.Operation, 1+len(linWhoms))
		for _, op := range ops {
			p := op.Input.(linInput).partition()
			parts[p] = append(parts[p], op)
		}
		return parts
	},
	Init: func() any { return linState{Latest: -1} },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(linState), input.(linInput), output.(linOutput)
		switch in.Kind {
		case linWrite:
			s.Latest = in.Value
		case linWriteThenRead:
			s.Latest = in.Value
			s.Pending[in.Client] = in.Value
		case linRead:
			if in.Value != 0 {
				if s.Pending[in.Client] != in.Value {
					return false, s
				}
				s.Pending[in.Client] = 0
			}
			return out.Latest == s.Latest, s
		case linFollow:
			s.Follows = in.Follow
		case linReadFollows:
			return out.Follows == s.Follows, s
		}
		return true, s
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		res := ""
		switch {
		case out.Unknown:
			res = " -> unknown"
		case in.Kind == linRead:
			res = fmt.Sprintf(" -> %d", out.Latest)
		case in.Kind == linReadFollows:
			res = fmt.Sprintf(" -> %t", out.Follows)
		}
		switch in.Kind {
		case linWrite:
			return fmt.Sprintf("set latest %d%s", in.Value, res)
		case linWriteThenRead:
			return fmt.Sprintf("set latest %d, then read%s", in.Value, res)
		case linRead:
			if in.Value != 0 {
				return fmt.Sprintf("read latest after setting %d%s", in.Value, res)
			}
			return "read latest" + res
		case linFollow:
			if in.Follow {
				return fmt.Sprintf("follow %s%s", linWhoms[in.Whom], res)
			}
			return fmt.Sprintf("unfollow %s%s", linWhoms[in.Whom], res)
		default:
			return fmt.Sprintf("follows %s?%s", linWhoms[in.Whom], res)
		}
	},
	DescribeState: func(state any) string {
		s := state.(linState)
		return fmt.Sprintf("latest=%d follows=%t", s.Latest, s.Follows)
	},
}

// linUnknown marks the return time of an operation whose outcome is
// unknown: it may take effect at any point after its call.
const linUnknown = math.MaxInt64

// linPrune drops writes of latest with an unknown outcome whose value no
// read returned. That keeps the answer: a linearization with such a write
// stays one without it (no read depended on its value), and one without it
// becomes one with it by putting it last. It matters for speed: each
// unknown write may go anywhere after its call, and when the history is
// not linearizable porcupine tries every place before it says so.
func linPrune(ops []porcupine.Operation) ([]porcupine.Operation, int) {
	seen := map[int64]bool{}
	for _, op := range ops {
		if op.Input.(linInput).Kind == linRead {
			seen[op.Output.(linOutput).Latest] = true
		}
	}
	kept := ops[:0:0]
	for _, op := range ops {
		in := op.Input.(linInput)
		if in.Kind == linWrite && op.Return == linUnknown && !seen[in.Value] {
			continue
		}
		kept = append(kept, op)
	}
	return kept, len(ops) - len(kept)
}

// linHistory collects operations from all clients. Times are nanoseconds
// since the test began, on the monotonic clock.
type linHistory struct {
	start time.Time
	next  atomic.Int64 // unique latest values

	mu          sync.Mutex
	ops         []porcupine.Operation
	requests    int
	failed      int        // requests that failed after reaching a node
	notSent     int        // requests refused at connect: nothing was applied
	okWrites    [][2]int64 // call and return times of acknowledged write operations
	okReads     [][2]int64 // call and return times of successful read operations
	unknown     int        // write operations with an unknown outcome
	failedReads int        // read operations of failed requests, dropped (a read changes nothing)
	unexpected  []string
}

func (h *linHistory) now() int64 { return time.Since(h.start).Nanoseconds() }

// linNodes is the cluster as clients see it; the chaos loop swaps a
// restarted node in, so a crashed node's object is not used afterwards.
type linNodes struct {
	mu    sync.Mutex
	nodes []*node.Node
	down  *node.Node // crashed and not back yet: clients may try it, nobody asks its status
}

func (c *linNodes) snapshot() []*node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nodes)
}

func (c *linNodes) random() *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[rand.IntN(len(c.nodes))]
}

// crash crashes n. CrashForTest stops Raft and then waits for the node's
// background goroutines; a proposal caught by the crash can leave one of
// them waiting forever on an Apply future that Raft no longer answers. The
// test would then hang until go test's timeout, so it ends the process
// instead, with every goroutine's stack. The panic is raised off the test
// goroutine: there, the test's cleanups would run first, and the one that
// closes n would wait behind the stuck crash for ever.
func (c *linNodes) crash(n *node.Node) {
	c.mu.Lock()
	c.down = n
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.CrashForTest()
	}()
	select {
	case <-done:
	case <-time.After(linCrashTimeout):
		debug.SetTraceback("all")
		msg := fmt.Sprintf("CrashForTest(%s) has not returned after %v: a background goroutine is stuck "+
			"(see the stacks: node.deliver waiting on a Raft Apply future after Raft shut down)", n.ID(), linCrashTimeout)
		go func() { panic(msg) }()
		select {}
	}
}

func (c *linNodes) replace(old, back *node.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes[slices.Index(c.nodes, old)] = back
	c.down = nil
}

// linRoles records every change of role seen by polling the live nodes,
// to tell who led when a violation happened.
func linRoles(h *linHistory, cluster *linNodes, stop <-chan struct{}) []string {
	var changes []string
	last := map[string]string{}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return changes
		case <-tick.C:
		}
		cluster.mu.Lock()
		for _, n := range cluster.nodes {
			if n == cluster.down {
				continue
			}
			st := n.Status()
			role := st.Role + ", leader " + st.Leader
			if last[n.ID()] != role {
				last[n.ID()] = role
				changes = append(changes, fmt.Sprintf("%v %s: %s", time.Duration(h.now()).Round(time.Microsecond), n.ID(), role))
			}
		}
		cluster.mu.Unlock()
	}
}

// linRequest is one API request and the model operations it performs.
type linRequest struct {
	method, path string
	body         any
	status       int // the success status
	parts        []linInput
}

// linPick chooses a random request for client id; value is a fresh latest.
func linPick(id int, value int64) linRequest {
	readAll := func() []linInput {
		var parts []linInput
		for i := range linWhoms {
			parts = append(parts, linInput{Kind: linReadFollows, Client: id, Whom: i})
		}
		return parts
	}
	switch k := rand.IntN(10); {
	case k < 2: // record latest, then read it
		return linRequest{method: "GET", path: fmt.Sprintf("/latest?latest=%d", value), status: 200, parts: []linInput{
			{Kind: linWriteThenRead, Client: id, Value: value},
			{Kind: linRead, Client: id, Value: value},
		}}
	case k < 4:
		return linRequest{method: "GET", path: "/latest", status: 200, parts: []linInput{{Kind: linRead, Client: id}}}
	case k < 7: // follow or unfollow, carrying latest half of the time
		in := linInput{Kind: linFollow, Client: id, Whom: rand.IntN(len(linWhoms)), Follow: rand.IntN(2) == 0}
		r := linRequest{method: "POST", path: "/fllws/" + linWho, status: 204,
			body: map[string]string{"unfollow": linWhoms[in.Whom]}, parts: []linInput{in}}
		if in.Follow {
			r.body = map[string]string{"follow": linWhoms[in.Whom]}
		}
		if rand.IntN(2) == 0 {
			r.path += fmt.Sprintf("?latest=%d", value)
			r.parts = append(r.parts, linInput{Kind: linWrite, Client: id, Value: value})
		}
		return r
	case k < 9:
		return linRequest{method: "GET", path: "/fllws/" + linWho, status: 200, parts: readAll()}
	default: // a read that also records latest
		return linRequest{method: "GET", path: fmt.Sprintf("/fllws/%s?latest=%d", linWho, value), status: 200,
			parts: append(readAll(), linInput{Kind: linWrite, Client: id, Value: value})}
	}
}

// linResult is one HTTP exchange. sent is false when the connection was
// refused, so the server saw nothing.
type linResult struct {
	status int
	body   []byte
	sent   bool
	err    error
}

func linDo(hc *http.Client, method, url string, body any) linResult {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", simAuth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		// Keep-alives are off, so the transport never resends a request on
		// a fresh connection: a dial error means nothing reached a server.
		var op *net.OpError
		return linResult{sent: !(errors.As(err, &op) && op.Op == "dial"), err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return linResult{sent: true, err: err}
	}
	return linResult{status: resp.StatusCode, body: b, sent: true}
}

// linClient runs random requests on random nodes until stop closes.
func linClient(id int, h *linHistory, cluster *linNodes, hc *http.Client, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		n := cluster.random()
		req := linPick(id, h.next.Add(1))
		call := h.now()
		res := linDo(hc, req.method, "http://"+n.HTTPAddr()+"/api"+req.path, req.body)
		h.record(id, n.ID(), req, call, h.now(), res)
		if !res.sent {
			time.Sleep(5 * time.Millisecond) // the node is down; don't spin
		}
	}
}

// record adds one request's operations to the history. A failed request's
// writes stay with an unknown outcome; its reads are dropped.
func (h *linHistory) record(client int, nodeID string, req linRequest, call, ret int64, res linResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if !res.sent {
		h.notSent++
		return
	}
	describe := func() string { return fmt.Sprintf("client %d: %s %s on %s", client, req.method, req.path, nodeID) }
	var out struct {
		Latest  *int64    `json:"latest"`
		Follows *[]string `json:"follows"`
	}
	failed := res.err != nil || res.status != req.status
	switch {
	case res.err == nil && failed && res.status != http.StatusServiceUnavailable:
		h.unexpected = append(h.unexpected, fmt.Sprintf("%s: status %d: %s", describe(), res.status, bytes.TrimSpace(res.body)))
	case !failed && req.status == http.StatusOK:
		if err := json.Unmarshal(res.body, &out); err != nil || (out.Latest == nil && out.Follows == nil) {
			h.unexpected = append(h.unexpected, fmt.Sprintf("%s: bad body %q", describe(), res.body))
			failed = true
		}
	}
	if failed {
		h.failed++
	}
	for _, in := range req.parts {
		op := porcupine.Operation{ClientId: client, Input: in, Call: call, Return: ret, Metadata: nodeID}
		switch {
		case failed && !in.isWrite():
			h.failedReads++
			continue
		case failed:
			h.unknown++
			if in.Kind == linWriteThenRead {
				op.Input = linInput{Kind: linWrite, Client: client, Value: in.Value} // no read half follows
			}
			op.Output, op.Return = linOutput{Unknown: true}, linUnknown
		case in.isWrite():
			h.okWrites = append(h.okWrites, [2]int64{call, ret})
			op.Output = linOutput{}
		default:
			h.okReads = append(h.okReads, [2]int64{call, ret})
			o := linOutput{}
			if out.Latest != nil {
				o.Latest = *out.Latest
			}
			if out.Follows != nil {
				o.Follows = slices.Contains(*out.Follows, linWhoms[in.Whom])
			}
			op.Output = o
		}
		h.ops = append(h.ops, op)
	}
}

// linFirstAnswer returns the earliest return time of the operations (call
// and return times) called at or after from, or -1.
// answered reports whether at least n writes and n reads issued at or
// after from were answered successfully.
func (h *linHistory) answered(from int64, n int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	count := func(ops [][2]int64) int {
		k := 0
		for _, op := range ops {
			if op[0] >= from {
				k++
			}
		}
		return k
	}
	return count(h.okWrites) >= n && count(h.okReads) >= n
}

func linFirstAnswer(ops [][2]int64, from int64) int64 {
	first := int64(-1)
	for _, op := range ops {
		if op[0] >= from && (first < 0 || op[1] < first) {
			first = op[1]
		}
	}
	return first
}

// linCheck runs porcupine and fails the test on a violation, leaving the
// visualization in a file that outlives the test. The verdict comes from the
// plain check: the verbose one, which records partial linearizations for
// the visualization, is ten times slower under -race, so it runs only to
// draw a violation.
func linCheck(t *testing.T, ops []porcupine.Operation, timeout time.Duration) porcupine.CheckResult {
	t.Helper()
	started := time.Now()
	res := porcupine.CheckOperationsTimeout(linModel, ops, timeout)
	t.Logf("porcupine: %s for %d operations in %v", res, len(ops), time.Since(started).Round(time.Millisecond))
	if res != porcupine.Illegal {
		return res
	}
	_, info := porcupine.CheckOperationsVerbose(linModel, ops, 3*timeout)
	f, err := os.CreateTemp("", "minitwit-linearizability-*.html")
	if err == nil {
		f.Close()
		err = porcupine.VisualizePath(linModel, info, f.Name())
	}
	if err != nil {
		t.Errorf("the history is not linearizable (no visualization: %v)", err)
		return res
	}
	t.Errorf("the history is not linearizable; visualization: %s", f.Name())
	return res
}

// TestClusterLinearizable checks that the API is linearizable through every
// node while the leader is crashed and restarted: an acknowledged write
// takes effect once, between request and answer; a read on any node sees
// every write acknowledged before it began; a 503 or a broken connection
// may or may not have taken effect, and the history must be explainable
// either way.
func TestClusterLinearizable(t *testing.T) {
	t.Parallel()
	cluster := &linNodes{nodes: nodetest.StartCluster(t, web, 3)}
	for i, name := range append([]string{linWho}, linWhoms...) {
		register(t, cluster.nodes[i%3], name)
	}

	h := &linHistory{start: time.Now()}
	// Without keep-alives the transport never retries a request on a new
	// connection, so each request reaches a server at most once.
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	stop := make(chan struct{})
	var clients sync.WaitGroup
	for i := range linClients {
		clients.Go(func() { linClient(i, h, cluster, hc, stop) })
	}
	var roles []string
	clients.Go(func() { roles = linRoles(h, cluster, stop) })

	// Chaos, on the test goroutine (nodetest.Start may call t.Fatal). Every
	// other restart keeps the node's internode address, like a kill -9 and
	// restart on the same machine; the others come back on a new port.
	// Each phase lasts until the clients got answers in it, not for a
	// fixed time: on a loaded machine a fixed time may hold no answer.
	// With the clients' 2 s timeout and elections on a starved machine,
	// answers can take long, hence the doubled wait.
	phase := testwait.Within(2 * testwait.Timeout)
	var crashes []int64
	phase.Until(t, "a history before the first crash", func() bool { return h.answered(0, linWarmUp) })
	for i := range linCrashes {
		leader, _ := leaderOf(t, cluster.snapshot())
		cfg := leader.ConfigForTest()
		if i%2 == 0 {
			cfg.RaftAddr = leader.RaftAddr()
		}
		crashes = append(crashes, h.now())
		cluster.crash(leader)
		phase.Until(t, fmt.Sprintf("the survivors of crash %d to answer a write and a read", i+1),
			func() bool { return h.answered(crashes[i], 1) })
		back := nodetest.Start(t, web, cfg)
		cluster.replace(leader, back)
		backAt := h.now()
		t.Logf("crash %d: leader %s crashed at %v, back at %v", i+1, leader.ID(),
			time.Duration(crashes[i]).Round(time.Millisecond), time.Duration(backAt).Round(time.Millisecond))
		phase.Until(t, fmt.Sprintf("the cluster to answer a write and a read after %s came back", leader.ID()),
			func() bool { return h.answered(backAt, 1) })
	}
	close(stop)
	clients.Wait()
	end := h.now()

	h.mu.Lock()
	defer h.mu.Unlock()
	t.Logf("%d requests in %v (%d failed, %d refused at connect); operations: %d acknowledged writes, "+
		"%d successful reads, %d writes with an unknown outcome, %d reads of failed requests dropped",
		h.requests, time.Duration(end).Round(time.Millisecond), h.failed, h.notSent,
		len(h.okWrites), len(h.okReads), h.unknown, h.failedReads)
	for _, u := range h.unexpected {
		t.Errorf("unexpected answer: %s", u)
	}

	// Liveness: a write and a read issued after each crash were answered
	// before the next one.
	for i, at := range crashes {
		until := end
		if i+1 < len(crashes) {
			until = crashes[i+1]
		}
		write, read := linFirstAnswer(h.okWrites, at), linFirstAnswer(h.okReads, at)
		if write < 0 || write >= until || read < 0 || read >= until {
			t.Errorf("crash %d: no write and read issued after it succeeded before %v", i+1, time.Duration(until))
			continue
		}
		t.Logf("crash %d: the first write issued after it was acknowledged %v later, the first read answered %v later",
			i+1, time.Duration(write-at).Round(time.Millisecond), time.Duration(read-at).Round(time.Millisecond))
	}

	ops, pruned := linPrune(h.ops)
	t.Logf("%d writes with an unknown outcome pruned: no read returned their value", pruned)
	res := linCheck(t, ops, 10*time.Second)
	if res == porcupine.Illegal {
		t.Logf("roles seen:\n%s", strings.Join(roles, "\n"))
	}
	if res == porcupine.Unknown {
		t.Log("porcupine ran out of time: no violation found, none ruled out")
	}
	waitSame(t, cluster.snapshot())
}

// TestClusterLinearizableModel pins down the model on small histories, so
// that a lenient model cannot make the cluster test pass vacuously.
func TestClusterLinearizableModel(t *testing.T) {
	t.Parallel()
	op := func(client int, in linInput, out linOutput, call, ret int64) porcupine.Operation {
		in.Client = client
		return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
	}
	write := func(c int, v, call, ret int64) porcupine.Operation {
		return op(c, linInput{Kind: linWrite, Value: v}, linOutput{}, call, ret)
	}
	read := func(c int, got, call, ret int64) porcupine.Operation {
		return op(c, linInput{Kind: linRead}, linOutput{Latest: got}, call, ret)
	}
	follow := func(c int, f bool, call, ret int64) porcupine.Operation {
		return op(c, linInput{Kind: linFollow, Follow: f}, linOutput{}, call, ret)
	}
	follows := func(c int, got bool, call, ret int64) porcupine.Operation {
		return op(c, linInput{Kind: linReadFollows}, linOutput{Follows: got}, call, ret)
	}
	// GET /api/latest?latest=v answering got: its two halves.
	setAndRead := func(c int, v, got, call, ret int64) []porcupine.Operation {
		return []porcupine.Operation{
			op(c, linInput{Kind: linWriteThenRead, Value: v}, linOutput{}, call, ret),
			op(c, linInput{Kind: linRead, Value: v}, linOutput{Latest: got}, call, ret),
		}
	}
	cases := []struct {
		name  string
		ops   []porcupine.Operation
		legal bool
	}{
		{"read after write", []porcupine.Operation{write(0, 1, 0, 10), read(1, 1, 20, 30)}, true},
		{"initial value", []porcupine.Operation{read(0, -1, 0, 10)}, true},
		{"stale read", []porcupine.Operation{write(0, 1, 0, 10), write(0, 2, 20, 30), read(1, 1, 40, 50)}, false},
		{"read of a value never written", []porcupine.Operation{write(0, 1, 0, 10), read(1, 7, 20, 30)}, false},
		{"concurrent read sees either", []porcupine.Operation{write(0, 1, 0, 10), write(0, 2, 20, 40), read(1, 1, 25, 30)}, true},
		{"reads go back in time", []porcupine.Operation{
			write(0, 1, 0, 10), write(0, 2, 20, 100), read(1, 2, 30, 40), read(2, 1, 50, 60)}, false},
		{"unknown write applied late", []porcupine.Operation{
			write(0, 1, 0, linUnknown), read(1, -1, 10, 20), read(1, 1, 30, 40)}, true},
		{"unknown write not before its call", []porcupine.Operation{
			read(1, 1, 0, 10), write(0, 1, 20, linUnknown)}, false},
		{"set then read sees a later write", append(setAndRead(0, 1, 2, 0, 100), write(1, 2, 10, 20)), true},
		{"set then read sees its own value", setAndRead(0, 1, 1, 0, 100), true},
		{"set then read sees the value before it", setAndRead(0, 1, -1, 0, 100), false},
		{"follow then read", []porcupine.Operation{follow(0, true, 0, 10), follows(1, true, 20, 30)}, true},
		{"follow lost", []porcupine.Operation{follow(0, true, 0, 10), follows(1, false, 20, 30)}, false},
		{"unknown unfollow applied once", []porcupine.Operation{
			follow(0, true, 0, 10), follow(0, false, 15, linUnknown), follows(1, false, 20, 30), follows(1, true, 40, 50)}, false},
	}
	for _, c := range cases {
		if got := porcupine.CheckOperations(linModel, c.ops); got != c.legal {
			t.Errorf("%s: linearizable = %t, want %t", c.name, got, c.legal)
		}
	}
}
