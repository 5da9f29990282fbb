package alerting

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Alert is one alert the evaluator holds: pending (its condition holds,
// not yet for its rule's hold time), firing, or resolved with its resolve
// notice still on its way to the webhook.
type Alert struct {
	Rule     string  `json:"rule"`
	Node     string  `json:"node,omitempty"` // "" for an alert about the whole cluster
	Severity string  `json:"severity"`
	Summary  string  `json:"summary"`
	Value    float64 `json:"value"`
	// Since is when the condition was first seen to hold.
	Since time.Time `json:"since"`
	// FiringAt is when the hold time had passed; zero while pending.
	FiringAt time.Time `json:"firing_at,omitzero"`
	// Notified: the firing notice reached the webhook.
	Notified bool `json:"notified,omitempty"`
	// ResolvedAt is set once the condition stopped holding; the alert is
	// kept until its resolve notice is delivered.
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

// Firing reports whether the alert fires now.
func (a Alert) Firing() bool { return !a.FiringAt.IsZero() && a.ResolvedAt.IsZero() }

// Event is one line of the alerts' history: an alert fired or resolved.
type Event struct {
	At       time.Time `json:"at"`
	Status   string    `json:"status"` // "firing" or "resolved"
	Rule     string    `json:"rule"`
	Node     string    `json:"node,omitempty"`
	Severity string    `json:"severity"`
	Summary  string    `json:"summary"`
}

// State is the alerts as the evaluator last saw them: what the admin page
// shows and what the evaluator hands to the other members, so that the
// next one neither fires again what was fired nor forgets to resolve it.
type State struct {
	Evaluator string    `json:"evaluator"`
	At        time.Time `json:"at"` // the last evaluation; zero before the first
	Alerts    []Alert   `json:"alerts"`
	History   []Event   `json:"history"` // newest first, at most historyKeep
	// Webhook is "" without one, "ok" after a delivery, or the last
	// failure.
	Webhook string `json:"webhook,omitempty"`
	// Seq orders the states: every evaluation and every delivery the
	// evaluator learns of makes a newer one, and a new evaluator carries
	// on from the newest it finds. A member keeps a pushed state only if
	// it is not older than the one it holds (0: a member from before
	// versions, always kept).
	Seq uint64 `json:"seq,omitempty"`
}

// Firing returns the alerts that fire now.
func (s State) Firing() []Alert {
	var out []Alert
	for _, a := range s.Alerts {
		if a.Firing() {
			out = append(out, a)
		}
	}
	return out
}

// Pending returns the alerts whose condition holds, not yet for long
// enough.
func (s State) Pending() []Alert {
	var out []Alert
	for _, a := range s.Alerts {
		if a.FiringAt.IsZero() && a.ResolvedAt.IsZero() {
			out = append(out, a)
		}
	}
	return out
}

// historyKeep is how many events the history keeps.
const historyKeep = 50

// Alerter evaluates the rules on one node every Interval while that node
// is the evaluator (the leader; with no leader, the answering member with
// the lowest id that knows none either) and sends firing and resolve
// notices to the webhook. Every node runs one; the others hold the state
// the evaluator hands them.
type Alerter struct {
	Self     string
	Interval time.Duration
	// Hold, when positive, replaces every rule's hold time (tests).
	Hold time.Duration
	// Leading tells whether this node is the Raft leader.
	Leading func() bool
	// KnowsLeader tells whether this node knows a leader; a follower that
	// does is no evaluator and does not observe. nil: always observe.
	KnowsLeader func() bool
	// Observe asks every member for its Facts; push, when not nil, is
	// this evaluator's state for the members to keep.
	Observe func(ctx context.Context, push *State) Cluster
	// Webhook receives the notices; nil means alerts are only shown.
	Webhook *Webhook
	Log     *slog.Logger
	// Now is the clock of Run (tests); nil means time.Now.
	Now func() time.Time

	once       sync.Once
	mu         sync.Mutex
	rules      []Rule
	hist       *history
	alerts     map[alertKey]*Alert
	events     []Event
	evaluator  string
	at         time.Time
	webhook    string
	evaluating bool
	seq        uint64 // State.Seq
}

type alertKey struct{ rule, node string }

func (a *Alerter) init() {
	a.once.Do(func() {
		a.rules = Rules()
		a.hist = newHistory()
		a.alerts = map[alertKey]*Alert{}
		if a.Log == nil {
			a.Log = slog.New(slog.DiscardHandler)
		}
		if a.Webhook != nil {
			a.Webhook.onResult = a.delivered
			a.webhook = "no notice sent yet"
		}
	})
}

// Run evaluates every Interval until ctx ends.
func (a *Alerter) Run(ctx context.Context) {
	a.init()
	if a.Webhook != nil {
		done := make(chan struct{})
		go func() { defer close(done); a.Webhook.Run(ctx) }()
		defer func() { <-done }()
	}
	t := time.NewTicker(a.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.tick(ctx)
		}
	}
}

func (a *Alerter) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// tick observes the cluster and, when this node is the evaluator,
// evaluates. Only the leader pushes before it knows the answers; a node
// that became the evaluator without a leader pushes from its next tick.
func (a *Alerter) tick(ctx context.Context) {
	leading := a.Leading()
	if !leading && a.KnowsLeader != nil && a.KnowsLeader() {
		a.SetEvaluating(false)
		return
	}
	a.mu.Lock()
	wasEvaluating := a.evaluating
	a.mu.Unlock()
	var push *State
	if leading || wasEvaluating {
		s := a.State()
		push = &s
	}
	c := a.Observe(ctx, push)
	if ctx.Err() != nil {
		return
	}
	if c.At.IsZero() {
		c.At = a.now()
	}
	evaluating := leading || (c.Leader == "" && lowestLeaderless(c) == a.Self)
	if evaluating {
		a.catchUp(c, !wasEvaluating)
	}
	a.SetEvaluating(evaluating)
	a.mu.Lock()
	evaluating = a.evaluating
	a.mu.Unlock()
	if evaluating {
		a.Evaluate(c)
	}
}

// catchUp looks at the states the members answered with (each sends its
// own when it is newer than the one pushed to it). A node taking over as
// evaluator starts from the newest of them when it is newer than its own:
// the last push may not have reached it (leadership moved right after a
// notice was delivered, or a push was lost), while the old evaluator, or
// another member, holds the state that says the notice went out. Without
// this the new leader would send that notice again, or fire again an
// alert it only knew as pending. An evaluator that carries on keeps its
// own state but numbers its next one past every state seen, so that the
// members take its pushes again (a deposed evaluator's last evaluations
// may have run ahead of it).
func (a *Alerter) catchUp(c Cluster, takingOver bool) {
	var newest *State
	for _, m := range c.Members {
		if m.ID == a.Self || m.Facts == nil || m.Facts.State == nil {
			continue
		}
		if newest == nil || m.Facts.State.Seq > newest.Seq {
			newest = m.Facts.State
		}
	}
	if newest == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if newest.Seq <= a.seq {
		return
	}
	if takingOver && !a.evaluating {
		a.Log.Info("alerts: taking over from a newer state than the one handed to this node",
			"from", newest.Evaluator, "seq", newest.Seq, "held_seq", a.seq)
		a.adopt(*newest)
		return
	}
	a.seq = newest.Seq
}

// lowestLeaderless is the lowest id among the answering members while
// none of them knows a leader: that member evaluates, so one notice goes
// out (one per side of a partition). One member that knows a leader is
// enough to leave it to the leader: a node that has just stepped down
// hears of its successor a heartbeat later, and must not evaluate beside
// it meanwhile.
func lowestLeaderless(c Cluster) string {
	low := ""
	for _, m := range c.Members {
		if !m.Up || m.Facts == nil {
			continue
		}
		if m.Facts.Leader != "" {
			return ""
		}
		if low == "" || m.ID < low {
			low = m.ID
		}
	}
	return low
}

// SetEvaluating makes this node the evaluator or stops it being one. A new
// evaluator sends what the state it holds (its own, or the last one handed
// to it) says is undelivered: firing notices not known to have arrived,
// resolve notices on their way. One that stops drops its queue: the next
// evaluator sends what is still undelivered.
func (a *Alerter) SetEvaluating(on bool) {
	a.init()
	a.mu.Lock()
	defer a.mu.Unlock()
	if on == a.evaluating {
		return
	}
	a.evaluating = on
	if !on {
		if a.Webhook != nil {
			a.Webhook.Drop()
		}
		return
	}
	a.evaluator = a.Self
	for _, k := range a.sortedKeys() {
		al := a.alerts[k]
		switch {
		case !al.ResolvedAt.IsZero():
			a.notify("resolved", al)
		case !al.FiringAt.IsZero() && !al.Notified:
			a.notify("firing", al)
		}
	}
}

// Evaluate runs every rule on one observation and updates the alerts.
func (a *Alerter) Evaluate(c Cluster) {
	a.init()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hist.record(c)
	a.evaluator, a.at = c.Self, c.At
	a.seq++
	for _, r := range a.rules {
		hold := r.For
		if a.Hold > 0 {
			hold = a.Hold
		}
		for _, f := range r.eval(a.hist, c) {
			k := alertKey{r.Name, f.node}
			al := a.alerts[k]
			if !f.active {
				if al != nil && al.ResolvedAt.IsZero() {
					a.resolve(k, al, c.At)
				}
				continue
			}
			if al == nil || !al.ResolvedAt.IsZero() {
				// A resolve still on its way is overtaken by the alert
				// firing again; the queue keeps their order.
				al = &Alert{Rule: r.Name, Node: f.node, Severity: r.Severity, Since: c.At}
				a.alerts[k] = al
			}
			al.Summary, al.Value = f.summary, f.value
			if al.FiringAt.IsZero() && c.At.Sub(al.Since) >= hold {
				al.FiringAt = c.At
				a.event(c.At, "firing", al)
				a.Log.Warn("alert firing", "alert", al.Rule, "node", al.Node, "summary", al.Summary)
				a.notify("firing", al)
			}
		}
	}
	// Alerts about a node that left the configuration end with it.
	members := map[string]bool{}
	for _, m := range c.Members {
		members[m.ID] = true
	}
	for _, k := range a.sortedKeys() {
		if al := a.alerts[k]; k.node != "" && !members[k.node] && al.ResolvedAt.IsZero() {
			a.resolve(k, al, c.At)
		}
	}
}

// resolve ends an alert: a pending one is forgotten, a firing one resolved
// (and kept until its notice is delivered).
func (a *Alerter) resolve(k alertKey, al *Alert, at time.Time) {
	if al.FiringAt.IsZero() {
		delete(a.alerts, k)
		return
	}
	al.ResolvedAt = at
	a.event(at, "resolved", al)
	a.Log.Info("alert resolved", "alert", al.Rule, "node", al.Node)
	if a.Webhook == nil {
		delete(a.alerts, k)
		return
	}
	a.notify("resolved", al)
}

func (a *Alerter) event(at time.Time, status string, al *Alert) {
	a.events = append([]Event{{At: at, Status: status, Rule: al.Rule, Node: al.Node, Severity: al.Severity, Summary: al.Summary}}, a.events...)
	if len(a.events) > historyKeep {
		a.events = a.events[:historyKeep]
	}
}

func (a *Alerter) notify(status string, al *Alert) {
	if a.Webhook == nil {
		return
	}
	a.Webhook.Enqueue(Notice{Status: status, Rule: al.Rule, Node: al.Node, Severity: al.Severity,
		Summary: al.Summary, Value: al.Value, Since: al.Since, ResolvedAt: al.ResolvedAt, Source: a.Self})
}

// delivered is the webhook's report on one notice: err nil means it
// arrived.
func (a *Alerter) delivered(n Notice, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.webhook = err.Error()
		return
	}
	a.webhook = "ok"
	if a.evaluating {
		a.seq++ // the state to hand over now says the notice arrived
	}
	k := alertKey{n.Rule, n.Node}
	al := a.alerts[k]
	if al == nil || !al.Since.Equal(n.Since) {
		return
	}
	switch n.Status {
	case "firing":
		al.Notified = true
	case "resolved":
		if !al.ResolvedAt.IsZero() {
			delete(a.alerts, k)
		}
	}
}

// Adopt keeps the state an evaluator handed over, unless it is older than
// the one this node holds (a push that arrived late, or a new leader's
// push of the state it held before catching up); the evaluator itself
// ignores states from others (a deposed leader's last push).
func (a *Alerter) Adopt(s State) {
	a.init()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.evaluating || (s.Seq != 0 && s.Seq < a.seq) {
		return
	}
	a.adopt(s)
}

// Exchange is a member's side of the evaluator's request: it keeps the
// pushed state (as Adopt) and returns its own when that is newer than the
// one pushed (nil otherwise), so that a new evaluator that missed the
// last hand-over finds it (catchUp).
func (a *Alerter) Exchange(push *State) *State {
	a.init()
	if push != nil {
		a.Adopt(*push)
	}
	var pushed uint64
	if push != nil {
		pushed = push.Seq
	}
	a.mu.Lock()
	newer := a.seq > pushed
	a.mu.Unlock()
	if !newer {
		return nil
	}
	s := a.State()
	return &s
}

func (a *Alerter) adopt(s State) {
	a.seq = s.Seq
	a.alerts = map[alertKey]*Alert{}
	for _, al := range s.Alerts {
		a.alerts[alertKey{al.Rule, al.Node}] = &al
	}
	a.events = append([]Event(nil), s.History...)
	if len(a.events) > historyKeep {
		a.events = a.events[:historyKeep]
	}
	a.evaluator, a.at = s.Evaluator, s.At
	if a.Webhook != nil && s.Webhook != "" {
		a.webhook = s.Webhook // the evaluator's last word on the receiver
	}
}

// State returns a copy of the alerts, sorted by rule and node.
func (a *Alerter) State() State {
	a.init()
	a.mu.Lock()
	defer a.mu.Unlock()
	s := State{Evaluator: a.evaluator, At: a.at, History: append([]Event{}, a.events...), Alerts: []Alert{}, Webhook: a.webhook, Seq: a.seq}
	for _, k := range a.sortedKeys() {
		s.Alerts = append(s.Alerts, *a.alerts[k])
	}
	return s
}

// Firing counts the alerts firing while this node is the evaluator, and
// is 0 elsewhere, so that a sum over the cluster counts each alert once.
func (a *Alerter) Firing() int {
	a.init()
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.evaluating {
		return 0
	}
	n := 0
	for _, al := range a.alerts {
		if al.Firing() {
			n++
		}
	}
	return n
}

func (a *Alerter) sortedKeys() []alertKey {
	keys := make([]alertKey, 0, len(a.alerts))
	for k := range a.alerts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y alertKey) int {
		if c := strings.Compare(x.rule, y.rule); c != 0 {
			return c
		}
		return strings.Compare(x.node, y.node)
	})
	return keys
}
