package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/ops/alerting"
	"minitwit/ops/testwait"
)

// receiver is a local alert webhook that keeps every notice.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	notices []alerting.Notice
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer alert-receiver-token" {
			t.Errorf("a notice without the token: %q", req.Header.Get("Authorization"))
		}
		b, _ := io.ReadAll(req.Body)
		var n alerting.Notice
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("a notice that is not JSON: %s", b)
		}
		r.mu.Lock()
		r.notices = append(r.notices, n)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

// about returns the notices of one alert on one node.
func (r *receiver) about(rule, node string) []alerting.Notice {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []alerting.Notice
	for _, n := range r.notices {
		if n.Rule == rule && n.Node == node {
			out = append(out, n)
		}
	}
	return out
}

// alertHold replaces the rules' hold times (minutes) in these tests.
const alertHold = time.Second

// TestWebhookAlertForADeadFollower: in a 3-node cluster a stopped
// follower fires one "node down" alert, sent by the leader to the
// webhook. The other follower holds the leader's state; made leader, it
// does not fire the alert again, and sends the resolve once the stopped
// node is back.
func TestWebhookAlertForADeadFollower(t *testing.T) {
	t.Parallel()
	deadFollowerThenTransfer(t, true)
}

// TestWebhookAlertTransferRightAfterFiring: as above, but leadership
// moves as soon as the firing notice arrives, before the leader's next
// evaluation hands the other follower the state that says it was sent.
// The new leader must learn it from the old one (which still holds it)
// rather than fire again from the older state it holds.
func TestWebhookAlertTransferRightAfterFiring(t *testing.T) {
	t.Parallel()
	deadFollowerThenTransfer(t, false)
}

// deadFollowerThenTransfer stops a follower of a 3-node cluster, waits for
// the firing notice, moves leadership to the other follower (after that
// follower holds the state saying the notice was sent when waitHandOver),
// brings the stopped node back and checks that the webhook got exactly
// one firing and one resolve notice.
func deadFollowerThenTransfer(t *testing.T, waitHandOver bool) {
	rec := newReceiver(t)
	opts := node.Options{Handler: web, AlertHold: alertHold}
	var nodes []*node.Node
	for i := range 3 {
		cfg := nodetest.Config(t.TempDir())
		cfg.NodeID = fmt.Sprintf("node%d", i+1)
		cfg.JoinToken = nodetest.ClusterToken
		if i > 0 {
			cfg.Join = []string{nodes[0].RaftAddr()}
		}
		cfg.Alerts.Interval = config.Duration(time.Second)
		cfg.Alerts.WebhookURL = rec.URL + "/hook"
		cfg.Alerts.WebhookToken = "alert-receiver-token"
		nodes = append(nodes, nodetest.StartWith(t, cfg, opts))
	}
	leader, rest := leaderOf(t, nodes)
	victim, other := rest[0], rest[1]
	cfg := victim.ConfigForTest()
	// Closed, not CrashForTest: that leaves the cluster RPC's kept-alive
	// connections served, which a dead process does not.
	closeNode(t, victim)

	const rule = "MinitwitNodeDown"
	testwait.UntilNil(t, "a firing notice for "+victim.ID(), func() error {
		if len(rec.about(rule, victim.ID())) == 0 {
			return fmt.Errorf("none yet; the leader's alerts: %+v", leader.Alerts())
		}
		return nil
	})
	fired := rec.about(rule, victim.ID())[0]
	if fired.Status != "firing" || fired.Source != leader.ID() || fired.Severity != "warning" {
		t.Errorf("the first notice: %+v, want firing from the leader %s", fired, leader.ID())
	}
	if waitHandOver {
		testwait.UntilNil(t, "the other follower to hold the leader's state", func() error {
			for _, a := range other.Alerts().Firing() {
				if a.Rule == rule && a.Node == victim.ID() && a.Notified {
					return nil
				}
			}
			return fmt.Errorf("its state: %+v", other.Alerts())
		})
	}

	// Leadership moves to the other follower while the alert fires: it
	// carries on from the state it holds and does not fire again.
	cc := nodetest.ClusterClient(t, leader)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	// On a loaded machine the two left may hold an election of their own
	// meanwhile: the transfer is asked of whichever of them leads, until
	// other does.
	testwait.UntilNil(t, other.ID()+" to lead", func() error {
		switch {
		case other.Status().Role == "leader":
			return nil
		case leader.Status().Role != "leader":
			return fmt.Errorf("no leader among the two yet")
		}
		if _, err := cc.Transfer(ctx, leader.RaftAddr(), other.ID()); err != nil {
			return err
		}
		return fmt.Errorf("transferred; waiting for %s to say it leads", other.ID())
	})
	testwait.UntilNil(t, other.ID()+" to evaluate", func() error {
		if st := other.Alerts(); st.Evaluator != other.ID() || len(st.Firing()) == 0 {
			return fmt.Errorf("its state: %+v", st)
		}
		return nil
	})

	back := nodetest.StartWith(t, cfg, opts)
	testwait.UntilNil(t, "a resolve notice for "+back.ID(), func() error {
		got := rec.about(rule, back.ID())
		if got[len(got)-1].Status != "resolved" {
			return fmt.Errorf("notices so far: %+v", got)
		}
		return nil
	})
	// The resolve comes from the leader of the moment: other's, unless a
	// busy machine saw an election since (then the state handed over
	// still allows no second firing).
	got := rec.about(rule, back.ID())
	if len(got) != 2 || got[0].Status != "firing" || got[1].Status != "resolved" {
		t.Fatalf("notices for %s: %+v, want one firing and one resolve", back.ID(), got)
	}
	resolver := other
	if got[1].Source != other.ID() {
		t.Logf("the resolve came from %s: leadership moved again", got[1].Source)
		resolver = leader
		if got[1].Source != leader.ID() {
			resolver = back
		}
	}
	var history []string
	for _, e := range resolver.Alerts().History {
		if e.Rule == rule && e.Node == back.ID() {
			history = append(history, e.Status)
		}
	}
	if fmt.Sprint(history) != "[resolved firing]" {
		t.Errorf("%s's history of %s on %s: %v, want the resolve and the firing, newest first", resolver.ID(), rule, back.ID(), history)
	}
}
