//go:build e2e

package main

// The leader's process paused (issue 15): a VM stalled by a noisy
// neighbour, or a stop-the-world pause, freezes a node without closing a
// connection. Three real processes; writers post through every node and
// readers read through every node while the test sends the leader SIGSTOP,
// waits 300 ms, and sends SIGCONT. What must hold:
//   - writes through every node go on after the pause;
//   - every acknowledged write is on every node afterwards, nothing twice;
//   - no read is stale: a read returns every write acknowledged before it
//     began (or 503). Reads sent to the paused leader while it sleeps are
//     the sharp case: with the lan profile the others elect a new leader
//     and acknowledge writes meanwhile, and the old leader wakes up
//     believing it still leads;
//   - no split brain: no term ever has two leaders (each node's
//     minitwit_raft_term and minitwit_raft_is_leader, polled), and at the
//     end every node names the same leader.
// With lan (50 ms timeouts) the paused leader is replaced and steps down
// when it wakes; with wan (1 s) the pause is shorter than a heartbeat
// timeout and it normally keeps leading. Either is fine; the test logs
// which happened.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"minitwit/ops/simulate"
	"minitwit/ops/testwait"
)

const (
	pauseFor          = 300 * time.Millisecond
	pauseMetricsToken = "pause-e2e-metrics-token-0123456789"
	// pauseWarmWrites and pauseAfterWrites: acknowledged writes through
	// each node before the pause, and issued after it, before the
	// workload stops.
	pauseWarmWrites  = 10
	pauseAfterWrites = 20
)

func TestClusterE2ELeaderPause(t *testing.T) {
	t.Parallel()
	for _, profile := range []string{"lan", "wan"} {
		t.Run(profile, func(t *testing.T) { pauseLeader(t, profile) })
	}
}

// pauseAck is an acknowledged post: its text and when its answer came
// (since the run began).
type pauseAck struct {
	text string
	at   time.Duration
}

type pauseRun struct {
	t      *testing.T
	nodes  []*clNode
	users  []string
	client *http.Client
	began  time.Time
	stop   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	results  []clResult
	acks     map[string][]pauseAck // by user
	ackedBy  [][]time.Duration     // per node: when each acknowledged post was issued
	firstAck time.Duration         // first acknowledged post issued after the pause began; -1: none yet
	pausedAt time.Duration         // 0: not paused yet
	failed   int                   // requests answered 503 or not at all
	requests int
	stale    int
	read503  int
	// pausedReads are the reads sent to the leader while it was stopped:
	// fresh (200 with everything acknowledged before they began) or 503.
	pausedReads, pausedFresh, paused503 int

	leaders map[uint64]map[string]bool // term -> nodes seen leading in it
	maxTerm uint64
}

func (p *pauseRun) now() time.Duration { return time.Since(p.began) }

func pauseLeader(t *testing.T, profile string) {
	nodes := clStartCluster(t, "MINITWIT_RAFT_PROFILE="+profile, "MINITWIT_METRICS_TOKEN="+pauseMetricsToken)
	p := &pauseRun{t: t, nodes: nodes, client: clClient(), began: time.Now(), stop: make(chan struct{}),
		acks: map[string][]pauseAck{}, firstAck: -1, leaders: map[uint64]map[string]bool{}}
	for i, n := range nodes {
		p.users = append(p.users, fmt.Sprintf("pause-%s-%d", profile, i))
		p.ackedBy = append(p.ackedBy, nil)
		p.register(n, p.users[i])
	}
	lb := newClBalancer(nodes)
	leader := clLeader(t, nodes, lb)

	p.wg.Go(p.watchTerms)
	for i := range nodes {
		p.wg.Go(func() { p.writer(i) })
		p.wg.Go(func() { p.reader(i) })
	}
	p.waitWrites(0, pauseWarmWrites)
	termBefore := p.term()

	p.mu.Lock()
	p.pausedAt = p.now()
	p.mu.Unlock()
	nodes[leader].signal(t, syscall.SIGSTOP)
	// Reads sent to the stopped leader: the kernel takes the connections,
	// the process answers them when it wakes up.
	var held sync.WaitGroup
	deadline := time.Now().Add(pauseFor)
	for time.Now().Before(deadline) {
		held.Go(func() { p.pausedRead(leader) })
		time.Sleep(10 * time.Millisecond) // spreads the reads over the pause
	}
	nodes[leader].signal(t, syscall.SIGCONT)
	resumed := p.now()

	p.waitWrites(resumed, pauseAfterWrites)
	close(p.stop)
	p.wg.Wait()
	held.Wait()

	clWaitConverged(t, nodes)
	// Every node names the same leader (on a loaded machine the lan
	// profile may still be electing: wait for agreement, not a moment).
	var names []string
	testwait.UntilNil(t, "every node to name the same leader", func() error {
		names = names[:0]
		for _, n := range nodes {
			st, _, err := clStatusOf(n)
			if err != nil {
				return err
			}
			names = append(names, st.Leader)
		}
		if names[0] == "" || names[1] != names[0] || names[2] != names[0] {
			return fmt.Errorf("the nodes name leaders %q", names)
		}
		return nil
	})
	clCheckAcknowledged(t, nodes, p.results)

	p.mu.Lock()
	defer p.mu.Unlock()
	terms := p.maxTerm - termBefore
	for term, who := range p.leaders {
		if len(who) > 1 {
			t.Errorf("split brain: %v all led in term %d", who, term)
		}
	}
	if p.stale > 0 {
		t.Errorf("%d stale reads (see above)", p.stale)
	}
	outcome := "kept leading"
	if names[0] != nodes[leader].name {
		outcome = "stepped down for " + names[0]
	}
	failover := "none"
	if p.firstAck >= 0 {
		failover = (p.firstAck - p.pausedAt).Round(time.Millisecond).String()
	}
	t.Logf("%s: %s paused for %v, %s; %d terms started; first write acknowledged %s after the pause began; "+
		"%d of %d requests failed; %d reads answered 503; reads sent to the paused leader: %d, %d fresh, %d answered 503",
		profile, nodes[leader].name, pauseFor, outcome, terms, failover, p.failed, p.requests, p.read503, p.pausedReads, p.pausedFresh, p.paused503)
	if out := os.Getenv("MINITWIT_FAULTS_ROWS"); out != "" {
		// A row of the fault table of node/nemesis_test.go (make bench-faults).
		leaderships := 0
		for term := range p.leaders {
			if term > termBefore {
				leaderships++
			}
		}
		row := fmt.Sprintf("| leader-paused-300ms (processes; %s) | %s | 3 | %s | %d of %d | %d (-) | %d | - | %d/%d reads sent to the paused leader | - |\n",
			outcome, profile, failover, p.failed, p.requests, leaderships, terms, p.paused503, p.pausedReads)
		f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = f.WriteString(row)
			f.Close()
		}
		if err != nil {
			t.Errorf("writing the fault table row: %v", err)
		}
	}
}

// register creates user through n, sending it again while the answer is
// unknown (a name taken then means an earlier try went through).
func (p *pauseRun) register(n *clNode, user string) {
	a := simulate.Action{Command: simulate.CmdRegister, User: user, Arg: user + "@example.com", Password: "pw"}
	unknown := false
	testwait.UntilNil(p.t, "registering "+user, func() error {
		status, err := p.send(n, a)
		switch {
		case err == nil && status == http.StatusNoContent:
			return nil
		case err == nil && status == http.StatusBadRequest && unknown:
			return nil
		case err == nil && status != http.StatusServiceUnavailable:
			p.t.Fatalf("registering %s via %s: status %d", user, n.name, status)
		}
		unknown = true
		return fmt.Errorf("status %d, %v", status, err)
	})
}

func (p *pauseRun) send(n *clNode, a simulate.Action) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clRequestTimeout)
	defer cancel()
	req, err := clRequest(ctx, n.base(), a, nil)
	if err != nil {
		return 0, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// writer posts as user i through node i until the run stops.
func (p *pauseRun) writer(i int) {
	n := p.nodes[i]
	for k := 0; ; k++ {
		select {
		case <-p.stop:
			return
		default:
		}
		a := simulate.Action{ID: k, Command: simulate.CmdTweet, User: p.users[i], Arg: fmt.Sprintf("%s via %s #%d", p.users[i], n.name, k)}
		issued := p.now()
		status, err := p.send(n, a)
		res := clResult{action: a, status: status, err: err, node: n.name, attempts: 1, outcome: clUnknown}
		p.mu.Lock()
		p.requests++
		switch {
		case err == nil && status == http.StatusNoContent:
			res.outcome = clAcked
			at := p.now()
			p.acks[a.User] = append(p.acks[a.User], pauseAck{a.Arg, at})
			p.ackedBy[i] = append(p.ackedBy[i], issued)
			if p.pausedAt > 0 && issued >= p.pausedAt && (p.firstAck < 0 || at < p.firstAck) {
				p.firstAck = at
			}
		case err == nil && status != http.StatusServiceUnavailable:
			p.t.Errorf("post via %s: status %d", n.name, status)
			res.outcome = clRefused
		default:
			p.failed++
		}
		p.results = append(p.results, res)
		p.mu.Unlock()
	}
}

// reader reads the users' messages through node i until the run stops.
func (p *pauseRun) reader(i int) {
	for k := 0; ; k++ {
		select {
		case <-p.stop:
			return
		default:
		}
		fresh, unavailable := p.read(i, p.users[k%len(p.users)])
		p.mu.Lock()
		p.requests++
		if !fresh && !unavailable {
			p.stale++
		}
		if unavailable {
			p.read503++
			p.failed++
		}
		p.mu.Unlock()
		time.Sleep(5 * time.Millisecond) // leaves the writers most of the machine
	}
}

// pausedRead is one read sent to the stopped leader.
func (p *pauseRun) pausedRead(i int) {
	fresh, unavailable := p.read(i, p.users[(i+1)%len(p.users)])
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pausedReads++
	p.requests++
	switch {
	case unavailable:
		p.paused503++
		p.failed++
	case fresh:
		p.pausedFresh++
	default:
		p.stale++
	}
}

// read reads user's messages through node i and reports whether the
// answer held every post acknowledged before the read began (fresh), or
// was a 503 or no answer (unavailable). A stale answer is reported.
func (p *pauseRun) read(i int, user string) (fresh, unavailable bool) {
	n := p.nodes[i]
	p.mu.Lock()
	before := append([]pauseAck(nil), p.acks[user]...)
	p.mu.Unlock()
	began := p.now()
	ctx, cancel := context.WithTimeout(context.Background(), clRequestTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.base()+"/api/msgs/"+url.PathEscape(user)+"?no=1000000", nil)
	req.SetBasicAuth(simulate.DefaultUsername, simulate.DefaultPassword)
	resp, err := p.client.Do(req)
	if err != nil {
		return false, true
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		return false, true
	}
	var msgs []struct{ Content string }
	if resp.StatusCode != http.StatusOK {
		p.t.Errorf("read via %s: status %d", n.name, resp.StatusCode)
		return false, true
	}
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		p.t.Errorf("read via %s: %v", n.name, err)
		return false, true
	}
	have := map[string]bool{}
	for _, m := range msgs {
		have[m.Content] = true
	}
	for _, a := range before {
		if !have[a.text] {
			p.t.Errorf("stale read via %s at %v (answered at %v): %q was acknowledged at %v but is missing",
				n.name, began.Round(time.Millisecond), p.now().Round(time.Millisecond), a.text, a.at.Round(time.Millisecond))
			return false, false
		}
	}
	return true, false
}

// waitWrites waits until every node has acknowledged at least k posts
// issued at or after from.
func (p *pauseRun) waitWrites(from time.Duration, k int) {
	p.t.Helper()
	testwait.Within(2*time.Minute).UntilNil(p.t, fmt.Sprintf("%d acknowledged writes through every node", k), func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		for i, by := range p.ackedBy {
			c := 0
			for _, issued := range by {
				if issued >= from {
					c++
				}
			}
			if c < k {
				return fmt.Errorf("%s: %d", p.nodes[i].name, c)
			}
		}
		return nil
	})
}

// watchTerms polls every node's Raft term and leadership (/metrics) and
// records who led in which term. A node counts as leader in a term when
// two polls in a row say so: the two gauges of one poll are read one
// after the other, and a leader that steps down for a newer term between
// them would seem to lead in the newer one.
func (p *pauseRun) watchTerms() {
	type seen struct {
		term   uint64
		leader bool
	}
	last := map[string]seen{}
	for {
		select {
		case <-p.stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
		for _, n := range p.nodes {
			term, leader, ok := pauseMetrics(n)
			if !ok {
				delete(last, n.name)
				continue // stopped, or busy: the next poll
			}
			prev, had := last[n.name]
			last[n.name] = seen{term, leader}
			p.mu.Lock()
			p.maxTerm = max(p.maxTerm, term)
			if leader && had && prev.leader && prev.term == term {
				if p.leaders[term] == nil {
					p.leaders[term] = map[string]bool{}
				}
				p.leaders[term][n.name] = true
			}
			p.mu.Unlock()
		}
	}
}

// term is the highest term seen so far; it waits for a first poll.
func (p *pauseRun) term() uint64 {
	var term uint64
	testwait.Until(p.t, "a node's Raft term", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		term = p.maxTerm
		return term > 0
	})
	return term
}

var pauseMetricsClient = &http.Client{Timeout: time.Second}

// pauseMetrics reads minitwit_raft_term and minitwit_raft_is_leader.
func pauseMetrics(n *clNode) (term uint64, leader, ok bool) {
	req, _ := http.NewRequest(http.MethodGet, n.base()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+pauseMetricsToken)
	resp, err := pauseMetricsClient.Do(req)
	if err != nil {
		return 0, false, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, false
	}
	seen := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, found := strings.Cut(sc.Text(), " ")
		if !found {
			continue
		}
		switch name {
		case "minitwit_raft_term":
			v, err := strconv.ParseFloat(value, 64)
			term, seen = uint64(v), seen+boolInt(err == nil)
		case "minitwit_raft_is_leader":
			leader, seen = value == "1", seen+1
		}
	}
	return term, leader, seen == 2
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
