package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"minitwit/ops/testwait"
)

// queued returns the notices waiting in w, oldest first.
func (w *Webhook) queued() []Notice {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Notice
	for _, q := range w.queue {
		out = append(out, q.notice)
	}
	return out
}

func names(ns []Notice) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.Status+" "+n.Rule+" "+n.Node)
	}
	return strings.Join(s, "; ")
}

// evaluator is an Alerter evaluating as node1, with a webhook that is
// never run (its queue is read directly).
func evaluator() *Alerter {
	a := &Alerter{Self: "node1", Webhook: &Webhook{URL: "http://127.0.0.1:1/"}}
	a.SetEvaluating(true)
	return a
}

func TestAlertFiresAfterItsHoldOnceAndResolves(t *testing.T) {
	t.Parallel()
	a := evaluator()
	a.Evaluate(down(cluster3(t0), "node3"))
	if s := a.State(); len(s.Pending()) != 2 || len(s.Firing()) != 0 { // node down, quorum at risk
		t.Fatalf("after the first evaluation: %+v", s.Alerts)
	}
	// Back within the hold: the pending alert is forgotten, nothing sent.
	a.Evaluate(cluster3(t0.Add(time.Minute)))
	if s := a.State(); len(s.Alerts) != 0 || len(a.Webhook.queued()) != 0 {
		t.Fatalf("a blip was kept or sent: %+v, %s", s.Alerts, names(a.Webhook.queued()))
	}
	// Down for 2 minutes: node down fires, once; quorum at risk (5 min)
	// stays pending.
	for i := 2; i <= 5; i++ {
		a.Evaluate(down(cluster3(t0.Add(time.Duration(i)*time.Minute)), "node3"))
	}
	if got := names(a.Webhook.queued()); got != "firing MinitwitNodeDown node3" {
		t.Fatalf("notices: %s", got)
	}
	if s := a.State(); len(s.Firing()) != 1 || len(s.Pending()) != 1 || a.Firing() != 1 || len(s.History) != 1 {
		t.Fatalf("state: %+v", s)
	}
	a.Evaluate(cluster3(t0.Add(6 * time.Minute)))
	if got := names(a.Webhook.queued()); got != "firing MinitwitNodeDown node3; resolved MinitwitNodeDown node3" {
		t.Fatalf("notices: %s", got)
	}
	s := a.State()
	if a.Firing() != 0 || len(s.History) != 2 || s.History[0].Status != "resolved" {
		t.Fatalf("state after the resolve: %+v", s)
	}
	// The resolved alert waits for its notice's delivery, then is gone.
	a.delivered(a.Webhook.queued()[1], nil)
	if s := a.State(); len(s.Alerts) != 0 || s.Webhook != "ok" {
		t.Fatalf("after delivery: %+v", s)
	}
}

func TestHoldOverrideAndUnknownKeepsState(t *testing.T) {
	t.Parallel()
	a := evaluator()
	a.Hold = time.Second
	c := cluster3(t0)
	c.Members[1].Facts.CertExpiry = t0.Add(24 * time.Hour)
	a.Evaluate(c)
	c.At = t0.Add(time.Second)
	a.Evaluate(c)
	if got := names(a.Webhook.queued()); got != "firing MinitwitCertificateExpiring node2" {
		t.Fatalf("notices: %s", got)
	}
	// node2 does not answer: its certificate is unknown, the alert stays
	// (and node down is pending).
	a.Evaluate(down(cluster3(t0.Add(2*time.Second)), "node2"))
	if s := a.State(); len(s.Firing()) != 1 || len(a.Webhook.queued()) != 1 {
		t.Fatalf("an unknown fact resolved the alert: %+v", s.Alerts)
	}
	// node2 leaves the configuration: its alerts end.
	c = cluster3(t0.Add(3 * time.Second))
	c.Members = c.Members[:1]
	c.Members = append(c.Members, cluster3(t0).Members[2])
	a.Evaluate(c)
	if s := a.State(); len(s.Firing()) != 0 {
		t.Fatalf("alerts of a removed member: %+v", s.Alerts)
	}
}

// TestNewEvaluatorCarriesOn: the state handed to a follower lets it, once
// leader, resolve what the old leader fired without firing it again, and
// send what the old leader had not delivered.
func TestNewEvaluatorCarriesOn(t *testing.T) {
	t.Parallel()
	old := evaluator()
	old.Hold = time.Minute
	c := down(cluster3(t0), "node3")
	c.Members[1].Facts.CertExpiry = t0.Add(time.Hour) // fires, never delivered
	old.Evaluate(c)
	c.At = t0.Add(time.Minute)
	old.Evaluate(c)
	q := old.Webhook.queued()
	if names(q) != "firing MinitwitNodeDown node3; firing MinitwitQuorumAtRisk ; firing MinitwitCertificateExpiring node2" {
		t.Fatalf("old leader's notices: %s", names(q))
	}
	old.delivered(q[0], nil)
	old.delivered(q[1], nil)

	// The state travels as JSON over the cluster RPC.
	b, err := json.Marshal(old.State())
	if err != nil {
		t.Fatal(err)
	}
	var handed State
	if err := json.Unmarshal(b, &handed); err != nil {
		t.Fatal(err)
	}
	next := &Alerter{Self: "node2", Webhook: &Webhook{URL: "http://127.0.0.1:1/"}}
	next.Adopt(handed)
	if s := next.State(); len(s.Firing()) != 3 || len(s.History) != 3 || next.Firing() != 0 {
		t.Fatalf("the follower's copy: %+v (firing counted %d)", s, next.Firing())
	}
	next.SetEvaluating(true)
	if got := names(next.Webhook.queued()); got != "firing MinitwitCertificateExpiring node2" {
		t.Fatalf("the new leader sends %q, want only the undelivered notice", got)
	}
	// node1 (the old leader) is down now, node3 back: node3's alert
	// resolves, node1's starts pending; nothing fires again.
	c = down(cluster3(t0.Add(2*time.Minute)), "node1")
	c.Self, c.Leader = "node2", "node2"
	c.Members[1].Facts.CertExpiry = t0.Add(time.Hour)
	next.Evaluate(c)
	if got := names(next.Webhook.queued()); got != "firing MinitwitCertificateExpiring node2; resolved MinitwitNodeDown node3" {
		t.Fatalf("the new leader sends %q", got)
	}
	// A deposed leader's late push is ignored by the evaluator.
	next.Adopt(State{Evaluator: "node1"})
	if s := next.State(); s.Evaluator != "node2" || len(s.Alerts) == 0 {
		t.Fatalf("the evaluator adopted another's state: %+v", s)
	}
	// Stepping down drops the queue: the next evaluator sends it.
	next.SetEvaluating(false)
	if n := next.Webhook.Len(); n != 0 {
		t.Fatalf("%d notices still queued after stepping down", n)
	}
}

// TestNewLeaderCatchesUpBeforeSending: leadership moves right after the
// old leader fired and delivered a notice, before its next push: the new
// leader holds only the pending alert. It learns from the old leader's
// answer that the alert fired and was delivered, and sends nothing. A
// push older than the state a member holds (late, or from a leader that
// has not caught up yet) is not kept.
func TestNewLeaderCatchesUpBeforeSending(t *testing.T) {
	t.Parallel()
	old := evaluator()
	old.Hold = time.Minute
	next := &Alerter{Self: "node2", Hold: time.Minute, Webhook: &Webhook{URL: "http://127.0.0.1:1/"},
		Leading: func() bool { return true },
		Observe: func(_ context.Context, push *State) Cluster {
			c := down(cluster3(t0.Add(2*time.Minute)), "node3")
			c.Self, c.Leader = "node2", "node2"
			c.Members[0].Facts.State = old.Exchange(push)
			return c
		}}

	old.Evaluate(down(cluster3(t0), "node3"))
	next.Adopt(old.State()) // the last push: node down pending
	old.Evaluate(down(cluster3(t0.Add(time.Minute)), "node3"))
	q := old.Webhook.queued()
	if names(q) != "firing MinitwitNodeDown node3; firing MinitwitQuorumAtRisk " {
		t.Fatalf("old leader's notices: %s", names(q))
	}
	old.delivered(q[0], nil)
	old.delivered(q[1], nil)

	next.tick(context.Background())
	if got := names(next.Webhook.queued()); got != "" {
		t.Fatalf("the new leader sends %q, want nothing: the notice was delivered", got)
	}
	s := next.State()
	if f := s.Firing(); len(f) != 2 || !f[0].Notified || !f[1].Notified || s.Evaluator != "node2" || len(s.History) != 2 {
		t.Fatalf("the new leader's state: %+v", s)
	}

	// A member holding the old leader's last state keeps it against an
	// older push, and answers with it.
	member := &Alerter{Self: "node3"}
	member.Adopt(old.State())
	stale := old.State()
	stale.Seq--
	stale.Alerts = nil
	if got := member.Exchange(&stale); got == nil || got.Seq != old.State().Seq {
		t.Fatalf("the member answered an older push with %+v, want its newer state", got)
	}
	if f := member.State().Firing(); len(f) != 2 || !f[0].Notified {
		t.Fatalf("the member took an older push: %+v", member.State())
	}
	if got := member.Exchange(&s); got != nil || len(member.State().Firing()) != 2 {
		t.Fatalf("the member answered a newer push with %+v; holds %+v", got, member.State())
	}
	if member.State().Evaluator != "node2" {
		t.Fatalf("the member did not keep the newer push: %+v", member.State())
	}
	// A push from a member older than versions (Seq 0) is always kept.
	member.Adopt(State{Evaluator: "node1"})
	if s := member.State(); s.Evaluator != "node1" || len(s.Alerts) != 0 {
		t.Fatalf("an unversioned push was not kept: %+v", s)
	}
}

// TestEvaluatorIsTheLeaderOrTheLowestLeaderless: followers of a leader do
// not evaluate; without a leader only the lowest answering id does.
func TestEvaluatorIsTheLeaderOrTheLowestLeaderless(t *testing.T) {
	t.Parallel()
	run := func(self string, leading bool, c Cluster) (bool, *State) {
		var pushed *State
		a := &Alerter{Self: self, Leading: func() bool { return leading },
			Observe: func(_ context.Context, push *State) Cluster { pushed = push; return c }}
		a.tick(context.Background())
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.evaluating, pushed
	}
	c := cluster3(t0)
	if ev, push := run("node1", true, c); !ev || push == nil {
		t.Errorf("the leader: evaluating %v, pushed %v", ev, push)
	}
	if ev, push := run("node2", false, c); ev || push != nil {
		t.Errorf("a follower: evaluating %v, pushed %v", ev, push)
	}
	// A follower that knows its leader does not even ask the others.
	quiet := &Alerter{Self: "node2", Leading: func() bool { return false }, KnowsLeader: func() bool { return true },
		Observe: func(context.Context, *State) Cluster { t.Error("a follower observed"); return Cluster{} }}
	quiet.tick(context.Background())
	c = down(cluster3(t0), "node1")
	c.Leader = ""
	for _, m := range c.Members[1:] {
		m.Facts.Leader = ""
	}
	if ev, _ := run("node2", false, c); !ev {
		t.Error("node2, the lowest without a leader, does not evaluate")
	}
	if ev, _ := run("node3", false, c); ev {
		t.Error("node3 evaluates although node2 answers")
	}
	// A leader that has just stepped down knows no leader yet, but a
	// member that answers knows the new one: it leads, so nobody else.
	c = cluster3(t0)
	c.Leader = ""
	c.Members[0].Facts.Leader = ""
	for _, m := range c.Members[1:] {
		m.Facts.Leader = "node3"
	}
	if ev, _ := run("node1", false, c); ev {
		t.Error("node1, stepped down, evaluates beside the new leader node3")
	}
}

// fakeTransport answers each request with the next status (0: a network
// error) and records the bodies.
type fakeTransport struct {
	mu       sync.Mutex
	statuses []int
	bodies   []string
	auth     []string
}

func (f *fakeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = append(f.bodies, string(b))
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	status := 200
	if len(f.statuses) > 0 {
		status, f.statuses = f.statuses[0], f.statuses[1:]
	}
	if status == 0 {
		return nil, errors.New("connection refused by " + r.URL.String())
	}
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}}, nil
}

func (f *fakeTransport) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...)
}

func TestWebhookBacksOffAndKeepsOrder(t *testing.T) {
	t.Parallel()
	ft := &fakeTransport{statuses: []int{0, 503, 429, 200, 400, 200}}
	var mu sync.Mutex
	failed, dropped := 0, 0
	var results []string
	w := &Webhook{URL: "https://hooks.example.com/secret-path", Token: "tok", Client: &http.Client{Transport: ft},
		MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		Failed:  func() { mu.Lock(); failed++; mu.Unlock() },
		Dropped: func() { mu.Lock(); dropped++; mu.Unlock() }}
	w.onResult = func(n Notice, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if strings.Contains(err.Error(), "secret-path") {
				t.Errorf("the error quotes the webhook URL: %v", err)
			}
			results = append(results, "failed "+n.Rule)
			return
		}
		results = append(results, "delivered "+n.Rule)
	}
	w.Enqueue(Notice{Status: "firing", Rule: "A"})
	w.Enqueue(Notice{Status: "firing", Rule: "B"})
	w.Enqueue(Notice{Status: "resolved", Rule: "A"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	testwait.Until(t, "the queue to empty", func() bool { return w.Len() == 0 && len(ft.sent()) == 6 })
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	// A fails three times (network, 503, 429), then arrives; B is refused
	// (400) and dropped; A's resolve follows.
	want := "failed A; failed A; failed A; delivered A; failed B; delivered A"
	if got := strings.Join(results, "; "); got != want {
		t.Errorf("results %q, want %q", got, want)
	}
	if failed != 4 || dropped != 1 {
		t.Errorf("failed %d, dropped %d; want 4 and 1", failed, dropped)
	}
	for i, a := range ft.auth {
		if a != "Bearer tok" {
			t.Errorf("request %d: Authorization %q", i, a)
		}
	}
	var n Notice
	if err := json.Unmarshal([]byte(ft.sent()[5]), &n); err != nil || n.Status != "resolved" || n.Rule != "A" {
		t.Errorf("the last body %s: %v", ft.sent()[5], err)
	}
}

func TestWebhookQueueIsBoundedAndNeverBlocks(t *testing.T) {
	t.Parallel()
	dropped := 0
	w := &Webhook{URL: "http://127.0.0.1:1/", QueueSize: 3, Dropped: func() { dropped++ }}
	for _, r := range []string{"A", "B", "C", "D", "E"} {
		w.Enqueue(Notice{Status: "firing", Rule: r}) // nothing runs the queue
	}
	if got := names(w.queued()); got != "firing C ; firing D ; firing E " || dropped != 2 {
		t.Errorf("queue %q, dropped %d", got, dropped)
	}
}

func TestSlackBody(t *testing.T) {
	t.Parallel()
	w := &Webhook{Format: FormatSlack}
	b, err := w.Body(Notice{Status: "firing", Rule: "MinitwitNodeDown", Node: "node3", Severity: "warning",
		Summary: "MiniTwit node node3 does not answer the leader", Since: t0, Source: "node1"})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	if err := json.Unmarshal(b, &body); err != nil || len(body) != 1 {
		t.Fatalf("slack body %s: %v", b, err)
	}
	want := "[FIRING] MinitwitNodeDown on node3 (warning): MiniTwit node node3 does not answer the leader. Since 2026-12-04 12:00:00 UTC; sent by node1."
	if body["text"] != want {
		t.Errorf("text %q\nwant %q", body["text"], want)
	}
}
